"""The command line: ``python -m elections.verify RECORD.json [--tracker T] [--workers N]
[--quiet] [--json]``, installed for observers as ``evoting-verify`` (``console_main``)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from typing import IO

from .report import Report
from .verifier import verify_record

PROG = "python -m elections.verify"
TRACKER_LENGTH = 64
_HEX = re.compile(r"[0-9a-f]*")


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


def parse_tracker(text: str) -> str:
    """A tracker as a receipt shows it, to the board's spelling; raise ``ValueError`` if not one.

    The board spells a tracker as 64 lowercase hex digits. Case and whitespace
    (a tracker copied from a wrapped line, or typed in groups) do not matter,
    as on the site's receipt check.
    """
    value = "".join(text.split()).lower()
    if not _HEX.fullmatch(value):
        raise ValueError("a tracker has only the digits 0-9 and the letters a-f")
    if len(value) != TRACKER_LENGTH:
        raise ValueError(f"a tracker has {TRACKER_LENGTH} characters; this has {len(value)}")
    return value


def _tracker_argument(text: str) -> str:
    try:
        return parse_tracker(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Verify the record named on the command line; return the exit status (0 to 3).

    0: every check holds (and the tracker asked about is on the board); 1: a
    check failed; 2: the record is unreadable, or a usage error such as a
    malformed tracker; 3: every check holds but the tracker is not on the board.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Verify a public election record (docs/election-record.md).",
    )
    parser.add_argument("record", help="the record.json file")
    parser.add_argument(
        "--tracker",
        type=_tracker_argument,
        help="a tracker from a receipt: say where it is on the board and whether it was "
        "counted (exit status 3 if the record verifies but the tracker is not on its board)",
    )
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
            report = verify_record(
                source, workers=options.workers, progress=progress, tracker=options.tracker
            )
    except OSError as error:
        report = Report(malformed=f"cannot open {options.record}: {error.strerror}")
    if options.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(report.summary() + "\n")
    return report.exit_code


def console_main() -> int:
    """The ``evoting-verify`` command (``observer/pyproject.toml``)."""
    return main(prog="evoting-verify")
