"""What the verifier remembers of the board stays off the heap, and finds every duplicate."""

import gc
import tracemalloc

from elections.verify import Report
from elections.verify.checks import EntryFields, RecordChecker
from elections.verify.seen import SeenEntries


def fields(number: int, *, context: str | None = None, replaced_by: int | None = None):
    return EntryFields(
        sequence=number,
        box=0,
        context=context or f"election-1:voter-{number:08d}",
        cast_at="2026-12-08T09:00:00Z",
        tracker=f"{number:064x}",
        chain_hash="0" * 64,
        replaced_by=replaced_by,
        document=None,
    )


def test_a_tracker_keeps_its_first_entry_and_a_voter_their_latest():
    seen = SeenEntries()
    assert seen.first_with_tracker("t1", (1, 1, 0)) == (1, 1, 0)
    assert seen.first_with_tracker("t2", (2, 2, 0)) == (2, 2, 0)
    assert seen.first_with_tracker("t1", (3, 3, 1)) == (1, 1, 0)
    assert "t1" in seen and "t2" in seen
    assert "t3" not in seen and None not in seen

    assert seen.replace_latest("bob", (1, 1, 0, None)) is None
    assert seen.replace_latest("amy", (2, 2, 0, 5)) is None
    assert seen.replace_latest("bob", (4, 4, 0, None)) == (1, 1, 0, None)
    assert seen.replace_latest("bob", (5, 5, 0, 9)) == (4, 4, 0, None)
    # A forged record's numbers may be of any size.
    huge = 10**40
    assert seen.first_with_tracker("t4", (6, huge, 0)) == (6, huge, 0)
    assert seen.first_with_tracker("t4", (7, 7, 0)) == (6, huge, 0)
    assert seen.replace_latest("bob", (8, huge, 0, huge + 1)) == (5, 5, 0, 9)
    assert seen.replace_latest("bob", (5, 5, 0, 9)) == (8, huge, 0, huge + 1)
    # In the order the voters first appeared, each with their latest entry.
    assert list(seen.latest_entries()) == [(5, 5, 0, 9), (2, 2, 0, 5)]
    seen.close()


def test_duplicates_are_found_among_many_ballots():
    checker = RecordChecker(Report())
    try:
        for number in range(1, 2001):
            checker._check_unique(number, fields(number), 0)
        checker._check_unique(2001, fields(17, context="election-1:voter-99999999"), 0)
        checker._check_unique(2002, fields(2002, context=fields(1500).context), 0)
    finally:
        checker.close()
    found = [
        (failure.check, failure.sequence, failure.message) for failure in checker.report.failures
    ]
    assert found == [
        ("duplicate", 17, "tracker already on the board as ballot 17 (position 17)"),
        ("duplicate", 2002, "voter context already voted as ballot 1500 (position 1500)"),
    ]


def test_the_verifiers_memory_does_not_grow_with_the_ballots():
    # Held in dicts, 30,000 trackers and voter contexts take about 12 MB of the heap.
    checker = RecordChecker(Report())
    try:
        checker._check_unique(1, fields(1), 0)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for number in range(2, 30_001):
            checker._check_unique(number, fields(number), 0)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    finally:
        checker.close()
    assert checker.report.failures == []
    assert grown < 1_000_000, f"the heap grew by {grown:,} bytes for 30,000 ballots"
