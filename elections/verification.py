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

Each worker process has a thread of its own in the web process that takes a
batch from the queue, sends it down the worker's pipe and waits for the
verdicts, blocked in ``recv`` without the GIL. Between two batches the worker
thus waits for one thread of a busy web process to get the GIL, not for the
chain of threads of a process pool (submitting thread, pool manager, queue
feeder, result reader), each of which waited its turn behind the request
threads: that cost 18-45 ms per batch, a tenth of the worker's time. A worker
that died while idle is replaced before it is given a batch; one that dies
holding a batch leaves that batch unverified (neither valid nor refused).

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
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection

from django.conf import settings

from elections import crypto

log = logging.getLogger(__name__)

# Added to the verifier processes' nice value (see the module docstring).
WORKER_NICENESS = 5

# (check, message) of a refused ballot, None for a valid one: plain values, so they
# cross from the worker processes (``InvalidBallot`` does not survive pickling).
Verdict = tuple[str, str] | None
# What a worker process checks: the election, the voter's context, the ballot.
Job = tuple[crypto.ElectionParams, str, crypto.Ballot]
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
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._in_flight = 0

    def verify(self, params: crypto.ElectionParams, context: str, ballot: crypto.Ballot) -> None:
        """Return if the ballot's proofs hold; raise the ``CryptoError`` naming the failure.

        Takes a ballot as ``crypto.parse_ballot`` returned it for ``params``: its
        shape is not checked again. Raises ``VerifierUnavailable`` if the check
        itself could not run.
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
            workers, self._workers = self._workers, set()
        for worker in workers:
            worker.stop()

    def worker_pids(self) -> list[int]:
        """The process ids of the live worker processes (for monitoring and tests)."""
        with self._lock:
            return [worker.pid for worker in self._workers if worker.running()]

    def batches_in_flight(self) -> int:
        """How many batches the worker processes hold just now."""
        with self._lock:
            return self._in_flight

    def queued(self) -> int:
        """How many ballots wait for a worker."""
        return self._queue.qsize()

    def _start(self) -> None:
        with self._lock:
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            for _ in range(max(self.processes, 1) - len(self._threads)):
                thread = threading.Thread(target=self._run, name="ballot-verifier", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _take_batch(self) -> list[_Pending]:
        batch = [self._queue.get()]
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        worker: _Worker | None = None
        while True:
            batch = self._take_batch()
            if self.processes == 0:
                self._answer(batch, partial(check_batch, _jobs(batch)))
                continue
            if worker is None or not worker.usable():
                try:
                    worker = self._replace(worker)
                except Exception:  # the batch must still be answered, and this thread live on
                    log.exception("ballot verifier process could not be replaced")
                    worker = None
            self._answer(batch, partial(self._check_in, worker, _jobs(batch)))

    def _replace(self, worker: _Worker | None) -> _Worker | None:
        """A fresh worker process in place of ``worker`` (None if none can start)."""
        if worker is not None:
            with self._lock:
                self._workers.discard(worker)
            worker.stop()
            worker.close_pipe()
        try:
            fresh = _Worker()
        except Exception:  # the batch is answered as unverified, the next one tries again
            log.exception("ballot verification could not start")
            return None
        with self._lock:
            self._workers.add(fresh)
        return fresh

    def _check_in(self, worker: _Worker | None, jobs: list[Job]) -> list[Verdict]:
        if worker is None:
            raise VerifierUnavailable("no verifier process")
        with self._lock:
            self._in_flight += 1
        try:
            return worker.check(jobs)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, batch: list[_Pending], verdicts: Callable[[], list[Verdict]]) -> None:
        results: list[Verdict] = [UNVERIFIED] * len(batch)
        try:
            results = verdicts()
        except Exception:  # the waiting requests must be answered whatever happens
            log.exception("ballot verification failed")
        finally:
            for index, item in enumerate(batch):
                verdict = results[index] if index < len(results) else UNVERIFIED
                item.error = _error_of(verdict)
                item.done.set()


class _Worker:
    """One verifier process and the web process's end of its pipe.

    Only the thread that owns the worker sends and receives; ``stop`` may come
    from any thread and only signals the process, whose death that thread then
    sees as the end of the pipe.
    """

    def __init__(self) -> None:
        # "spawn" rather than fork: forking a threaded web process that holds other
        # threads' locks can deadlock the child.
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._broken = False
        self._process = context.Process(
            target=_serve, args=(child,), name="ballot-verifier", daemon=True
        )
        self._process.start()
        child.close()
        assert self._process.pid is not None
        self.pid: int = self._process.pid

    def running(self) -> bool:
        return self._process.is_alive()

    def usable(self) -> bool:
        return not self._broken and self.running()

    def check(self, jobs: list[Job]) -> list[Verdict]:
        """The verdicts of ``jobs``; raises ``OSError`` or ``EOFError`` if the process died."""
        # Until the answer arrives the pipe holds half a conversation: after any
        # failure the worker is replaced, even if its process still looks alive.
        self._broken = True
        self._connection.send(jobs)
        verdicts: list[Verdict] = self._connection.recv()
        if len(verdicts) != len(jobs):
            raise VerifierUnavailable("the verifier process answered another batch")
        self._broken = False
        return verdicts

    def stop(self) -> None:
        if self._process.exitcode is None:
            self._process.terminate()
        self._process.join(timeout=10)
        if self._process.exitcode is None:
            self._process.kill()
            self._process.join()

    def close_pipe(self) -> None:
        """Close this end of the pipe: only the owning thread, once it is done with it."""
        self._connection.close()


def _serve(connection: Connection) -> None:
    """A worker process: verdicts for each batch received, until the web process goes."""
    _lower_priority()
    while True:
        try:
            jobs = connection.recv()
        except (EOFError, OSError):
            return
        try:
            verdicts = check_batch(jobs)
        except Exception:  # this batch's verdicts are unknown; the next batch may be fine
            log.exception("ballot verification failed")
            verdicts = [UNVERIFIED] * len(jobs)
        try:
            connection.send(verdicts)
        except OSError:  # the web process died while this batch was being checked
            return


def _error_of(verdict: Verdict) -> crypto.CryptoError | VerifierUnavailable | None:
    if verdict is None:
        return None
    check, message = verdict
    if verdict == UNVERIFIED:
        return VerifierUnavailable(message)
    if check == PARAMETERS:
        return crypto.ParameterError(message)
    return crypto.InvalidBallot(message, check=check)


def _jobs(batch: Sequence[_Pending]) -> list[Job]:
    return [(item.params, item.context, item.ballot) for item in batch]


def _lower_priority() -> None:
    os.nice(WORKER_NICENESS)


def check_batch(jobs: Sequence[Job]) -> list[Verdict]:
    """Verdicts for (params, voter context, parsed ballot) jobs, in order: ``None`` if valid.

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
            bad = set(crypto.batch_verify(params, pairs, workers=1, parsed=True))
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
