"""Write an election's definition (docs/election-definition.md), to load again elsewhere."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from elections import definitions

from ._common import get_election, write_atomically


class Command(BaseCommand):
    help = (
        "Write the definition of an election (title, schedule, roll mode, questions and "
        "options; no key, roll, ballots or results) in the format load_election reads."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument(
            "--out", metavar="PATH", help="Write to PATH (replaced) instead of standard output."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        text = definitions.dump_definition(election)
        if options["out"] is None:
            self.stdout.write(text, ending="")
            return
        size = write_atomically(Path(options["out"]), [text])
        self.stdout.write(
            f"Wrote the definition of {election.slug!r} to {options['out']} ({size:,} characters)."
        )
