"""The cryptographic checks of the ballots, a batch at a time, in this process or a pool.

Proofs are checked with ``crypto.batch_verify`` (one small-exponent test per
batch); a ballot it rejects is checked again strictly so the report names
the failing proof. Workers receive the parameters and a batch, and send back
the failures and the per-slot product of the batch's ciphertexts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import gmpy2  # type: ignore[import-untyped]

from elections import crypto

# Pippenger's bucket overhead is shared by a whole batch, but every ballot of a task
# is held decoded (about 56 kB) in the parent, in the pipe and in the worker.
# Measured with bench/verify.py on 10,000 demo ballots and 2 workers: 256 per task
# cost the same CPU per ballot as 512 (8.3 against 8.5 ms) and 270 MB for all the
# processes against 444 MB.
BALLOTS_PER_TASK = 256


@dataclass(frozen=True)
class PendingBallot:
    """A ballot entry whose chain link has been checked, waiting for its proofs."""

    sequence: int
    voter_context: str
    tracker: str
    document: Any
    # False for a ballot a later one of its voter replaced: checked, not counted.
    counted: bool = True


@dataclass
class BatchOutcome:
    """What the cryptographic checks of one batch found, and its ciphertexts' product."""

    failures: list[tuple[str, str, int]]
    product: list[int]
    unreadable: int


def check_ballot_batch(
    params: crypto.ElectionParams, batch: Sequence[PendingBallot]
) -> BatchOutcome:
    """Parse, hash and verify a batch of ballots; runs in a worker process.

    Each ballot is parsed strictly in the format of ``params.version``, its
    tracker recomputed and its proofs checked by ``crypto.batch_verify``.
    Returns the failures as (check, message, sequence), the per-slot product
    of the readable counted ballots' ciphertexts and the number of unreadable
    ballots among the counted.
    """
    failures: list[tuple[str, str, int]] = []
    product = [gmpy2.mpz(crypto.encrypted_zero())] * params.slot_count
    parsed: list[tuple[int, str, crypto.Ballot]] = []
    unreadable = 0
    for item in batch:
        try:
            ballot, canonical = crypto.parse_ballot_with_json(params, item.document)
        except crypto.CryptoError as error:
            failures.append(("ballot", f"not a well-formed ballot: {error}", item.sequence))
            unreadable += item.counted
            continue
        if crypto.tracker_of_json(canonical) != item.tracker:
            failures.append(("tracker", "the tracker is not the hash of the ballot", item.sequence))
        if item.counted:
            for index, ciphertext in enumerate(ballot.ciphertexts):
                product[index] = product[index] * ciphertext % params.n_square
        parsed.append((item.sequence, item.voter_context, ballot))
    pairs = [(context, ballot) for _, context, ballot in parsed]
    for index in crypto.batch_verify(params, pairs, parsed=True):
        sequence, context, ballot = parsed[index]
        failures.append(("proof", _strict_verdict(params, context, ballot), sequence))
    return BatchOutcome(failures, [int(total) for total in product], unreadable)


def _strict_verdict(params: crypto.ElectionParams, context: str, ballot: crypto.Ballot) -> str:
    try:
        crypto.verify_ballot(params, context, ballot)
    except crypto.CryptoError as error:
        return f"invalid proof: {error}"
    return "invalid proof: the batch test rejects it on its own"


class BatchRunner:
    """Runs ``check_ballot_batch`` in this process, or over a pool with bounded work in flight."""

    def __init__(self, workers: int, merge: Callable[[BatchOutcome, int], None]) -> None:
        self.merge = merge
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1:
            # spawn: the caller may be a threaded server whose locks a fork would copy.
            self.pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
        # One task waiting beyond those being checked keeps the workers busy; each
        # task holds BALLOTS_PER_TASK decoded ballots (about 14 MB), so no more.
        self.limit = workers + 1
        self.in_flight: deque[tuple[Future[BatchOutcome], int]] = deque()

    def submit(self, params: crypto.ElectionParams, batch: list[PendingBallot]) -> None:
        if self.pool is None:
            self.merge(check_ballot_batch(params, batch), len(batch))
            return
        while len(self.in_flight) >= self.limit:
            self._collect()
        self.in_flight.append((self.pool.submit(check_ballot_batch, params, batch), len(batch)))

    def _collect(self) -> None:
        future, size = self.in_flight.popleft()
        self.merge(future.result(), size)

    def finish(self) -> None:
        while self.in_flight:
            self._collect()

    def close(self) -> None:
        if self.pool is not None:
            for future, _ in self.in_flight:
                future.cancel()
            self.pool.shutdown(wait=True)
