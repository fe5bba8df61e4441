"""The ballot board's hash chain. Django-free: the standalone verifier uses it too.

Every accepted ballot gets a sequence number and a chain hash that covers the
previous chain hash, so an insider who edits, deletes, inserts or reorders a
stored ballot changes every later hash, and observers who kept a copy of the head
hash (shown live on the election page) can tell. Closing the election appends a
closing hash over the final head and the number of ballots.

All hashes are SHA-256 over ``transcript_digest``'s length-prefixed encoding of
ASCII strings, written as lowercase hex (docs/election-record.md gives them byte
by byte):

- genesis: ``H("evoting/board/v1/genesis", params_fingerprint)``
- ballot i: ``H("evoting/board/v1/ballot", h_(i-1), str(i), voter_context, cast_at, tracker)``
- closing: ``H("evoting/board/v1/close", h_N, str(N))``

``cast_at`` is the cast time in UTC at millisecond precision, spelt
``YYYY-MM-DDTHH:MM:SS.mmmZ`` (milliseconds because that is what every supported
database stores exactly).
"""

from __future__ import annotations

from datetime import UTC, datetime

from elections.crypto.encoding import transcript_digest

GENESIS_TAG = "evoting/board/v1/genesis"
BALLOT_TAG = "evoting/board/v1/ballot"
CLOSE_TAG = "evoting/board/v1/close"


def genesis_hash(params_fingerprint: str) -> str:
    """The chain's starting point, bound to the election's public parameters."""
    return transcript_digest([GENESIS_TAG, params_fingerprint]).hex()


def ballot_hash(
    previous: str, sequence: int, voter_context: str, cast_at: str, tracker: str
) -> str:
    """The chain hash of ballot number ``sequence`` (from 1), following ``previous``."""
    return transcript_digest(
        [BALLOT_TAG, previous, str(sequence), voter_context, cast_at, tracker]
    ).hex()


def closing_hash(head: str, ballots: int) -> str:
    """The hash that seals the board: no ballot can be appended after it."""
    return transcript_digest([CLOSE_TAG, head, str(ballots)]).hex()


def to_millis(moment: datetime) -> datetime:
    """``moment`` in UTC, truncated to whole milliseconds."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_cast_at(moment: datetime) -> str:
    """The canonical spelling of a cast time: ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC."""
    moment = to_millis(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
