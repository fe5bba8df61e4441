"""A verifier worker that dies while it holds a batch: every ballot of it is unverified.

The worker is stopped (SIGSTOP) once it holds the batch, so the batch cannot
finish before the kill whatever the machine's speed, then killed (SIGKILL).
Nothing of that batch may count as checked: not valid, not refused. A cast in
it answers 503 and stores nothing, and the next ballot goes to a fresh worker.
"""

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from elections import crypto, services, verification
from elections.verification import BallotVerifier, VerifierUnavailable

from .conftest import make_ballot
from .test_cast_http import nothing_stored, post, refused

pytestmark = pytest.mark.slow

WAIT = 60.0


def ballot_of(election, voter, selections):
    params = services.election_params(election)
    context = services.voter_context(election, voter)
    return params, context, crypto.parse_ballot(params, make_ballot(election, voter, selections))


def wait_for(condition: Callable[[], object]) -> object:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.002)
    raise AssertionError("timed out")


def worker_pid(checker: BallotVerifier) -> int:
    def pid() -> int | None:
        pids = checker.worker_pids()
        return pids[0] if pids else None

    return int(wait_for(pid))  # type: ignore[call-overload]


def batches_in_flight(checker: BallotVerifier) -> int:
    return checker.batches_in_flight()


class Cast(threading.Thread):
    """One request thread handing its ballot to the verifier."""

    def __init__(self, checker: BallotVerifier, job) -> None:
        super().__init__(daemon=True)
        self.checker, self.job = checker, job
        self.outcome: BaseException | str | None = "not run"

    def run(self) -> None:
        try:
            self.checker.verify(*self.job)
            self.outcome = None
        except BaseException as error:  # recorded for the test to judge
            self.outcome = error


@pytest.fixture
def checker(monkeypatch) -> Iterator[BallotVerifier]:
    verifier = BallotVerifier(max_batch=16, processes=1)
    monkeypatch.setattr(verification, "_verifier", verifier)
    yield verifier
    verifier.close()


def test_every_ballot_of_a_batch_whose_worker_dies_is_unverified(open_election, make_user, checker):
    election = open_election.election
    checker.verify(*ballot_of(election, make_user("early"), [1, 0, 0]))
    first = worker_pid(checker)
    os.kill(first, signal.SIGSTOP)
    # A batch the stopped worker holds keeps the verifier's one slot busy, so the
    # next ballots queue up and leave together as one batch.
    blocker = Cast(checker, ballot_of(election, make_user("blocker"), [0, 1, 0]))
    blocker.start()
    wait_for(lambda: batches_in_flight(checker) == 1)
    casts = [
        Cast(checker, ballot_of(election, make_user(f"voter{i}"), [0, 0, 1])) for i in range(6)
    ]
    for cast in casts:
        cast.start()
    wait_for(lambda: checker.queued() == len(casts))
    os.kill(first, signal.SIGKILL)
    blocker.join(WAIT)
    assert isinstance(blocker.outcome, VerifierUnavailable)

    # The queued batch goes to a fresh worker, which dies holding it.
    second = worker_pid(checker)
    assert second != first
    os.kill(second, signal.SIGSTOP)
    wait_for(lambda: batches_in_flight(checker) == 1)
    assert checker.queued() == 0
    os.kill(second, signal.SIGKILL)
    for cast in casts:
        cast.join(WAIT)
    assert [type(cast.outcome) for cast in casts] == [VerifierUnavailable] * len(casts)

    # A fresh worker checks the next ballot, and a bad one is still refused.
    checker.verify(*ballot_of(election, make_user("later"), [1, 0, 0]))
    params, _, ballot = ballot_of(election, make_user("owner"), [1, 0, 0])
    with pytest.raises(crypto.InvalidBallot):
        checker.verify(params, services.voter_context(election, make_user("thief")), ballot)


def test_a_cast_whose_worker_dies_mid_batch_is_503_and_nothing_is_stored(
    open_election, make_user, voter, login_as, checker
):
    election = open_election.election
    checker.verify(*ballot_of(election, make_user("early"), [1, 0, 0]))
    pid = worker_pid(checker)
    os.kill(pid, signal.SIGSTOP)

    def kill_once_it_holds_the_batch() -> None:
        wait_for(lambda: batches_in_flight(checker) == 1)
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_once_it_holds_the_batch, daemon=True)
    killer.start()
    client = login_as(voter)
    payload = make_ballot(election, voter, [0, 1, 0])
    with nothing_stored(election):
        refused(post(client, election, payload), 503, "not stored")
    killer.join(WAIT)

    response = post(client, election, payload)
    assert response.status_code == 201, response.content
    assert response.json()["sequence"] == 1
