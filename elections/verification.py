"""Checking ballot proofs at cast time, batched across concurrent requests.

Checking one ballot's proofs strictly costs about 2k+1 exponentiations by n;
checking a batch with the small-exponent test costs a fraction of one per ballot
(see ``elections.crypto.batch``). A cast must know its ballot is valid before it
is stored, so batching happens between requests that are in flight at the same
moment: each request hands its ballot to this process's verifier and waits; the
verifier takes every ballot queued so far as one batch. With one request at a
time the batch is that one ballot (no added wait); under load batches grow by
themselves, because ballots queue while the earlier batches are being checked. A
batch that fails is bisected by ``batch_verify``, and each bad ballot is then
checked strictly so its refusal names the failing check.

With ``processes`` > 0 the batches are checked in that many worker processes
(``BALLOT_VERIFY_PROCESSES``), one batch per process at a time. ``gmpy2`` holds
the GIL through each exponentiation, so checking in the web process itself would
stall its request threads, including the one holding the database's write lock,
for tens of milliseconds at a time. The workers run at a lower scheduling
priority for the same reason: a request that is storing a ballot should not wait
for a core behind proof checks, which simply batch more ballots when they lag.

Both verifiers obey the same acceptance rule, so batching changes the cost, not
which ballots are accepted.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings

from elections import crypto

log = logging.getLogger(__name__)

# Added to the verifier processes' nice value (see the module docstring).
WORKER_NICENESS = 5

# (check, message) of a refused ballot, None for a valid one: plain values, so they
# cross from the worker processes (``InvalidBallot`` does not survive pickling).
Verdict = tuple[str, str] | None
UNVERIFIED = ("unverified", "the ballot could not be verified")
PARAMETERS = "parameters"


@dataclass(eq=False)
class _Pending:
    params: crypto.ElectionParams
    context: str
    ballot: crypto.Ballot
    done: threading.Event = field(default_factory=threading.Event)
    error: crypto.CryptoError | VerifierUnavailable | None = None


class VerifierUnavailable(Exception):
    """The ballot could not be checked (a worker process died): it is neither valid nor not."""


class BallotVerifier:
    """Verifies ballots for the request threads of one process, in natural batches."""

    def __init__(self, *, max_batch: int = 64, processes: int = 0) -> None:
        self.max_batch = max_batch
        self.processes = processes
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        # One batch in flight per worker process: the next batch forms while they work.
        self._slots = threading.Semaphore(max(processes, 1))

    def verify(self, params: crypto.ElectionParams, context: str, ballot: crypto.Ballot) -> None:
        """Return if the ballot's proofs hold; raise the ``CryptoError`` naming the failure.

        Raises ``VerifierUnavailable`` if the check itself could not run.
        """
        if self.max_batch <= 1:
            crypto.verify_ballot(params, context, ballot)
            return
        item = _Pending(params, context, ballot)
        self._start()
        self._queue.put(item)
        item.done.wait()
        if item.error is not None:
            raise item.error

    def close(self) -> None:
        """Stop the worker processes (a later ``verify`` starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="ballot-verifier", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._slots.acquire()
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if self.processes == 0:
                self._answer(batch, partial(check_batch, _jobs(batch)))
                self._slots.release()
            else:
                self._submit(batch)

    def _submit(self, batch: list[_Pending]) -> None:
        try:
            future = self._worker_pool().submit(check_batch, _jobs(batch))
        except Exception:  # a broken pool: answer these, start a fresh pool for the next
            log.exception("ballot verification could not start")
            self._discard_pool()
            self._answer(batch, lambda: [UNVERIFIED] * len(batch))
            self._slots.release()
            return

        def finished(done: Future[list[Verdict]]) -> None:
            try:
                self._answer(batch, done.result)
            finally:
                self._slots.release()

        future.add_done_callback(finished)

    def _worker_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # "spawn" rather than fork: forking a threaded web process that holds
                # other threads' locks can deadlock the child.
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_lower_priority,
                )
            return self._pool

    def _discard_pool(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _answer(self, batch: list[_Pending], verdicts: Callable[[], list[Verdict]]) -> None:
        results: list[Verdict] = [UNVERIFIED] * len(batch)
        try:
            results = verdicts()
        except Exception:  # the waiting requests must be answered whatever happens
            log.exception("ballot verification failed")
            if self.processes:
                self._discard_pool()
        finally:
            for index, item in enumerate(batch):
                verdict = results[index] if index < len(results) else UNVERIFIED
                item.error = _error_of(verdict)
                item.done.set()


def _error_of(verdict: Verdict) -> crypto.CryptoError | VerifierUnavailable | None:
    if verdict is None:
        return None
    check, message = verdict
    if verdict == UNVERIFIED:
        return VerifierUnavailable(message)
    if check == PARAMETERS:
        return crypto.ParameterError(message)
    return crypto.InvalidBallot(message, check=check)


def _jobs(batch: Sequence[_Pending]) -> list[tuple[crypto.ElectionParams, str, crypto.Ballot]]:
    return [(item.params, item.context, item.ballot) for item in batch]


def _lower_priority() -> None:
    os.nice(WORKER_NICENESS)


def check_batch(jobs: Sequence[tuple[crypto.ElectionParams, str, crypto.Ballot]]) -> list[Verdict]:
    """Verdicts for (params, voter context, ballot) jobs, in order: ``None`` for a valid ballot.

    ``batch_verify`` per election finds the bad ballots; each of those is checked
    strictly so the verdict names the failing check. Runs in a worker process, so
    it takes and returns plain picklable values.
    """
    by_election: dict[crypto.ElectionParams, list[int]] = defaultdict(list)
    for index, (params, _, _) in enumerate(jobs):
        by_election[params].append(index)
    verdicts: list[Verdict] = [None] * len(jobs)
    for params, indices in by_election.items():
        try:
            pairs = [(jobs[i][1], jobs[i][2]) for i in indices]
            bad = set(crypto.batch_verify(params, pairs, workers=1))
        except crypto.CryptoError:
            bad = set(range(len(indices)))
        for position in bad:
            index = indices[position]
            verdicts[index] = _strict_verdict(*jobs[index])
    return verdicts


def _strict_verdict(params: crypto.ElectionParams, context: str, ballot: crypto.Ballot) -> Verdict:
    """The strict verifier's verdict, which names the failing check."""
    try:
        crypto.verify_ballot(params, context, ballot)
    except crypto.InvalidBallot as error:
        return error.check, str(error)
    except crypto.CryptoError as error:
        return PARAMETERS, str(error)
    return None


_verifier: BallotVerifier | None = None
_verifier_lock = threading.Lock()


def verify_ballot(params: crypto.ElectionParams, context: str, ballot: crypto.Ballot) -> None:
    """Verify through this process's shared batching verifier (see the module docstring)."""
    global _verifier
    with _verifier_lock:
        if _verifier is None:
            _verifier = BallotVerifier(
                max_batch=settings.BALLOT_VERIFY_BATCH,
                processes=settings.BALLOT_VERIFY_PROCESSES,
            )
    _verifier.verify(params, context, ballot)
