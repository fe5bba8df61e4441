"""Casting through elections.services: who may cast, what is refused, and the tally invariant."""

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from django.db import models

from accounts.models import Role, User
from elections import ballot_box, concurrency, crypto, services
from elections.crypto.encoding import int_to_hex
from elections.models import Ballot, Election, EncryptedTally, RollEntry, RollMode

from .conftest import TEST_KEY_BITS


def tally_state(election: Election) -> tuple[list[str], int, int]:
    tally = EncryptedTally.objects.get(election=election)
    return list(tally.ciphertexts), tally.ballot_count, tally.version


def board(election: Election) -> list[tuple[int, str]]:
    return list(election.ballots.order_by("sequence").values_list("sequence", "tracker"))


@pytest.fixture
def unchanged() -> Callable[[Election], Any]:
    """Assert that nothing of an election's board or tally moved inside the block."""

    class Guard:
        def __init__(self, election: Election) -> None:
            self.election = election

        def __enter__(self) -> None:
            self.before = (board(self.election), tally_state(self.election))

        def __exit__(self, *exc: object) -> None:
            assert (board(self.election), tally_state(self.election)) == self.before

    return Guard


def open_with_key(election: Election, actor: User) -> bytes:
    key_file = services.generate_keys(election=election, actor=actor, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=actor)
    return key_file


# --- Who may cast -----------------------------------------------------------------


def test_an_eligible_voter_casts_once_and_gets_sequence_one(open_election, voter, ballot_for):
    election = open_election.election
    stored = services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [0, 1, 0])
    )
    assert stored.sequence == 1
    assert stored.voter_context == services.voter_context(election, voter)
    assert board(election) == [(1, stored.tracker)]
    assert tally_state(election)[1:] == (1, 1)


@pytest.mark.parametrize("persona", ["candidate", "admin_user", "pending_voter"])
def test_accounts_that_are_not_approved_voters_are_refused(
    request, persona, open_election, ballot_for, unchanged
):
    user = request.getfixturevalue(persona)
    election = open_election.election
    with unchanged(election), pytest.raises(services.NotEligible):
        services.cast_ballot(
            election=election, voter=user, payload=ballot_for(election, user, [1, 0, 0])
        )


def test_inactive_voter_is_refused(open_election, make_user, ballot_for, unchanged):
    gone = make_user("ivan_inactive", Role.VOTER, is_active=False)
    election = open_election.election
    with unchanged(election), pytest.raises(services.NotEligible):
        services.cast_ballot(
            election=election, voter=gone, payload=ballot_for(election, gone, [1, 0, 0])
        )


def test_explicit_roll_admits_only_listed_voters(
    make_election, admin_user, voter, make_user, ballot_for, unchanged
):
    outsider = make_user("oscar_outsider", Role.VOTER)
    election = make_election(slug="board", roll_mode=RollMode.EXPLICIT)
    RollEntry.objects.create(election=election, voter=voter)
    open_with_key(election, admin_user)

    with unchanged(election), pytest.raises(services.NotEligible):
        services.cast_ballot(
            election=election, voter=outsider, payload=ballot_for(election, outsider, [1, 0, 0])
        )
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
    )
    assert election.ballots.count() == 1
    assert services.eligible_voter_count(election) == 1


def test_second_ballot_of_the_same_voter_is_refused(open_election, voter, ballot_for, unchanged):
    election = open_election.election
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
    )
    with unchanged(election), pytest.raises(services.AlreadyVoted) as refused:
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [0, 0, 1])
        )
    assert refused.value.status_code == 409


def test_resubmitting_the_identical_ballot_is_refused(open_election, voter, ballot_for, unchanged):
    election = open_election.election
    payload = ballot_for(election, voter, [1, 0, 0])
    services.cast_ballot(election=election, voter=voter, payload=payload)
    with unchanged(election), pytest.raises(services.AlreadyVoted):
        services.cast_ballot(election=election, voter=voter, payload=payload)


# --- What is refused ------------------------------------------------------------


