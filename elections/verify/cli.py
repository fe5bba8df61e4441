"""The command line: ``python -m elections.verify RECORD.json [--workers N] [--quiet] [--json]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import IO

from .report import Report
from .verifier import verify_record


class ProgressPrinter:
    """Writes 'ballots verified / total, rate' to a stream at most twice a second."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.shown = 0.0
        self.inline = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.shown < (0.5 if self.inline else 5.0) and done < total:
            return
        self.shown = now
        rate = done / max(now - self.started, 1e-9)
        end = "\r" if self.inline and done < total else "\n"
        self.stream.write(f"ballots verified: {done:,} / {total:,} ({rate:,.0f}/s){end}")
        self.stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Verify the record named on the command line; return the exit status (0, 1 or 2)."""
    parser = argparse.ArgumentParser(
        prog="python -m elections.verify",
        description="Verify a public election record (docs/election-record.md).",
    )
    parser.add_argument("record", help="the record.json file")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes for the proof checks (default: one per core)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    options = parser.parse_args(argv)
    if options.workers < 1:
        parser.error("--workers must be at least 1")
    progress = None if options.quiet else ProgressPrinter(sys.stderr)
    try:
        with open(options.record, "rb") as source:
            report = verify_record(source, workers=options.workers, progress=progress)
    except OSError as error:
        report = Report(malformed=f"cannot open {options.record}: {error.strerror}")
    if options.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(report.summary() + "\n")
    return report.exit_code
