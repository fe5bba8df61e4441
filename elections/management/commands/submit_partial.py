"""Check and store one trustee's partial decryption of a closed election's totals."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import services
from elections.trustee.files import MAX_PARTIAL_BYTES

from ._common import get_election, read_file


class Command(BaseCommand):
    help = (
        "Check a trustee's partial decryption (partial-<i>.json of "
        "`python -m elections.trustee decrypt`) against the election's totals and store it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument("partial", metavar="PARTIAL.json", help="The partial decryption.")

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        data = read_file(options["partial"], MAX_PARTIAL_BYTES, "partial decryption file")
        try:
            partial = services.submit_partial(election=election, document=data, actor=None)
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        stored = election.trustee_decryptions.count()
        threshold = services.trustee_public_key(election).key.threshold
        self.stdout.write(
            f"Stored the partial decryption of trustee {partial.trustee} for {election.slug} "
            f"({stored} of the {threshold} needed to publish)."
        )
