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

An election with ``P > 1`` ballot boxes has one such chain per box, each from its
own genesis, and one closing hash over every box's head and length:

- box genesis: ``H("evoting/board/v1/box-genesis", params_fingerprint, str(b), str(P))``
- closing: ``H("evoting/board/v1/close-boxes", str(P), h_0, str(N_0), ..., h_(P-1), str(N_(P-1)))``

With one box these are the single chain's genesis and closing hashes above, so an
election with one box has the same board as before boxes existed. A voter's box
is ``box_of(voter_context, P)``: the first eight bytes of
``H("evoting/board/v1/box", voter_context)`` as a big-endian integer, modulo ``P``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from elections.crypto.encoding import transcript_digest

GENESIS_TAG = "evoting/board/v1/genesis"
BALLOT_TAG = "evoting/board/v1/ballot"
CLOSE_TAG = "evoting/board/v1/close"
BOX_GENESIS_TAG = "evoting/board/v1/box-genesis"
BOXES_CLOSE_TAG = "evoting/board/v1/close-boxes"
BOX_TAG = "evoting/board/v1/box"


def genesis_hash(params_fingerprint: str) -> str:
    """The chain's starting point, bound to the election's public parameters."""
    return transcript_digest([GENESIS_TAG, params_fingerprint]).hex()


def box_genesis_hash(params_fingerprint: str, box: int, boxes: int) -> str:
    """Where box ``box`` (from 0) of ``boxes`` starts its chain."""
    if boxes == 1:
        return genesis_hash(params_fingerprint)
    return transcript_digest([BOX_GENESIS_TAG, params_fingerprint, str(box), str(boxes)]).hex()


def box_of(voter_context: str, boxes: int) -> int:
    """The box (from 0) that every ballot of this voter goes to."""
    digest = transcript_digest([BOX_TAG, voter_context])
    return int.from_bytes(digest[:8], "big") % boxes


def boxes_closing_hash(heads: list[tuple[str, int]]) -> str:
    """Seal every box at once: ``heads`` is each box's (head hash, ballots), box 0 first."""
    if len(heads) == 1:
        return closing_hash(*heads[0])
    parts = [BOXES_CLOSE_TAG, str(len(heads))]
    for head, ballots in heads:
        parts += [head, str(ballots)]
    return transcript_digest(parts).hex()


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
