"""Make the trustees' public key (their ceremony's public.json) a draft election's key."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import services
from elections.trustee.files import MAX_PUBLIC_BYTES

from ._common import get_election, read_file


class Command(BaseCommand):
    help = (
        "Set a draft election's key to the trustees' public key (the public.json of "
        "`python -m elections.trustee ceremony`). Never give it a share file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument("public", metavar="PUBLIC.json", help="The trustees' public key.")

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        data = read_file(options["public"], MAX_PUBLIC_BYTES, "public key file")
        try:
            public = services.set_election_key(election=election, public_file=data, actor=None)
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"The key of {election.slug} is now the trustees' key: any {public.key.threshold} "
            f"of {public.key.trustees} trustees decrypt. Fingerprint {public.fingerprint}."
        )
