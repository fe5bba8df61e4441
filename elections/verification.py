"""Checking ballot proofs at cast time, batched across concurrent requests.

Checking one ballot's proofs strictly costs about 2k+1 exponentiations by n;
checking a batch with the small-exponent test costs a fraction of one per ballot
(see ``elections.crypto.batch``). A cast must know its ballot is valid before it
is stored, so batching happens between requests that are in flight at the same
moment: each request hands its ballot to this process's verifier thread and waits;
the thread takes every ballot queued so far as one batch. With one request at a
time the batch is that one ballot (no added wait); under load batches grow by
themselves. A batch that fails is bisected by ``batch_verify``, and each bad
ballot is then checked strictly so its refusal names the failing check.

Both verifiers obey the same acceptance rule, so batching changes the cost, not
which ballots are accepted.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings

from elections import crypto

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Pending:
    params: crypto.ElectionParams
    context: str
    ballot: crypto.Ballot
    done: threading.Event = field(default_factory=threading.Event)
    error: crypto.CryptoError | None = None


class BallotVerifier:
    """Verifies ballots for the request threads of one process, in natural batches."""

    def __init__(self, *, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def verify(self, params: crypto.ElectionParams, context: str, ballot: crypto.Ballot) -> None:
        """Return if the ballot's proofs hold; raise the ``CryptoError`` naming the failure."""
        if self.max_batch <= 1:
            crypto.verify_ballot(params, context, ballot)
            return
        item = _Pending(params, context, ballot)
        self._start()
        self._queue.put(item)
        item.done.wait()
        if item.error is not None:
            raise item.error

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="ballot-verifier", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._check(batch)
            except Exception:  # the waiting requests must be answered whatever happens
                log.exception("ballot verification failed")
                for item in batch:
                    if not item.done.is_set():
                        item.error = crypto.CryptoError("the ballot could not be verified")
                        item.done.set()

    @staticmethod
    def _check(batch: list[_Pending]) -> None:
        by_election: dict[crypto.ElectionParams, list[_Pending]] = defaultdict(list)
        for item in batch:
            by_election[item.params].append(item)
        for params, items in by_election.items():
            try:
                pairs = [(i.context, i.ballot) for i in items]
                bad = set(crypto.batch_verify(params, pairs, workers=1))
            except crypto.CryptoError:
                bad = set(range(len(items)))
            for index, item in enumerate(items):
                if index in bad:
                    item.error = _strict_error(item)
                item.done.set()


def _strict_error(item: _Pending) -> crypto.CryptoError | None:
    """The strict verifier's verdict, which names the failing check."""
    try:
        crypto.verify_ballot(item.params, item.context, item.ballot)
    except crypto.CryptoError as error:
        return error
    return None


_verifier: BallotVerifier | None = None
_verifier_lock = threading.Lock()


def verify_ballot(params: crypto.ElectionParams, context: str, ballot: crypto.Ballot) -> None:
    """Verify through this process's shared batching verifier (see the module docstring)."""
    global _verifier
    with _verifier_lock:
        if _verifier is None:
            _verifier = BallotVerifier(max_batch=settings.BALLOT_VERIFY_BATCH)
    _verifier.verify(params, context, ballot)
