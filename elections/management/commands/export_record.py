"""Write an election's public record (docs/election-record.md) to a file, streamed."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import record, services
from elections.models import Status

from ._common import get_election, write_atomically


class Command(BaseCommand):
    help = (
        "Export the election record: parameters, every ballot with its chain hash, the "
        "encrypted tally and the results, for anyone to check with "
        "`python -m elections.verify`. Works for closed and published elections; for an "
        "open one it writes a partial snapshot."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument("--out", required=True, metavar="PATH", help="The record file.")

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        try:
            chunks = record.stream_record(election, include_unpublished=True)
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        if election.status == Status.OPEN:
            self.stderr.write(
                "Warning: the election is still open. This record is a partial snapshot: "
                "it has no closing hash and no results, and more ballots may follow."
            )
        elif election.status == Status.CLOSED:
            self.stderr.write("Note: the results are not published yet; the record has none.")
        count = write_atomically(Path(options["out"]), chunks)
        self.stdout.write(
            f"Wrote the record of {election.slug!r} to {options['out']} ({count:,} bytes)."
        )
