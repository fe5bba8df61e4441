"""Properties of format v2 over random elections: honest ballots pass, cheats fail both verifiers.

Each example is a random election (1 to 3 questions of 1 to 4 options,
random bounds and blank flags, see ``strategies``) under the 512-bit test
key, and a random valid choice in it. Every cheat below must be refused by
``verify_ballot``, with the failing check named, and by ``batch_verify``.
Cheats that no one can prove (an option worth 2 or -1, an answer outside
the rules) come with the best proofs a forger can make: well formed, with
matching challenges, so the refusal comes from the proof equations.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.crypto import (
    Ballot,
    ElectionParams,
    OptionParams,
    ballot_to_json,
    ballot_tracker,
    batch_verify,
    encrypt_ballot,
    parse_ballot,
)
from elections.crypto.ballots import check_shape
from elections.crypto.errors import InvalidBallot

from .conftest import KeyPair
from .forgery import build_ballot
from .strategies import ElectionCase, answer, election
from .verdicts import assert_accepted, assert_refused_by_the_equations, assert_rejected

VOTER = "vc1-00112233445566778899aabbccddeeff00112233"
SEEDS = st.integers(0, 2**32)
T = TypeVar("T")


def _honest(case: ElectionCase, keypair: KeyPair) -> tuple[ElectionParams, Ballot]:
    params = case.params(keypair[0])
    return params, encrypt_ballot(params, VOTER, list(case.choice))


# --- honest ballots -----------------------------------------------------------------


@pytest.mark.slow
@given(case=election(), data=st.data())
def test_honest_ballots_pass_both_verifiers(
    keypair: KeyPair, case: ElectionCase, data: st.DataObject
) -> None:
    params, ballot = _honest(case, keypair)
    assert_accepted(params, VOTER, ballot)
    assert parse_ballot(params, ballot_to_json(ballot, params)) == ballot
    others = [
        [value for spec in params.questions for value in data.draw(answer(spec))] for _ in range(3)
    ]
    items = [(f"voter-{i}", encrypt_ballot(params, f"voter-{i}", c)) for i, c in enumerate(others)]
    assert batch_verify(params, [(VOTER, ballot), *items]) == []


@given(case=election(), seed=SEEDS)
def test_the_independent_prover_makes_ballots_both_verifiers_accept(
    keypair: KeyPair, case: ElectionCase, seed: int
) -> None:
    params = case.params(keypair[0])
    assert_accepted(params, VOTER, build_ballot(params, VOTER, case.choice, seed=seed))


# --- answers outside the rules, with the best proofs a forger has ---------------------


@pytest.mark.slow
@given(case=election(), data=st.data(), seed=SEEDS)
def test_an_option_worth_two_or_minus_one_is_refused_by_its_proof(
    keypair: KeyPair, case: ElectionCase, data: st.DataObject, seed: int
) -> None:
    params, honest = _honest(case, keypair)
    slot = data.draw(st.integers(0, params.slot_count - 1), label="slot")
    value = data.draw(st.sampled_from((2, params.n - 1)), label="value")
    claimed = data.draw(st.sampled_from((0, 1)), label="claimed")
    plaintexts = list(case.choice)
    plaintexts[slot] = value
    claims = [claimed if i == slot else m for i, m in enumerate(plaintexts)]
    ballot = build_ballot(params, VOTER, plaintexts, claimed=claims, seed=seed)
    assert_refused_by_the_equations(
        params, VOTER, ballot, check="selection_response", index=slot, honest=honest
    )


def _with_answer(case: ElectionCase, params: ElectionParams, answer: list[int]) -> list[int]:
    start = params.offsets[case.target]
    plaintexts = list(case.choice)
    plaintexts[start : start + len(answer)] = answer
    return plaintexts


def _chosen(options: int, count: int, order: list[int]) -> list[int]:
    return [int(i in order[:count]) for i in range(options)]


@pytest.mark.slow
@given(case=election(need="over"), data=st.data(), seed=SEEDS)
def test_a_question_over_its_maximum_is_refused_by_its_count_proof(
    keypair: KeyPair, case: ElectionCase, data: st.DataObject, seed: int
) -> None:
    params, honest = _honest(case, keypair)
    spec = params.questions[case.target]
    options = len(spec.options)
    count = data.draw(st.integers(spec.max_selections + 1, options), label="count")
    order = data.draw(st.permutations(range(options)), label="order")
    answer = _chosen(options, count, order) + ([0] if spec.blank else [])
    ballot = build_ballot(params, VOTER, _with_answer(case, params, answer), seed=seed)
    assert_refused_by_the_equations(
        params, VOTER, ballot, check="count_response", index=case.target, honest=honest
    )


@pytest.mark.slow
@given(case=election(need="under"), data=st.data(), seed=SEEDS)
def test_a_question_under_its_minimum_is_refused_by_its_count_proof(
    keypair: KeyPair, case: ElectionCase, data: st.DataObject, seed: int
) -> None:
    params, honest = _honest(case, keypair)
    spec = params.questions[case.target]
    options = len(spec.options)
    count = data.draw(st.integers(0, spec.min_selections - 1), label="count")
    order = data.draw(st.permutations(range(options)), label="order")
    answer = _chosen(options, count, order) + ([0] if spec.blank else [])
    ballot = build_ballot(params, VOTER, _with_answer(case, params, answer), seed=seed)
    assert_refused_by_the_equations(
        params, VOTER, ballot, check="count_response", index=case.target, honest=honest
    )


@pytest.mark.slow
@given(case=election(need="blank"), data=st.data(), seed=SEEDS)
def test_a_blank_vote_with_a_choice_is_refused_by_its_count_proof(
    keypair: KeyPair, case: ElectionCase, data: st.DataObject, seed: int
) -> None:
    params, honest = _honest(case, keypair)
    options = len(params.questions[case.target].options)
    count = data.draw(st.integers(1, options), label="count")
    order = data.draw(st.permutations(range(options)), label="order")
    answer = [*_chosen(options, count, order), 1]
    ballot = build_ballot(params, VOTER, _with_answer(case, params, answer), seed=seed)
    assert_refused_by_the_equations(
        params, VOTER, ballot, check="count_response", index=case.target, honest=honest
    )


# --- valid ballots in the wrong place ---------------------------------------------------


@given(case=election())
def test_a_ballot_for_another_election_or_key_is_refused(
    keypair: KeyPair, other_keypair: KeyPair, case: ElectionCase
) -> None:
    ballot = _honest(case, keypair)[1]
    other_election = case.params(keypair[0], election_id="prop-election-2")
    assert assert_rejected(other_election, VOTER, ballot).check == "selection_challenge"
    other_key = case.params(other_keypair[0])
    try:
        check_shape(other_key, ballot)
        expected = "selection_challenge"
    except InvalidBallot:
        expected = "shape"  # some element is out of range, or not invertible, for the other n
    assert assert_rejected(other_key, VOTER, ballot).check == expected


def _swap(items: tuple[T, ...], first: int, second: int) -> tuple[T, ...]:
    swapped = list(items)
    swapped[first], swapped[second] = swapped[second], swapped[first]
    return tuple(swapped)


@given(case=election(min_questions=2), data=st.data())
def test_a_selection_proof_moved_to_another_question_is_refused(
    keypair: KeyPair, case: ElectionCase, data: st.DataObject
) -> None:
    params, ballot = _honest(case, keypair)
    first, second = data.draw(st.permutations(range(len(params.questions))), label="questions")[:2]
    slots = [
        data.draw(st.integers(start, start + params.questions[q].width - 1), label="slot")
        for q, start in ((first, params.offsets[first]), (second, params.offsets[second]))
    ]
    moved = dataclasses.replace(ballot, selection_proofs=_swap(ballot.selection_proofs, *slots))
    error = assert_rejected(params, VOTER, moved)
    assert (error.check, error.index) == ("selection_challenge", min(slots))


def _with_twin(case: ElectionCase) -> ElectionCase:
    """The election with a copy of its target question appended, answered the same way."""
    spec = case.questions[case.target]
    twin = dataclasses.replace(
        spec,
        options=tuple(
            OptionParams("twin-" + option.id, option.name + " (bis)", option.affiliation)
            for option in spec.options
        ),
        title=spec.title + " (bis)",
    )
    start = sum(question.width for question in case.questions[: case.target])
    answer = case.choice[start : start + spec.width]
    return ElectionCase((*case.questions, twin), case.choice + answer, case.target)


@given(case=election(max_questions=2))
def test_count_proofs_swapped_between_two_questions_are_refused(
    keypair: KeyPair, case: ElectionCase
) -> None:
    twins = _with_twin(case)
    params, ballot = _honest(twins, keypair)
    last = len(params.questions) - 1
    assert params.questions[case.target].count_values == params.questions[last].count_values
    swapped = dataclasses.replace(
        ballot, count_proofs=_swap(ballot.count_proofs, case.target, last)
    )
    error = assert_rejected(params, VOTER, swapped)
    assert (error.check, error.index) == ("count_challenge", case.target)
    # Moving the whole answer (ciphertexts and every proof) fails too: the statement changes.
    start, width = params.offsets[case.target], params.questions[case.target].width
    order = list(range(params.slot_count))
    order[start : start + width], order[-width:] = order[-width:], order[start : start + width]
    moved = Ballot(
        tuple(ballot.ciphertexts[i] for i in order),
        tuple(ballot.selection_proofs[i] for i in order),
        _swap(ballot.count_proofs, case.target, last),
    )
    assert assert_rejected(params, VOTER, moved).check == "selection_challenge"


@given(case=election(need="two options"), data=st.data())
def test_names_swapped_in_the_parameters_change_the_fingerprint_and_refuse_the_ballot(
    keypair: KeyPair, case: ElectionCase, data: st.DataObject
) -> None:
    params, ballot = _honest(case, keypair)
    places = [(q, i) for q, spec in enumerate(params.questions) for i in range(len(spec.options))]
    first, second = data.draw(st.permutations(places), label="options")[:2]
    questions = [list(spec.options) for spec in params.questions]
    a, b = questions[first[0]][first[1]], questions[second[0]][second[1]]
    questions[first[0]][first[1]] = dataclasses.replace(a, name=b.name)
    questions[second[0]][second[1]] = dataclasses.replace(b, name=a.name)
    renamed = dataclasses.replace(
        params,
        questions=tuple(
            dataclasses.replace(spec, options=tuple(options))
            for spec, options in zip(params.questions, questions, strict=True)
        ),
    )
    assert renamed.option_ids == params.option_ids
    assert renamed.fingerprint != params.fingerprint
    error = assert_rejected(renamed, VOTER, ballot)
    assert (error.check, error.index) == ("selection_challenge", 0)
    assert ballot_tracker(ballot, renamed) == ballot_tracker(ballot, params)
