"""The ballot box: storing ballots and folding them into the running encrypted tally.

Correctness does not depend on database transactions, so the same code is right
on SQLite and on MongoDB without a replica set:

- The ballot insert is the commit point. A ballot takes the next sequence number
  after the tally's ``ballot_count``; the unique (election, sequence) and
  (election, voter) constraints make a second ballot for the same slot or the same
  voter fail, however many arrive at once.
- The running tally is a cache of the product of the ballots with sequence numbers
  up to its ``ballot_count``. It is only ever advanced by compare-and-swap on
  ``version`` (``concurrency.compare_and_swap``), folding stored ballots in
  sequence order, so concurrent writers cannot lose an update.
- A ballot stored by a process that died before folding it is folded by the next
  cast, or before decryption (``fold_pending_ballots``). Once the box is closed
  nothing more is folded; such a ballot was never acknowledged and is removed.

Where the database has transactions (SQLite here, MongoDB replica sets), the
insert and the fold also run in one ``atomic_write`` so the normal path never
leaves a stored ballot outside the tally even for an instant.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import gmpy2  # type: ignore[import-untyped]
from django.db import IntegrityError
from django.utils import timezone

from elections import board, crypto
from elections.crypto.encoding import int_to_hex

from .concurrency import (
    MAX_ATTEMPTS,
    WriteConflict,
    atomic_write,
    compare_and_swap,
    run_with_retries,
)
from .models import Ballot, Election, EncryptedTally

FOLD_CHUNK = 500

# The request threads of one process take turns before asking the database for its
# write lock: SQLite makes waiting connections poll with sleeps of up to 100 ms,
# which leaves the lock idle between casts and lets some wait for seconds, while a
# Python lock hands over at once. Correctness never depends on it.
_write_turn = threading.Lock()


class BoxClosed(Exception):
    """The ballot box was closed before the ballot could be counted."""


class ElectionChanged(Exception):
    """The election's key is not the one the ballot was made and checked for."""


class UnverifiedBallot(Exception):
    """A stored ballot that this process did not check fails its checks: the data was altered."""

    def __init__(self, sequence: int, reason: str) -> None:
        super().__init__(f"stored ballot #{sequence} {reason}")
        self.sequence = sequence


class DuplicateVoter(Exception):
    """The voter already has a ballot in this election."""


class DuplicateBallot(Exception):
    """An identical ballot (same tracker) is already stored."""


@dataclass(frozen=True)
class CastBallot:
    """A ballot whose proofs have been checked, ready to store."""

    voter_id: uuid.UUID
    voter_context: str
    ballot: crypto.Ballot
    content: str
    tracker: str


def multiply_into(
    params: crypto.ElectionParams, totals: Sequence[str], ciphertexts: Sequence[int]
) -> list[str]:
    """Homomorphic addition: multiply each candidate's total by the ballot's ciphertext.

    The ciphertexts were validated by the parser, so plain modular multiplication
    is all that is left to do here. It runs under the database's write lock, so in
    gmpy2, about four times faster than Python's integers at these sizes.
    """
    n_square = gmpy2.mpz(params.n_square)
    return [
        int_to_hex(gmpy2.mpz(total, 16) * c % n_square)
        for total, c in zip(totals, ciphertexts, strict=True)
    ]


def fold_pending_ballots(
    election: Election,
    params: crypto.ElectionParams,
    known: Mapping[int, crypto.Ballot] | None = None,
) -> EncryptedTally:
    """Fold every stored ballot beyond the tally's ``ballot_count`` into it, in order.

    ``known`` maps sequence numbers to already parsed ballots, so the cast path
    does not parse its own ballot twice. Returns the tally as it stands after the
    fold (possibly advanced further by another writer). A closed tally is left alone.
    """
    known = known or {}
    while True:
        tally = EncryptedTally.objects.get(election=election)
        if tally.is_closed:
            return tally
        pending = (
            Ballot.objects.filter(election=election, sequence__gt=tally.ballot_count)
            .order_by("sequence")
            .only("sequence", "voter_context", "tracker", "chain_hash", "content")[:FOLD_CHUNK]
        )
        ballots: list[tuple[Ballot, crypto.Ballot]] = []
        for stored in pending:
            expected = (ballots[-1][0].sequence if ballots else tally.ballot_count) + 1
            if stored.sequence != expected:
                break  # a gap: the ballot before it is still being written
            ballots.append((stored, known.get(stored.sequence) or _parsed(params, stored)))
        if not ballots:
            return tally
        _check_unknown(params, [(s, b) for s, b in ballots if s.sequence not in known])
        totals = tally.ciphertexts
        for _, ballot in ballots:
            totals = multiply_into(params, totals, ballot.ciphertexts)
        last = ballots[-1][0]
        try:
            compare_and_swap(
                EncryptedTally.objects.filter(pk=tally.pk, is_closed=False),
                tally.version,
                ciphertexts=totals,
                ballot_count=last.sequence,
                head_hash=last.chain_hash,
            )
        except WriteConflict:
            continue


def _parsed(params: crypto.ElectionParams, stored: Ballot) -> crypto.Ballot:
    try:
        return crypto.parse_ballot(params, stored.content)
    except crypto.CryptoError as error:
        raise UnverifiedBallot(stored.sequence, f"is unreadable ({error})") from error


