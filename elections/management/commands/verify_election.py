"""Run the public verifier's checks on an election straight from the database."""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import record, services
from elections.verify import ProgressPrinter

from ._common import get_election


class Command(BaseCommand):
    help = (
        "Verify an election as an outside observer would: stream its record from the "
        "database into the verifier of `python -m elections.verify` (every ballot proof, "
        "the hash chain, the tally and the results). Exits non-zero if any check fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument("--workers", type=int, default=1, help="Worker processes.")
        parser.add_argument("--quiet", action="store_true", help="No progress output.")
        parser.add_argument("--json", action="store_true", help="Machine-readable report.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        election = get_election(options["election"])
        progress = None if options["quiet"] else ProgressPrinter(sys.stderr)
        try:
            report = record.verify_board(election, progress=progress, workers=options["workers"])
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2))
        else:
            self.stdout.write(report.summary())
        if not report.ok:
            raise CommandError(
                f"The election {election.slug!r} does not verify: "
                f"{report.malformed or f'{report.failure_total} check(s) failed'}."
            )
