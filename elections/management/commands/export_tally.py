"""Write a closed election's encrypted totals (tally.json) for its trustees."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import services

from ._common import get_election, write_atomically


class Command(BaseCommand):
    help = (
        "Write the encrypted totals of a closed election (tally.json), which each trustee "
        "decrypts with `python -m elections.trustee decrypt`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument("--out", required=True, metavar="FILE", help="Where to write it.")

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        try:
            document = services.tally_document(election)
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        path = Path(options["out"])
        write_atomically(path, [document.decode("ascii")])
        self.stdout.write(f"Wrote the encrypted totals of {election.slug} to {path}.")
