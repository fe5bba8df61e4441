"""The batching verifier used at cast time, in a thread and in worker processes."""

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from elections import crypto, services, verification
from elections.models import Ballot, Candidate, Election
from elections.verification import BallotVerifier, VerifierUnavailable, check_batch

from .conftest import make_ballot


@pytest.fixture(params=[0, 2], ids=["in-thread", "in-processes"])
def verifier(request) -> Iterator[BallotVerifier]:
    checker = BallotVerifier(max_batch=8, processes=request.param)
    yield checker
    checker.close()


def ballot_of(election, voter, selections):
    params = services.election_params(election)
    context = services.voter_context(election, voter)
    return params, context, crypto.parse_ballot(params, make_ballot(election, voter, selections))


def test_valid_ballots_are_accepted_from_many_threads_at_once(open_election, make_user, verifier):
    election = open_election.election
    jobs = [ballot_of(election, make_user(f"voter{i}"), [1, 0, 0]) for i in range(6)]
    errors: list[crypto.CryptoError] = []

    def cast(job):
        try:
            verifier.verify(*job)
        except crypto.CryptoError as error:
            errors.append(error)

    threads = [threading.Thread(target=cast, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


def test_a_ballot_bound_to_another_voter_is_refused_naming_the_check(
    open_election, voter, make_user, verifier
):
    election = open_election.election
    params, _, ballot = ballot_of(election, voter, [0, 1, 0])
    other = services.voter_context(election, make_user("mallory"))
    with pytest.raises(crypto.InvalidBallot) as refused:
        verifier.verify(params, other, ballot)
    assert refused.value.check == "selection_challenge"
    # The valid ballot still goes through afterwards.
    verifier.verify(*ballot_of(election, voter, [0, 1, 0]))


def test_a_bad_ballot_in_a_batch_is_the_only_one_refused(open_election, voter, make_user):
    election = open_election.election
    good = [ballot_of(election, make_user(f"voter{i}"), [0, 0, 1]) for i in range(3)]
    params, _, stolen = good[0]
    replayed = (params, services.voter_context(election, voter), stolen)
    verdicts = check_batch([good[0], replayed, good[1], good[2]])
    assert verdicts[0] is None and verdicts[2] is None and verdicts[3] is None
    assert verdicts[1] is not None and verdicts[1][0] == "selection_challenge"


def test_a_batch_of_two_elections_is_checked_against_each(
    open_election, make_election, admin_user, voter
):
    other = make_election(slug="other-2026")
    services.generate_keys(election=other, actor=admin_user, bits=1024)
    services.open_election(election=other, actor=admin_user)
    first = ballot_of(open_election.election, voter, [1, 0, 0])
    second = ballot_of(other, voter, [0, 1, 0])
    crossed = (second[0], second[1], first[2])
    assert check_batch([first, second, crossed])[:2] == [None, None]
    assert check_batch([crossed])[0] is not None


# --- When the check itself cannot run ------------------------------------------------


def kill_workers(checker: BallotVerifier) -> None:
    pids = checker.worker_pids()
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def die_with_the_next_batch(checker: BallotVerifier) -> threading.Thread:
    """Stop the worker, then kill it once it holds the next batch (whatever the machine's speed)."""
    [pid] = checker.worker_pids()
    os.kill(pid, signal.SIGSTOP)

    def kill_once_it_holds_the_batch() -> None:
        deadline = time.monotonic() + 60
        while checker.batches_in_flight() == 0 and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_once_it_holds_the_batch, daemon=True)
    killer.start()
    return killer


@pytest.fixture
def process_verifier(monkeypatch) -> Iterator[BallotVerifier]:
    checker = BallotVerifier(max_batch=8, processes=1)
    monkeypatch.setattr(verification, "_verifier", checker)
    yield checker
    checker.close()


def test_a_worker_that_died_while_idle_is_replaced_before_the_next_batch(
    open_election, voter, make_user, process_verifier
):
    election = open_election.election
    process_verifier.verify(*ballot_of(election, make_user("first"), [1, 0, 0]))
    [first] = process_verifier.worker_pids()
    kill_workers(process_verifier)
    # Nobody was waiting on the dead worker, so nobody is asked to send again.
    process_verifier.verify(*ballot_of(election, voter, [1, 0, 0]))
    [second] = process_verifier.worker_pids()
    assert second != first


def test_a_worker_that_cannot_be_replaced_leaves_its_batch_unverified_not_hanging(
    open_election, voter, make_user, process_verifier, monkeypatch
):
    election = open_election.election
    process_verifier.verify(*ballot_of(election, make_user("first"), [1, 0, 0]))
    kill_workers(process_verifier)

    def cannot_stop(worker) -> None:
        raise OSError("cannot reap the process")

    stop = verification._Worker.stop
    monkeypatch.setattr(verification._Worker, "stop", cannot_stop)
    outcome: list[BaseException | None] = []

    def cast() -> None:
        try:
            process_verifier.verify(*ballot_of(election, voter, [1, 0, 0]))
            outcome.append(None)
        except BaseException as error:  # recorded for the test to judge
            outcome.append(error)

    caster = threading.Thread(target=cast, daemon=True)
    caster.start()
    caster.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], VerifierUnavailable)
    monkeypatch.setattr(verification._Worker, "stop", stop)
    # The verifier's thread lived on: the next ballot is checked by a fresh worker.
    process_verifier.verify(*ballot_of(election, voter, [1, 0, 0]))


