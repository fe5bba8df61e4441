"""Multi-exponentiation and batch verification (serial and with worker processes), both formats."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.crypto import (
    Ballot,
    ElectionParams,
    InvalidBallot,
    ParameterError,
    batch_verify,
    encrypt_ballot,
    multi_exp,
    shutdown_workers,
    verify_ballot,
)

from .forgery import build_ballot


@given(
    pairs=st.lists(st.tuples(st.integers(0, 2**300), st.integers(0, 2**400)), max_size=40),
    modulus=st.integers(2, 2**200),
)
def test_multi_exp_matches_naive(pairs: list[tuple[int, int]], modulus: int) -> None:
    expected = 1 % modulus
    for base, exponent in pairs:
        expected = expected * pow(base, exponent, modulus) % modulus
    assert multi_exp([b for b, _ in pairs], [e for _, e in pairs], modulus) == expected


def test_multi_exp_refuses_bad_arguments() -> None:
    with pytest.raises(ParameterError):
        multi_exp([2], [-1], 7)
    with pytest.raises(ParameterError):
        multi_exp([2, 3], [1], 7)


def _choice(params: ElectionParams, i: int) -> list[int]:
    """The i-th of several valid choices: v1 one of three; v2 one of four, then yes, no or blank."""
    if params.version == 1:
        return [int(j == i % 3) for j in range(3)]
    return [int(j == i % 4) for j in range(4)] + [int(j == i % 3) for j in range(3)]


@pytest.fixture(scope="module")
def pool(any_params: ElectionParams) -> list[tuple[str, Ballot]]:
    return [
        (f"v{i}", encrypt_ballot(any_params, f"v{i}", _choice(any_params, i))) for i in range(40)
    ]


def _break(item: tuple[str, Ballot]) -> tuple[str, Ballot]:
    voter, ballot = item
    proof = ballot.count_proofs[-1]
    broken = dataclasses.replace(proof, responses=(proof.responses[0] + 1, *proof.responses[1:]))
    return voter, dataclasses.replace(ballot, count_proofs=(*ballot.count_proofs[:-1], broken))


def test_empty_and_all_good_batches(
    any_params: ElectionParams, pool: list[tuple[str, Ballot]]
) -> None:
    assert batch_verify(any_params, []) == []
    assert batch_verify(any_params, pool) == []


@pytest.mark.parametrize("bad", [[0], [39], [3, 4], [0, 13, 26, 39], list(range(0, 40, 3))])
def test_bisection_finds_exactly_the_bad_ballots(
    any_params: ElectionParams, pool: list[tuple[str, Ballot]], bad: list[int]
) -> None:
    items = [(_break(item) if i in bad else item) for i, item in enumerate(pool)]
    assert batch_verify(any_params, items) == bad


def test_cheap_checks_and_malformed_items(
    any_params: ElectionParams, pool: list[tuple[str, Ballot]]
) -> None:
    params = any_params
    items: list[object] = list(pool[:6])
    items[1] = ("someone-else", pool[1][1])  # challenge mismatch
    items[2] = ("", pool[2][1])  # invalid voter context
    items[3] = ("v3", "not a ballot")
    items[4] = ("v4",)
    assert batch_verify(params, items) == [1, 2, 3, 4]  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        batch_verify("params", [])  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        batch_verify(params, [], workers=0)


def test_worker_processes_give_the_same_answer(
    any_params: ElectionParams, pool: list[tuple[str, Ballot]]
) -> None:
    items = [(_break(item) if i in (5, 30) else item) for i, item in enumerate(pool)]
    try:
        assert batch_verify(any_params, items, workers=2) == [5, 30]
        assert batch_verify(any_params, pool, workers=2) == []
    finally:
        shutdown_workers()


def _respelled_response(item: tuple[str, Ballot], slot: int) -> tuple[str, Ballot]:
    """Slot ``slot``'s 0/1 proof with its branch-1 response changed: that equation fails."""
    voter, ballot = item
    proof = ballot.selection_proofs[slot]
    z = proof.responses[1]
    broken = dataclasses.replace(proof, responses=(proof.responses[0], z - 1 if z > 1 else z + 1))
    proofs = (*ballot.selection_proofs[:slot], broken, *ballot.selection_proofs[slot + 1 :])
    return voter, dataclasses.replace(ballot, selection_proofs=proofs)


def test_two_bad_ballots_among_a_thousand_are_found_and_named(
    any_params: ElectionParams, pool: list[tuple[str, Ballot]]
) -> None:
    params = any_params
    items = [pool[i % len(pool)] for i in range(1000)]
    # A well-formed forgery whose hashes all match: slot 0 encrypts 2 and its
    # proof claims 1. The claimed branch is off by g^e, which is 1 modulo n:
    # only the high digits base n of the batch product show it.
    plaintexts = [2] + [0] * (params.slot_count - 1)
    items[613] = ("mallory", build_ballot(params, "mallory", plaintexts, seed=613))
    items[271] = _respelled_response(items[271], 1)
    assert batch_verify(params, items) == [271, 613]
    for index, slot in ((271, 1), (613, 0)):
        with pytest.raises(InvalidBallot) as refused:
            verify_ballot(params, *items[index])
        assert (refused.value.check, refused.value.index) == ("selection_response", slot)
