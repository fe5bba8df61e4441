"""The ballot box: storing ballots and folding them into the running encrypted tallies.

An election's board is split into ``Election.ballot_boxes`` boxes; a voter's box
follows from their pseudonym (``board.box_of``), and each box has its own running
tally, sequence numbers and hash chain, so casts to different boxes never touch the
same rows. Correctness does not depend on database transactions, so the same code
is right on SQLite, PostgreSQL and on MongoDB without a replica set:

- The ballot insert is the commit point. Ballots take the next sequence numbers of
  their box after the box tally's ``ballot_count``; the unique (election, box,
  sequence) and (election, voter, revision) constraints make a second ballot for
  the same place or the same voter fail, however many arrive at once.
- A box's running tally is a cache of the product of its ballots up to its
  ``ballot_count``, each replaced ballot divided out again (revoting). It only ever
  moves by compare-and-swap on ``version`` (``concurrency.compare_and_swap``),
  folding stored ballots in sequence order, so concurrent writers cannot lose an
  update.
- A ballot stored by a process that died before folding it is folded by the next
  cast to its box, or before decryption (``fold_pending_ballots``). Once the box
  is closed nothing more is folded; such a ballot was never acknowledged and is
  removed.

Group commit: the checked ballots that reach one web process for the same box
while it is storing are stored together, in one insert and one compare-and-swap
of the box's tally. The first to arrive leads and stores what is waiting; the
others wait and are answered once their ballot is stored and counted, and the
lead passes to the oldest still waiting.

Where the database has transactions (SQLite, PostgreSQL, MongoDB replica sets),
each batch's insert and fold also run in one ``atomic_write`` so the normal path
never leaves a stored ballot outside the tally even for an instant.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import gmpy2  # type: ignore[import-untyped]
from django.conf import settings
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

# One batch is written at a time per process, whatever its box: with SQLite the
# writers otherwise poll for the database's lock with sleeps of up to 100 ms, which
# leaves the lock idle between writes, while a Python lock hands over at once. The
# other boxes' ballots wait meanwhile and go in larger batches. Correctness never
# depends on it.
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


class ReplacedBallot(Exception):
    """This voter's ballot, sent again after a later ballot of theirs replaced it."""


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
    """Homomorphic addition: multiply each slot's total by the ballot's ciphertext.

    The ciphertexts were validated by the parser, so plain modular multiplication
    is all that is left to do here. It runs under the database's write lock, so in
    gmpy2, about four times faster than Python's integers at these sizes.
    """
    n_square = gmpy2.mpz(params.n_square)
    return [
        int_to_hex(gmpy2.mpz(total, 16) * c % n_square)
        for total, c in zip(totals, ciphertexts, strict=True)
    ]


def divide_out(
    params: crypto.ElectionParams, totals: Sequence[str], ciphertexts: Sequence[int]
) -> list[str]:
    """Homomorphic subtraction: take a replaced ballot back out of each slot's total.

    Valid ciphertexts are units modulo n^2 (the parser checks gcd(c, n) = 1), so the
    inverse exists.
    """
    n_square = gmpy2.mpz(params.n_square)
    return multiply_into(params, totals, [gmpy2.invert(c, n_square) for c in ciphertexts])


def box_tallies(election: Election) -> list[EncryptedTally]:
    """The election's running tallies, box 0 first (none before it opens)."""
    return list(EncryptedTally.objects.filter(election=election).order_by("box"))


def combined_totals(params: crypto.ElectionParams, tallies: Sequence[EncryptedTally]) -> list[int]:
    """Each slot's total over every box: the product of the boxes' ciphertexts."""
    n_square = gmpy2.mpz(params.n_square)
    totals = [gmpy2.mpz(1)] * params.slot_count
    for tally in tallies:
        totals = [
            total * gmpy2.mpz(value, 16) % n_square
            for total, value in zip(totals, tally.ciphertexts, strict=True)
        ]
    return [int(total) for total in totals]