def test_a_dead_worker_is_not_a_refusal_and_a_fresh_one_takes_over(
    open_election, voter, make_user, process_verifier
):
    election = open_election.election
    process_verifier.verify(*ballot_of(election, make_user("first"), [1, 0, 0]))
    killer = die_with_the_next_batch(process_verifier)
    with pytest.raises(VerifierUnavailable):
        process_verifier.verify(*ballot_of(election, voter, [1, 0, 0]))
    killer.join(60)
    process_verifier.verify(*ballot_of(election, voter, [1, 0, 0]))


def test_the_voter_is_asked_to_send_again_and_nothing_is_counted_against_them(
    open_election, voter, make_user, process_verifier
):
    election = open_election.election
    payload = make_ballot(election, voter, [0, 0, 1])
    for attempt in range(services.REFUSED_BALLOT_LIMIT + 1):
        # A fresh worker each time, which then dies holding the voter's ballot.
        process_verifier.verify(*ballot_of(election, make_user(f"other{attempt}"), [1, 0, 0]))
        killer = die_with_the_next_batch(process_verifier)
        with pytest.raises(services.BallotBoxBusy):
            services.cast_ballot(election=election, voter=voter, payload=payload)
        killer.join(60)
    assert not Ballot.objects.filter(election=election).exists()
    stored = services.cast_ballot(election=election, voter=voter, payload=payload)
    assert stored.sequence == 1


# --- The ballot's candidates, read once per opening -----------------------------------


def test_an_open_election_reads_its_candidates_once(open_election, django_assert_num_queries):
    election = open_election.election
    first = services.election_params(election)
    with django_assert_num_queries(0):
        assert services.election_params(election) == first


def test_a_reopened_election_has_the_candidates_of_its_new_opening(open_election, admin_user):
    election = open_election.election
    before = services.election_params(election).option_ids
    services.reset_election(election=election, actor=admin_user)
    Candidate.objects.filter(election=election, position=3).delete()
    services.generate_keys(election=election, actor=admin_user, bits=1024)
    services.open_election(election=election, actor=admin_user)
    after = services.election_params(Election.objects.get(pk=election.pk)).option_ids
    assert after == before[:2]


def test_a_draft_reads_its_candidates_every_time(draft_election, admin_user):
    services.generate_keys(election=draft_election, actor=admin_user, bits=1024)
    assert len(services.election_params(draft_election).option_ids) == 3
    Candidate.objects.create(
        election=draft_election, question=draft_election.questions.get(), position=4, name="Barbara"
    )
    assert len(services.election_params(draft_election).option_ids) == 4
    draft_election.questions.update(title="Who should chair?")
    assert services.election_params(draft_election).questions[0].title == "Who should chair?"
