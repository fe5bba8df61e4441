"""Ballot creation: randomness sources, precomputation and choice validation, both formats."""

from __future__ import annotations

import pytest

from elections.crypto import (
    DeterministicRandom,
    ElectionParams,
    ParameterError,
    SystemRandom,
    ballot_to_json,
    encrypt_ballot,
    finish_ballot,
    precompute_ballot,
    verify_ballot,
)

from .conftest import sample_choice


def test_deterministic_random_is_reproducible_and_in_range() -> None:
    first = [DeterministicRandom(b"seed").randbelow(1000) for _ in range(3)]
    assert len(set(first)) == 1
    rng = DeterministicRandom(b"seed")
    values = [rng.randbelow(1000) for _ in range(500)]
    assert all(0 <= v < 1000 for v in values) and len(set(values)) > 300
    assert DeterministicRandom(b"x").randbelow(1) == 0
    with pytest.raises(ParameterError):
        DeterministicRandom(b"x").randbelow(0)
    assert 0 <= SystemRandom().randbelow(5) < 5


def test_same_randomness_same_ballot(any_params: ElectionParams) -> None:
    choice = sample_choice(any_params)
    one = encrypt_ballot(any_params, "v", choice, rng=DeterministicRandom(b"s"))
    two = encrypt_ballot(any_params, "v", choice, rng=DeterministicRandom(b"s"))
    assert ballot_to_json(one, any_params) == ballot_to_json(two, any_params)
    assert encrypt_ballot(any_params, "v", choice) != one


def test_precomputation_serves_either_choice_once(params: ElectionParams) -> None:
    progress: list[tuple[int, int]] = []
    pre = precompute_ballot(
        params, "v", progress=lambda done, total: progress.append((done, total))
    )
    assert progress[-1] == (4, 4) and len(progress) == 4
    ballot = finish_ballot(pre, [1, 0, 0])
    verify_ballot(params, "v", ballot)
    with pytest.raises(ParameterError, match="only once"):
        finish_ballot(pre, [0, 1, 0])
    for choice in ([1, 0, 0], [0, 1, 0], [0, 0, 1]):
        verify_ballot(params, "w", finish_ballot(precompute_ballot(params, "w"), choice))


def test_v2_precomputation_counts_slots_and_questions(v2_params: ElectionParams) -> None:
    progress: list[tuple[int, int]] = []
    pre = precompute_ballot(
        v2_params, "v", progress=lambda done, total: progress.append((done, total))
    )
    assert progress == [(done, 9) for done in range(1, 10)]  # 7 slots and 2 count proofs
    verify_ballot(v2_params, "v", finish_ballot(pre, [0, 1, 1, 0, 0, 0, 1]))
    with pytest.raises(ParameterError, match="only once"):
        finish_ballot(pre, [0, 1, 1, 0, 0, 0, 1])
    for choice in ([1, 0, 0, 0, 1, 0, 0], [0, 0, 1, 1, 0, 1, 0], [0, 0, 0, 1, 0, 0, 1]):
        verify_ballot(v2_params, "w", finish_ballot(precompute_ballot(v2_params, "w"), choice))


@pytest.mark.parametrize(
    "selections",
    [
        [1, 1, 0],
        [0, 0, 0],
        [2, 0, 0],
        [-1, 1, 1],
        [1, 0],
        [1, 0, 0, 0],
        [True, 0, 0],
        "100",
        None,
        [1.0, 0, 0],
    ],
)
def test_invalid_choices_are_refused_before_any_work(
    params: ElectionParams, selections: object
) -> None:
    with pytest.raises(ParameterError):
        encrypt_ballot(params, "v", selections)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("selections", "message"),
    [
        ([1, 1, 1, 0, 1, 0, 0], "question 1: select between 1 and 2"),
        ([0, 0, 0, 0, 1, 0, 0], "question 1: select between 1 and 2"),
        ([1, 0, 0, 0, 1, 1, 0], "question 2: select between 1 and 1"),
        ([1, 0, 0, 0, 0, 0, 0], "question 2: select between 1 and 1"),
        ([1, 0, 0, 0, 1, 0, 1], "question 2: a blank vote selects nothing else"),
        ([1, 0, 0, 0, 1, 0], "expected 7 selections"),
        ([1, 0, 0, 0, 1, 0, 0, 0], "expected 7 selections"),
        ([1, 0, 0, 0, 2, 0, 0], "0 or 1"),
        ([1, 0, 0, 0, 0, 0, True], "0 or 1"),
    ],
)
def test_invalid_v2_choices_are_refused_before_any_work(
    v2_params: ElectionParams, selections: list[int], message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        encrypt_ballot(v2_params, "v", selections)


def test_bad_arguments(params: ElectionParams) -> None:
    with pytest.raises(ParameterError):
        encrypt_ballot("params", "v", [1, 0, 0])  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        precompute_ballot(params, "")
    with pytest.raises(ParameterError):
        finish_ballot("pre", [1, 0, 0])  # type: ignore[arg-type]