def _check_unknown(
    params: crypto.ElectionParams, ballots: Sequence[tuple[Ballot, crypto.Ballot]]
) -> None:
    """Check the proofs and tracker of stored ballots this process has not verified itself.

    Only verified ballots are ever stored, so such a ballot comes from a process
    that died before folding it, or from someone writing to the database: folding
    it unchecked would let crafted ciphertexts into the totals that get decrypted.
    Raises ``UnverifiedBallot`` naming the first that fails.
    """
    if not ballots:
        return
    for stored, ballot in ballots:
        if crypto.ballot_tracker(ballot, params) != stored.tracker:
            raise UnverifiedBallot(stored.sequence, "does not match its tracker")
    try:
        bad = crypto.batch_verify(
            params, [(stored.voter_context, ballot) for stored, ballot in ballots], workers=1
        )
    except crypto.CryptoError as error:
        raise UnverifiedBallot(ballots[0][0].sequence, f"cannot be checked ({error})") from error
    if bad:
        raise UnverifiedBallot(ballots[min(bad)][0].sequence, "has invalid proofs")


def store_ballot(election: Election, params: crypto.ElectionParams, cast: CastBallot) -> Ballot:
    """Store a checked ballot as the next on the board and fold it into the tally.

    Raises ``DuplicateVoter``, ``DuplicateBallot`` or ``BoxClosed``; in each case
    nothing of this ballot remains stored.
    """

    def insert() -> Ballot:
        with atomic_write():
            current = Election.objects.get(pk=election.pk)
            if current.public_key != election.public_key:
                # Reset and reopened under a new key while this ballot was being checked.
                raise ElectionChanged
            if not current.accepts_ballots_at(timezone.now()):
                raise BoxClosed
            tally = fold_pending_ballots(election, params)
            if tally.is_closed:
                raise BoxClosed
            stored = _insert(election, tally, cast)
            _fold_own(election, params, stored, cast.ballot)
            return stored

    for _ in range(MAX_ATTEMPTS):
        try:
            with _write_turn:
                return run_with_retries(insert)
        except IntegrityError:
            # Classified after the failed write has been rolled back.
            if Ballot.objects.filter(election=election, voter_id=cast.voter_id).exists():
                raise DuplicateVoter from None
            if Ballot.objects.filter(tracker=cast.tracker).exists():
                raise DuplicateBallot from None
            # Otherwise the sequence number was taken meanwhile: start again.
    raise WriteConflict


def _insert(election: Election, tally: EncryptedTally, cast: CastBallot) -> Ballot:
    sequence = tally.ballot_count + 1
    cast_at = board.to_millis(timezone.now())
    chain_hash = board.ballot_hash(
        tally.head_hash, sequence, cast.voter_context, board.format_cast_at(cast_at), cast.tracker
    )
    return Ballot.objects.create(
        election=election,
        voter_id=cast.voter_id,
        voter_context=cast.voter_context,
        sequence=sequence,
        tracker=cast.tracker,
        content=cast.content,
        cast_at=cast_at,
        chain_hash=chain_hash,
    )


def _fold_own(
    election: Election, params: crypto.ElectionParams, stored: Ballot, ballot: crypto.Ballot
) -> None:
    """Fold the ballot just stored into the tally, or withdraw it if the box closed first.

    Normally the tally still ends just before this ballot, and one compare-and-swap
    counts it without reading the stored ballots back. Otherwise (the tally moved
    or closed meanwhile, possible without transactions) the general fold decides
    from what is stored.
    """
    tally = EncryptedTally.objects.get(election=election)
    if not tally.is_closed and tally.ballot_count == stored.sequence - 1:
        try:
            compare_and_swap(
                EncryptedTally.objects.filter(pk=tally.pk, is_closed=False),
                tally.version,
                ciphertexts=multiply_into(params, tally.ciphertexts, ballot.ciphertexts),
                ballot_count=stored.sequence,
                head_hash=stored.chain_hash,
            )
            return
        except WriteConflict:
            pass
    tally = fold_pending_ballots(election, params, known={stored.sequence: ballot})
    if tally.ballot_count >= stored.sequence:
        return
    # Closed before this ballot was counted: it was never acknowledged, so withdraw it.
    Ballot.objects.filter(pk=stored.pk).delete()
    raise BoxClosed


def close_box(election: Election, params: crypto.ElectionParams) -> EncryptedTally:
    """Fold what is stored, then mark the tally closed so nothing more is counted.

    Returns the closed tally; its ``head_hash`` and ``ballot_count`` are final.
    """
    while True:
        tally = fold_pending_ballots(election, params)
        if tally.is_closed:
            return tally
        try:
            compare_and_swap(
                EncryptedTally.objects.filter(pk=tally.pk), tally.version, is_closed=True
            )
        except WriteConflict:
            continue
        tally.refresh_from_db()
        return tally


def discard_unfolded(election: Election) -> int:
    """Remove ballots stored after the close began that were never counted; return how many.

    Only a cast that died between storing its ballot and folding it, while the
    election was closing, leaves one; it was never acknowledged to the voter.
    Unfolded ballots from before the close are not touched: decryption then finds
    the tally does not match the ballots and refuses, because that means the
    stored data was altered.
    """
    tally = EncryptedTally.objects.get(election=election)
    if not tally.is_closed or election.closed_at is None:
        return 0
    deleted, _ = Ballot.objects.filter(
        election=election, sequence__gt=tally.ballot_count, cast_at__gte=election.closed_at
    ).delete()
    return deleted
