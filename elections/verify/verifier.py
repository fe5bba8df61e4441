"""One verification run: read the record's sections in order and hand each to its check."""

from __future__ import annotations

import time
from collections.abc import Iterator

from . import reading
from .checks import ProgressCallback, RecordChecker, StopChecks
from .layout import AUDITED_SECTION
from .reading import ByteSource, Event, MalformedRecord
from .report import Report, TrackerLookup


def verify_record(
    source: ByteSource,
    *,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    tracker: str | None = None,
) -> Report:
    """Read a record (either version) from a binary stream, run every check; return the report.

    Never raises for a bad record: a malformed one gives ``report.malformed``
    (exit 2), failed checks give ``report.failures`` (exit 1). ``workers``
    greater than 1 checks the proofs over a process pool; ``progress(done,
    total)`` follows the ballots. ``tracker`` (64 lowercase hex digits, see
    ``cli.parse_tracker``) is looked up on the board: ``report.tracker`` says
    where it is, and the exit status is 3 if the record verifies without it.
    """
    started = time.monotonic()
    report = Report(tracker=None if tracker is None else TrackerLookup(tracker))
    checker = RecordChecker(report, workers=workers, progress=progress)
    try:
        _read(reading.events(source), checker)
    except MalformedRecord as error:
        report.malformed = str(error)
    except StopChecks:
        pass
    finally:
        checker.close()
    report.seconds = time.monotonic() - started
    return report


def _read(stream: Iterator[Event], checker: RecordChecker) -> None:
    if reading.next_event(stream)[0] != "start_map":
        raise MalformedRecord("the record must be a JSON object")
    reading.expect_key(stream, "format")
    # The first value decides the layout of everything after it.
    layout = checker.check_format(reading.section(stream, "format"))
    handlers = checker.handlers()
    for key in layout.sections[1:]:
        reading.expect_key(stream, key)
        if key == "ballots":
            checker.check_ballots(reading.array_items(stream, "ballots"))
        else:
            handlers[key](reading.section(stream, key))
    event, value = reading.next_event(stream)
    if event == "map_key" and value == AUDITED_SECTION and layout.audited:
        checker.check_audited(reading.array_items(stream, AUDITED_SECTION))
        event, value = reading.next_event(stream)
    if event != "end_map":
        raise MalformedRecord(f"unexpected key {str(value)[:40]!r} after {layout.sections[-1]!r}")
    for _ in stream:
        raise MalformedRecord("unexpected content after the record")