def create_boxes(election: Election, params: crypto.ElectionParams) -> None:
    """Give an election that opens its empty boxes, each at its own genesis hash."""
    zero = [int_to_hex(crypto.encrypted_zero())] * params.slot_count
    EncryptedTally.objects.filter(election=election).delete()
    EncryptedTally.objects.bulk_create(
        EncryptedTally(
            election=election,
            box=box,
            ciphertexts=zero,
            head_hash=board.box_genesis_hash(params.fingerprint, box, election.ballot_boxes),
        )
        for box in range(election.ballot_boxes)
    )


def fold_pending_ballots(
    election: Election,
    params: crypto.ElectionParams,
    box: int = 0,
    known: Mapping[int, crypto.Ballot] | None = None,
) -> EncryptedTally:
    """Fold every stored ballot of ``box`` beyond its tally's ``ballot_count`` into it, in order.

    ``known`` maps sequence numbers to already checked and parsed ballots, so the
    cast path does not parse its own ballots twice. Returns the box's tally as it
    stands after the fold (possibly advanced further by another writer). A closed
    tally is left alone.
    """
    known = known or {}
    while True:
        tally = EncryptedTally.objects.get(election=election, box=box)
        if tally.is_closed:
            return tally
        pending = (
            Ballot.objects.filter(election=election, box=box, sequence__gt=tally.ballot_count)
            .order_by("sequence")
            .only(
                "sequence",
                "voter_id",
                "revision",
                "voter_context",
                "tracker",
                "chain_hash",
                "content",
            )[:FOLD_CHUNK]
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
        folded = [
            (
                stored,
                ballot.ciphertexts,
                _replaced(election, params, stored) if stored.revision > 1 else None,
            )
            for stored, ballot in ballots
        ]
        try:
            _advance(params, tally, folded)
        except WriteConflict:
            continue


# A ballot to fold: as stored, its ciphertexts, and those of the ballot it replaces.
Folded = tuple[Ballot, Sequence[int], Sequence[int] | None]


def _advance(
    params: crypto.ElectionParams, tally: EncryptedTally, folded: Sequence[Folded]
) -> None:
    """Fold ``folded`` (in sequence order) into ``tally`` by one compare-and-swap.

    Each ballot is multiplied in and the ballot it replaces divided out; only a
    voter's first ballot adds to ``counted``. Raises ``WriteConflict`` if the tally
    moved or closed since it was read.
    """
    totals, counted = tally.ciphertexts, tally.counted
    for _, ciphertexts, replaced in folded:
        totals = multiply_into(params, totals, ciphertexts)
        if replaced is None:
            counted += 1
        else:
            totals = divide_out(params, totals, replaced)
    last = folded[-1][0]
    compare_and_swap(
        EncryptedTally.objects.filter(pk=tally.pk, is_closed=False),
        tally.version,
        ciphertexts=totals,
        ballot_count=last.sequence,
        counted=counted,
        head_hash=last.chain_hash,
    )


def _parsed(params: crypto.ElectionParams, stored: Ballot) -> crypto.Ballot:
    try:
        return crypto.parse_ballot(params, stored.content)
    except crypto.CryptoError as error:
        raise UnverifiedBallot(stored.sequence, f"is unreadable ({error})") from error


def _replaced(election: Election, params: crypto.ElectionParams, stored: Ballot) -> list[int]:
    """The ciphertexts of the ballot that ``stored`` replaces: its voter's previous one."""
    previous = (
        Ballot.objects.filter(
            election=election,
            voter_id=stored.voter_id,
            revision=stored.revision - 1,
            sequence__lt=stored.sequence,
            box=stored.box,
        )
        .only("sequence", "content")
        .first()
    )
    if previous is None:
        raise UnverifiedBallot(stored.sequence, "replaces a ballot that is not on the board")
    return list(_parsed(params, previous).ciphertexts)


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


# Group commit ----------------------------------------------------------------


@dataclass(eq=False)
class _Waiting:
    """A checked ballot waiting in its process to be stored, and what became of it."""

    cast: CastBallot
    params: crypto.ElectionParams
    # The key the ballot was checked against: a reset and reopen changes it.
    key: str
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    # Stored by an insert that the database then refused part of (no transactions).
    stored_earlier: Ballot | None = None
    result: Ballot | None = None
    error: BaseException | None = None

    def finish(self, outcome: Ballot | BaseException) -> None:
        if isinstance(outcome, Ballot):
            self.result = outcome
        else:
            self.error = outcome
        self.wake.set()

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def outcome(self) -> Ballot:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@dataclass(eq=False)
class _Queue:
    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: list[_Waiting] = field(default_factory=list)
    leading: bool = False


_queues: dict[tuple[uuid.UUID, int], _Queue] = {}
_queues_lock = threading.Lock()


def _queue(election: Election, box: int) -> _Queue:
    with _queues_lock:
        return _queues.setdefault((election.pk, box), _Queue())


def store_ballot(election: Election, params: crypto.ElectionParams, cast: CastBallot) -> Ballot:
    """Store a checked ballot on its box's board and fold it into the box's tally.

    Returns once the ballot is stored and counted. Raises ``DuplicateVoter``,
    ``DuplicateBallot``, ``BoxClosed`` or ``ElectionChanged``, and in each case
    nothing of this ballot remains stored. With revoting, a voter's next ballot
    replaces the previous one (see ``replaced_by``).
    """
    box = board.box_of(cast.voter_context, election.ballot_boxes)
    queue = _queue(election, box)
    me = _Waiting(cast, params, election.public_key)
    with queue.lock:
        queue.waiting.append(me)
        if not queue.leading:
            queue.leading = me.lead = True
    if not me.lead:
        me.wake.wait()
    if me.lead:  # first to arrive, or handed the lead while waiting (then first in line)
        try:
            with queue.lock:
                limit = max(1, settings.BALLOT_STORE_BATCH)
                batch, queue.waiting[:limit] = queue.waiting[:limit], []
            _commit(election.pk, box, batch)
        finally:
            with queue.lock:
                if queue.waiting:
                    queue.waiting[0].lead = True
                    queue.waiting[0].wake.set()
                else:
                    queue.leading = False
    return me.outcome()


def _commit(election_id: uuid.UUID, box: int, batch: list[_Waiting]) -> None:
    """Store ``batch`` and give each ballot in it its outcome, whatever happens."""
    pending = batch
    refused_inserts = rounds = 0
    try:
        while pending:
            rounds += 1
            if rounds > 4 * MAX_ATTEMPTS:
                raise WriteConflict
            try:
                with _write_turn:
                    pending = run_with_retries(partial(_write, election_id, box, pending))
            except IntegrityError:
                # Classified after the failed write has been rolled back.
                refused_inserts += 1
                pending = _after_refused_insert(election_id, box, pending)
                if refused_inserts >= MAX_ATTEMPTS:
                    for waiting in pending:
                        waiting.finish(WriteConflict())
                    return
    except Exception as error:  # every waiting voter gets the failure, whatever it is
        for waiting in batch:
            if not waiting.done:
                waiting.finish(error)


def _write(election_id: uuid.UUID, box: int, pending: list[_Waiting]) -> list[_Waiting]:
    """One attempt at storing ``pending``; returns those left for another round.

    The outcomes are given only after the writes are committed. A voter with two
    ballots in the batch has the later one stored in the next round, so it
    replaces the first (revoting) or is refused.
    """
    outcomes: dict[_Waiting, Ballot | BaseException] = {}
    left: list[_Waiting] = []
    with atomic_write():
        election = Election.objects.get(pk=election_id)
        earlier = [waiting for waiting in pending if waiting.stored_earlier is not None]
        if earlier:
            tally = fold_pending_ballots(election, earlier[0].params, box)
            left = _settle_stored_earlier(tally, earlier, outcomes)
        now = timezone.now()
        live = []
        for waiting in pending:
            if waiting.stored_earlier is not None:
                continue
            if waiting.key != election.public_key:
                outcomes[waiting] = ElectionChanged()
            elif not election.accepts_ballots_at(now):
                outcomes[waiting] = BoxClosed()
            else:
                live.append(waiting)
        if live:
            params = live[0].params
            tally = fold_pending_ballots(election, params, box)
            if tally.is_closed:
                outcomes.update((waiting, BoxClosed()) for waiting in live)
            else:
                rows, deferred = _admit(election, live, outcomes)
                left += deferred
                if rows:
                    stored = _insert(election, tally, rows)
                    outcomes.update(_fold_own(election, params, tally, stored))
    for waiting, outcome in outcomes.items():
        waiting.finish(outcome)
    return left


def _settle_stored_earlier(
    tally: EncryptedTally, earlier: list[_Waiting], outcomes: dict[_Waiting, Ballot | BaseException]
) -> list[_Waiting]:
    """Answer the ballots already on the board once the fold has counted them.

    They are counted, or withdrawn if their box closed without them; returns those
    still waiting behind a ballot another process is writing, for the next round.
    """
    uncounted = []
    for waiting in earlier:
        stored = waiting.stored_earlier
        assert stored is not None
        if tally.ballot_count >= stored.sequence:
            outcomes[waiting] = stored
        elif tally.is_closed:
            # Never acknowledged, and the box is sealed without it: withdraw it.
            Ballot.objects.filter(pk=stored.pk).delete()
            outcomes[waiting] = BoxClosed()
        else:
            uncounted.append(waiting)
    return uncounted


# A ballot admitted to the batch, and the ballot of the same voter it replaces.
Admitted = tuple[_Waiting, Ballot | None]


def _admit(
    election: Election, live: list[_Waiting], outcomes: dict[_Waiting, Ballot | BaseException]
) -> tuple[list[Admitted], list[_Waiting]]:
    """Which ballots of ``live`` go in this batch; refusals go to ``outcomes``."""
    latest: dict[uuid.UUID, Ballot] = {}
    # No ordering: it would make the database walk the election's ballots in board order
    # instead of looking up these voters by the (election, voter) index.
    previous = (
        Ballot.objects.filter(election=election, voter_id__in={w.cast.voter_id for w in live})
        .order_by()
        .only("voter_id", "revision", "sequence", "box", "tracker", "content")
    )
    for ballot in previous:
        if ballot.voter_id not in latest or ballot.revision > latest[ballot.voter_id].revision:
            latest[ballot.voter_id] = ballot
    admitted: list[Admitted] = []
    left: list[_Waiting] = []
    voters: set[uuid.UUID] = set()
    trackers: set[str] = set()
    for waiting in live:
        voter, tracker = waiting.cast.voter_id, waiting.cast.tracker
        if voter in voters:
            left.append(waiting)
        elif tracker in trackers:
            outcomes[waiting] = DuplicateBallot()
        elif voter in latest and not election.allow_revoting:
            outcomes[waiting] = DuplicateVoter()
        else:
            voters.add(voter)
            trackers.add(tracker)
            admitted.append((waiting, latest.get(voter)))
    return admitted, left


def _insert(election: Election, tally: EncryptedTally, rows: list[Admitted]) -> list[Stored]:
    """Store the batch as the box's next ballots, in one insert."""
    head, sequence = tally.head_hash, tally.ballot_count
    cast_at = board.to_millis(timezone.now())
    spelt = board.format_cast_at(cast_at)
    stored = []
    for waiting, replaced in rows:
        cast = waiting.cast
        sequence += 1
        head = board.ballot_hash(head, sequence, cast.voter_context, spelt, cast.tracker)
        ballot = Ballot(
            election=election,
            voter_id=cast.voter_id,
            voter_context=cast.voter_context,
            box=tally.box,
            sequence=sequence,
            revision=1 if replaced is None else replaced.revision + 1,
            tracker=cast.tracker,
            content=cast.content,
            cast_at=cast_at,
            chain_hash=head,
        )
        stored.append((waiting, ballot, replaced))
    Ballot.objects.bulk_create([ballot for _, ballot, _ in stored])
    return stored


# A ballot of the batch as stored, and the ballot of the same voter it replaces.
Stored = tuple[_Waiting, Ballot, Ballot | None]


def _fold_own(
    election: Election,
    params: crypto.ElectionParams,
    tally: EncryptedTally,
    stored: list[Stored],
) -> dict[_Waiting, Ballot | BaseException]:
    """Fold the batch just stored into its box's tally, or withdraw what the close left out.

    Normally the tally still ends just before the batch, and one compare-and-swap
    counts it without reading the stored ballots back. Otherwise (the tally moved
    or closed meanwhile, possible without transactions) the general fold decides
    from what is stored.
    """
    folded = [
        (
            ballot,
            waiting.cast.ballot.ciphertexts,
            None if replaced is None else _parsed(params, replaced).ciphertexts,
        )
        for waiting, ballot, replaced in stored
    ]
    try:
        _advance(params, tally, folded)
        return {waiting: ballot for waiting, ballot, _ in stored}
    except WriteConflict:
        pass
    known = {ballot.sequence: waiting.cast.ballot for waiting, ballot, _ in stored}
    tally = fold_pending_ballots(election, params, tally.box, known=known)
    outcomes: dict[_Waiting, Ballot | BaseException] = {}
    for waiting, ballot, _ in stored:
        if tally.ballot_count >= ballot.sequence:
            outcomes[waiting] = ballot
        else:
            # Closed before this ballot was counted: it was never acknowledged, so withdraw it.
            Ballot.objects.filter(pk=ballot.pk).delete()
            outcomes[waiting] = BoxClosed()
    return outcomes


def _after_refused_insert(
    election_id: uuid.UUID, box: int, pending: list[_Waiting]
) -> list[_Waiting]:
    """After an insert the database refused: refuse the duplicates, keep the rest for a retry.

    A voter who already has a ballot is refused unless revoting is on (then the
    retry replaces it); a ballot whose tracker is taken is refused. Otherwise the
    sequence numbers were taken meanwhile by another process. Without transactions
    an insert may have stored the ballots before the refused one: those are on the
    board, so they are kept until the next round folds them.
    """
    election = Election.objects.get(pk=election_id)
    left = []
    for waiting in pending:
        cast = waiting.cast
        found = (
            Ballot.objects.filter(tracker=cast.tracker)
            .only("pk", "election_id", "voter_id", "box", "sequence", "revision")
            .first()
        )
        if found is not None and found.voter_id == cast.voter_id:
            if Ballot.objects.filter(
                election_id=found.election_id, voter_id=found.voter_id, revision__gt=found.revision
            ).exists():
                # Sent again after the voter's later ballot replaced it: it stays replaced.
                waiting.finish(ReplacedBallot())
                continue
            # This very ballot, sent again: already on the board, answered once counted.
            waiting.stored_earlier = found
            left.append(waiting)
            continue
        if found is not None:
            waiting.finish(DuplicateBallot())
        elif (
            not election.allow_revoting
            and Ballot.objects.filter(election=election, voter_id=cast.voter_id).exists()
        ):
            waiting.finish(DuplicateVoter())
        else:
            left.append(waiting)
    return left


def close_box(election: Election, params: crypto.ElectionParams) -> list[EncryptedTally]:
    """Fold what is stored in every box, then mark each closed so nothing more is counted.

    Returns the closed tallies, box 0 first; their ``head_hash`` and
    ``ballot_count`` are final.
    """
    closed = []
    for box in range(election.ballot_boxes):
        while True:
            tally = fold_pending_ballots(election, params, box)
            if tally.is_closed:
                break
            try:
                compare_and_swap(
                    EncryptedTally.objects.filter(pk=tally.pk), tally.version, is_closed=True
                )
            except WriteConflict:
                continue
            tally.refresh_from_db()
            break
        closed.append(tally)
    return closed


def discard_unfolded(election: Election) -> int:
    """Remove ballots stored after the close began that were never counted; return how many.

    Only a cast that died between storing its ballot and folding it, while the
    election was closing, leaves one; it was never acknowledged to the voter.
    Unfolded ballots from before the close are not touched: decryption then finds
    the tally does not match the ballots and refuses, because that means the
    stored data was altered.
    """
    if election.closed_at is None:
        return 0
    deleted = 0
    for tally in box_tallies(election):
        if tally.is_closed:
            deleted += Ballot.objects.filter(
                election=election,
                box=tally.box,
                sequence__gt=tally.ballot_count,
                cast_at__gte=election.closed_at,
            ).delete()[0]
    return deleted


def replaced_by(ballot: Ballot) -> Ballot | None:
    """The voter's ballot that replaced ``ballot`` (revoting), if any is on the board."""
    return (
        Ballot.objects.filter(
            election_id=ballot.election_id, voter_id=ballot.voter_id, revision=ballot.revision + 1
        )
        .only("box", "sequence", "tracker", "cast_at")
        .first()
    )