def test_ballot_copied_from_another_voter_is_refused(
    open_election, voter, make_user, ballot_for, unchanged
):
    copier = make_user("cora_copier", Role.VOTER)
    election = open_election.election
    original = ballot_for(election, voter, [0, 0, 1])
    services.cast_ballot(election=election, voter=voter, payload=original)
    with unchanged(election), pytest.raises(services.InvalidBallotError) as refused:
        services.cast_ballot(election=election, voter=copier, payload=original)
    assert refused.value.status_code == 400
    assert not Ballot.objects.filter(voter=copier).exists()


def test_ballot_made_for_another_voter_is_refused_before_that_voter_casts(
    open_election, voter, make_user, ballot_for, unchanged
):
    thief = make_user("tom_thief", Role.VOTER)
    election = open_election.election
    with unchanged(election), pytest.raises(services.InvalidBallotError):
        services.cast_ballot(
            election=election, voter=thief, payload=ballot_for(election, voter, [1, 0, 0])
        )
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
    )


def test_ballot_for_another_election_is_refused(
    open_election, make_election, admin_user, voter, ballot_for, unchanged
):
    other = make_election(slug="other-2026")
    open_with_key(other, admin_user)
    election = open_election.election
    with unchanged(election), unchanged(other), pytest.raises(services.InvalidBallotError):
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(other, voter, [1, 0, 0])
        )


def tamper(payload: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(payload)
    change(document)
    return json.dumps(document)


def flip_last_digit(value: str) -> str:
    return value[:-1] + ("1" if value[-1] != "1" else "2")


def first_question(document: dict[str, Any]) -> dict[str, Any]:
    question: dict[str, Any] = document["questions"][0]
    return question


TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "ciphertext digit": lambda d: first_question(d)["ciphertexts"].__setitem__(
        0, flip_last_digit(first_question(d)["ciphertexts"][0])
    ),
    "ciphertexts swapped": lambda d: first_question(d)["ciphertexts"].reverse(),
    "proof challenge": lambda d: first_question(d)["selection_proofs"][1]["challenges"].__setitem__(
        0, flip_last_digit(first_question(d)["selection_proofs"][1]["challenges"][0])
    ),
    "count proof response": lambda d: first_question(d)["count_proof"]["responses"].__setitem__(
        0, flip_last_digit(first_question(d)["count_proof"]["responses"][0])
    ),
    "proofs swapped": lambda d: first_question(d)["selection_proofs"].reverse(),
    "proof dropped": lambda d: first_question(d)["selection_proofs"].pop(),
    "extra voter_id field": lambda d: d.__setitem__("voter_id", "someone-else"),
    "ciphertext zero": lambda d: first_question(d)["ciphertexts"].__setitem__(0, "0"),
    "ciphertext as number": lambda d: first_question(d)["ciphertexts"].__setitem__(0, 12345),
    "ciphertext null": lambda d: first_question(d)["ciphertexts"].__setitem__(0, None),
}


@pytest.mark.parametrize("how", sorted(TAMPERINGS))
def test_tampered_ballot_is_refused_and_nothing_changes(
    how, open_election, voter, ballot_for, unchanged
):
    election = open_election.election
    payload = tamper(ballot_for(election, voter, [0, 1, 0]), TAMPERINGS[how])
    with unchanged(election), pytest.raises(services.InvalidBallotError):
        services.cast_ballot(election=election, voter=voter, payload=payload)
    # The refusal used up nothing: the voter can still cast a good ballot.
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [0, 1, 0])
    )


@pytest.mark.parametrize(
    "payload", ["", "null", "[]", "{", "x" * 100, b"\xff\xfe", '{"format": "evoting/ballot/v1"}']
)
def test_garbage_payload_is_refused(payload, open_election, voter, unchanged):
    election = open_election.election
    with unchanged(election), pytest.raises(services.InvalidBallotError):
        services.cast_ballot(election=election, voter=voter, payload=payload)


def test_oversized_payload_is_refused_before_parsing(open_election, voter, unchanged):
    election = open_election.election
    huge = '{"format": "evoting/ballot/v2", "questions": [{"ciphertexts": ["' + "f" * (1 << 20)
    huge += '"]}]}'
    with unchanged(election), pytest.raises(services.InvalidBallotError):
        services.cast_ballot(election=election, voter=voter, payload=huge)


def encryption_of(value: int, params: crypto.ElectionParams) -> int:
    n, n_square = params.n, params.n_square
    return (1 + value * n) * pow(7, n, n_square) % n_square


