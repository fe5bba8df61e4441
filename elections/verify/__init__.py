"""Independent verifier of a public election record (``docs/election-record.md``).

Usage::

    python -m elections.verify record.json [--tracker T] [--workers N] [--quiet] [--json]

(``evoting-verify`` once the observers' distribution, ``observer/``, is installed).

It needs no Django settings and no database: it imports only the Django-free
``elections.crypto`` and ``elections.board``, so anyone can run it on a
downloaded record, and the site runs the same code before it decrypts
(``record.verify_board``). It reads both record versions: the value of the
first key, ``format``, selects the layout (``layout``). The file is streamed
with ijson (``reading``); memory holds counters, the running product of the
ballots and a few batches of ballots, whatever the number of ballots: the
trackers and voter contexts seen so far, which duplicates are found against,
live in a temporary SQLite database that spills to disk (``seen``). Proofs are
checked with the batch verifier over a process pool (``ballots``); a ballot the
batch rejects is checked again strictly so the report names the failing proof.
``checks`` and ``results`` hold the checks themselves, ``report`` what they found,
``cli`` the command.

Every failure is collected (up to ``MAX_LISTED_FAILURES`` are listed) with the
check that failed and the ballot it concerns. The report gives the board's
genesis, head and closing hashes, and the results by question and option name.
``--tracker`` looks a receipt's tracker up on the board: where it is, and
whether it was counted. Exit status: 0 when every check holds (and the tracker
asked about is on the board), 1 when any check fails, 2 when the file is
unreadable, malformed or truncated (not JSON, a missing or misplaced top-level
key, an unknown format tag) or the command line is wrong (a malformed tracker),
3 when every check holds but the tracker asked about is not on the board.
"""

from .checks import ProgressCallback, RecordChecker
from .cli import ProgressPrinter, main, parse_tracker
from .layout import RECORD_FORMAT, RECORD_FORMAT_V1, RECORD_FORMAT_V3, voter_roll_commitment
from .reading import MAX_DEPTH, MAX_TEXT, ByteSource, ChunkReader, MalformedRecord, StrictReader
from .report import (
    MAX_LISTED_FAILURES,
    TRACKER_ABSENT,
    Failure,
    OptionResult,
    QuestionResult,
    Report,
    TrackerLookup,
    TrackerMatch,
)
from .verifier import verify_record

__all__ = [
    "MAX_DEPTH",
    "MAX_LISTED_FAILURES",
    "MAX_TEXT",
    "RECORD_FORMAT",
    "RECORD_FORMAT_V1",
    "RECORD_FORMAT_V3",
    "TRACKER_ABSENT",
    "ByteSource",
    "ChunkReader",
    "Failure",
    "MalformedRecord",
    "OptionResult",
    "ProgressCallback",
    "ProgressPrinter",
    "QuestionResult",
    "RecordChecker",
    "Report",
    "StrictReader",
    "TrackerLookup",
    "TrackerMatch",
    "main",
    "parse_tracker",
    "verify_record",
    "voter_roll_commitment",
]