@pytest.mark.parametrize("value", [2, 5, -1])
def test_ballot_encrypting_a_value_other_than_zero_or_one_is_refused(
    value, open_election, voter, ballot_for, unchanged
):
    election = open_election.election
    params = services.election_params(election)
    forged = encryption_of(value % params.n, params)
    payload = tamper(
        ballot_for(election, voter, [1, 0, 0]),
        lambda d: first_question(d)["ciphertexts"].__setitem__(0, int_to_hex(forged)),
    )
    with unchanged(election), pytest.raises(services.InvalidBallotError):
        services.cast_ballot(election=election, voter=voter, payload=payload)


# --- The tally invariant --------------------------------------------------------


def decrypted(tally: Sequence[int], key_file: bytes, election: Election) -> list[int]:
    params = services.election_params(election)
    private_key = crypto.load_private_key(
        key_file,
        passphrase=None,
        expected_public_key=params.public_key,
        election_id=params.election_id,
    )
    return [crypto.decrypt_with_proof(private_key, c)[0] for c in tally]


def test_running_tally_equals_product_of_ballots_and_decrypts_to_the_sum(
    make_election, admin_user, make_user, ballot_for
):
    election = make_election(slug="multi", candidates=("A", "B", "C", "D"), max_selections=2)
    key_file = open_with_key(election, admin_user)
    choices = [[1, 0, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1], [0, 0, 0, 1], [1, 1, 0, 0]]
    for number, selections in enumerate(choices):
        someone = make_user(f"voter{number}", Role.VOTER)
        services.cast_ballot(
            election=election, voter=someone, payload=ballot_for(election, someone, selections)
        )
        params = services.election_params(election)
        product, count = services.product_of_ballots(election, params)
        ciphertexts, ballot_count, _ = tally_state(election)
        assert [int(c, 16) for c in ciphertexts] == product
        assert ballot_count == count == number + 1

    assert [s for s, _ in board(election)] == [1, 2, 3, 4, 5]
    assert decrypted(product, key_file, election) == [sum(c) for c in zip(*choices, strict=True)]


# --- Crash safety and the compare-and-swap ---------------------------------------


def assert_tally_is_product_of_board(election: Election) -> tuple[list[int], int]:
    params = services.election_params(election)
    product, count = services.product_of_ballots(election, params)
    ciphertexts, ballot_count, _ = tally_state(election)
    assert ([int(c, 16) for c in ciphertexts], ballot_count) == (product, count)
    return product, count


@pytest.fixture
def ballot_saved_hook(monkeypatch) -> Iterator[Callable[[Callable[[], None]], None]]:
    """Run a real database write right after a batch of ballots is inserted, inside the cast."""
    hooks: list[Callable[[], None]] = []
    real_insert = ballot_box._insert

    def insert_then_hooks(*args: Any) -> Any:
        stored = real_insert(*args)
        for hook in hooks:
            hook()
        return stored

    monkeypatch.setattr(ballot_box, "_insert", insert_then_hooks)
    yield hooks.append


def bump_tally_version(election: Election) -> None:
    EncryptedTally.objects.filter(election=election).update(version=models.F("version") + 1)


def test_a_concurrent_tally_write_makes_the_cast_retry_and_count_once(
    open_election, voter, ballot_for, ballot_saved_hook
):
    election = open_election.election
    interfered = []

    def competing_writer_once() -> None:
        if not interfered:
            interfered.append(True)
            bump_tally_version(election)

    ballot_saved_hook(competing_writer_once)
    stored = services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [0, 0, 1])
    )
    assert interfered == [True]
    assert board(election) == [(1, stored.tracker)]
    product, count = assert_tally_is_product_of_board(election)
    # One version step for the competing write, one for the fold that retried after it.
    assert (count, tally_state(election)[2]) == (1, 2)
    assert decrypted(product, open_election.key_file, election) == [0, 0, 1]


@pytest.mark.parametrize("when", ["before the tally update", "after the tally update"])
def test_a_fault_during_the_cast_leaves_no_ballot_outside_the_tally(
    when, monkeypatch, open_election, voter, ballot_for, unchanged
):
    election = open_election.election
    real_compare_and_swap = concurrency.compare_and_swap

    def failing(*args: Any, **kwargs: Any) -> None:
        if when == "after the tally update":
            real_compare_and_swap(*args, **kwargs)
        raise OSError("disk I/O error")

    # The ballot box binds the name at import; patch the reference the cast actually calls.
    monkeypatch.setattr(ballot_box, "compare_and_swap", failing)
    with unchanged(election), pytest.raises(OSError, match="disk"):
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
        )
    monkeypatch.undo()
    stored = services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
    )
    assert stored.sequence == 1
    assert_tally_is_product_of_board(election)


class ProcessKilled(BaseException):
    """The worker died: nothing after this point of the cast runs."""


@pytest.fixture
def killed_after_insert(monkeypatch) -> Callable[[], None]:
    """Make the next cast die after its ballot insert, on a database without transactions."""

    def arm() -> None:
        def die(*args: Any, **kwargs: Any) -> None:
            raise ProcessKilled

        # A standalone MongoDB has no transactions: the insert stays, as it would there.
        monkeypatch.setattr(ballot_box, "atomic_write", contextlib.nullcontext)
        monkeypatch.setattr(ballot_box, "compare_and_swap", die)

    return arm


def test_a_ballot_left_unfolded_by_a_dead_worker_is_counted_by_the_next_cast(
    monkeypatch, killed_after_insert, open_election, voter, make_user, ballot_for
):
    election = open_election.election
    killed_after_insert()
    with pytest.raises(ProcessKilled):
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [0, 1, 0])
        )
    monkeypatch.undo()
    assert [s for s, _ in board(election)] == [1]
    assert tally_state(election)[1] == 0  # stored, not yet folded

    with pytest.raises(services.AlreadyVoted):
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
        )
    other = make_user("olga_other", Role.VOTER)
    services.cast_ballot(
        election=election, voter=other, payload=ballot_for(election, other, [0, 0, 1])
    )
    product, count = assert_tally_is_product_of_board(election)
    assert count == 2
    assert decrypted(product, open_election.key_file, election) == [0, 1, 1]


def test_a_ballot_left_unfolded_by_a_dead_worker_is_counted_at_the_close(
    monkeypatch, killed_after_insert, open_election, admin_user, voter, ballot_for
):
    election = open_election.election
    killed_after_insert()
    with pytest.raises(ProcessKilled):
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [0, 1, 0])
        )
    monkeypatch.undo()
    services.close_election(election=election, actor=admin_user)
    assert_tally_is_product_of_board(election)
    report = services.decrypt_tally(
        election=election, key_file=open_election.key_file, passphrase=None, actor=admin_user
    )
    assert (report.ballots, [c.count for c in report.counts]) == (1, [0, 1, 0])


def test_retry_converges_when_a_competing_write_wins_the_race(open_election):
    tally = EncryptedTally.objects.get(election=open_election.election)
    rows = EncryptedTally.objects.filter(pk=tally.pk)
    attempts = []

    def add(amount: int, competitor: Callable[[], None] | None) -> None:
        seen = rows.get()
        attempts.append(amount)
        if competitor is not None:
            competitor()
        with concurrency.atomic_write():
            concurrency.compare_and_swap(
                rows, seen.version, ballot_count=seen.ballot_count + amount
            )

    def competing_write() -> None:
        concurrency.run_with_retries(lambda: add(10, None))

    competitor: list[Callable[[], None]] = [competing_write]
    concurrency.run_with_retries(lambda: add(1, competitor.pop() if competitor else None))

    final = rows.get()
    # The first attempt lost to the competitor and was retried from a fresh read.
    assert attempts == [1, 10, 1]
    assert (final.ballot_count, final.version) == (11, 2)


def test_retry_gives_up_after_the_limit(open_election):
    rows = EncryptedTally.objects.filter(election=open_election.election)
    calls = []

    def always_stale() -> None:
        calls.append(1)
        with concurrency.atomic_write():
            concurrency.compare_and_swap(rows, 999, ballot_count=5)

    with pytest.raises(concurrency.WriteConflict):
        concurrency.run_with_retries(always_stale)
    assert len(calls) == concurrency.MAX_ATTEMPTS
    assert rows.get().ballot_count == 0
