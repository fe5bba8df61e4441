"""Ballot format, strict parser and both verifiers, honest and hostile, in both formats."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable
from typing import Any

import gmpy2  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phe import paillier

from elections.crypto import (
    Ballot,
    BallotFormatError,
    CryptoError,
    ElectionParams,
    InvalidBallot,
    OrProof,
    ParameterError,
    ballot_to_dict,
    ballot_to_json,
    ballot_tracker,
    batch_verify,
    encrypt_ballot,
    max_ballot_bytes,
    parse_ballot,
    parse_ballot_with_json,
    verify_ballot,
)

from .conftest import board_election, sample_choice
from .forgery import build_ballot
from .verdicts import assert_accepted, assert_refused_by_the_equations, assert_rejected

VOTER = "election=1;voter=42"


@pytest.fixture(scope="module")
def honest(params: ElectionParams) -> Ballot:
    return encrypt_ballot(params, VOTER, [0, 1, 0])


@pytest.fixture(scope="module")
def honest_v2(v2_params: ElectionParams) -> Ballot:
    return encrypt_ballot(v2_params, VOTER, sample_choice(v2_params))


@pytest.fixture(scope="module")
def honest_any(any_params: ElectionParams) -> Ballot:
    """A valid ballot in ``any_params``: each format in turn."""
    return encrypt_ballot(any_params, VOTER, sample_choice(any_params))


def _choices(params: ElectionParams) -> list[list[int]]:
    """A few different valid choices."""
    if params.version == 1:
        return [[int(j == i) for j in range(3)] for i in range(3)]
    return [
        [1, 0, 0, 0, 1, 0, 0],
        [0, 1, 1, 0, 0, 1, 0],
        [0, 0, 0, 1, 0, 0, 1],
        [1, 0, 0, 1, 1, 0, 0],
    ]


@pytest.fixture(scope="module")
def honest_pool(any_params: ElectionParams) -> list[tuple[str, Ballot]]:
    choices = _choices(any_params)
    return [
        (f"voter-{i}", encrypt_ballot(any_params, f"voter-{i}", choices[i % len(choices)]))
        for i in range(6)
    ]


def test_honest_ballot_verifies_and_round_trips(
    any_params: ElectionParams, honest_any: Ballot
) -> None:
    params, honest = any_params, honest_any
    assert_accepted(params, VOTER, honest)
    text = ballot_to_json(honest, params)
    assert json.loads(text)["format"] == f"evoting/ballot/v{params.version}"
    assert parse_ballot(params, text) == honest
    assert parse_ballot(params, text.encode()) == honest
    assert parse_ballot(params, json.loads(text)) == honest
    assert ballot_tracker(honest, params) == ballot_tracker(parse_ballot(params, text), params)
    assert len(ballot_tracker(honest, params)) == 64


def test_v2_layout_groups_the_slots_by_question(
    v2_params: ElectionParams, honest_v2: Ballot
) -> None:
    document = ballot_to_dict(honest_v2, v2_params)
    assert set(document) == {"format", "questions"}
    widths = [len(question["ciphertexts"]) for question in document["questions"]]
    assert widths == [4, 3] and v2_params.slot_count == 7 and v2_params.offsets == (0, 4)
    assert [len(q["count_proof"]["challenges"]) for q in document["questions"]] == [2, 2]
    flat = [c for question in document["questions"] for c in question["ciphertexts"]]
    assert flat == [format(c, "x") for c in honest_v2.ciphertexts]


def test_a_ballot_of_one_format_is_refused_under_the_other(
    params: ElectionParams, honest: Ballot, v2_params: ElectionParams, honest_v2: Ballot
) -> None:
    with pytest.raises(BallotFormatError):
        parse_ballot(v2_params, ballot_to_json(honest, params))
    with pytest.raises(BallotFormatError):
        parse_ballot(params, ballot_to_json(honest_v2, v2_params))
    relabelled = ballot_to_dict(honest_v2, v2_params) | {"format": "evoting/ballot/v1"}
    with pytest.raises(BallotFormatError):
        parse_ballot(v2_params, relabelled)


def test_pretty_printed_json_parses_to_the_same_tracker(
    any_params: ElectionParams, honest_any: Ballot
) -> None:
    pretty = json.dumps(ballot_to_dict(honest_any, any_params), indent=4)
    tracker = ballot_tracker(parse_ballot(any_params, pretty), any_params)
    assert tracker == ballot_tracker(honest_any, any_params)


def test_the_text_kept_from_parsing_is_the_canonical_json(
    any_params: ElectionParams, honest_any: Ballot
) -> None:
    # The ballot box stores this text and hashes it into the tracker instead of
    # spelling the ballot again: any other spelling received must come out canonical.
    canonical = ballot_to_json(honest_any, any_params)
    document = ballot_to_dict(honest_any, any_params)
    reordered = json.dumps(dict(reversed(list(document.items()))), indent=2)
    escaped = canonical.replace('"format"', '"\\u0066ormat"').replace("ballot", "b\\u0061llot", 1)
    assert json.loads(escaped) == document
    for received in (canonical, canonical.encode(), document, reordered, escaped, " " + canonical):
        assert parse_ballot_with_json(any_params, received) == (honest_any, canonical)


def test_the_kept_text_refuses_what_parse_ballot_refuses(
    any_params: ElectionParams, honest_any: Ballot
) -> None:
    document = ballot_to_dict(honest_any, any_params)
    for bad in (document | {"extra": "0"}, document | {"format": "evoting/ballot/v9"}):
        with pytest.raises(BallotFormatError):
            parse_ballot_with_json(any_params, bad)
    text = ballot_to_json(honest_any, any_params)
    first = format(honest_any.ciphertexts[0], "x")
    for spelling in ("0" + first, first.upper()):
        with pytest.raises(BallotFormatError):
            parse_ballot_with_json(any_params, text.replace(first, spelling, 1))


@given(
    choice=st.integers(0, 2),
    voter=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=200),
)
def test_honest_ballots_always_verify(params: ElectionParams, choice: int, voter: str) -> None:
    ballot = encrypt_ballot(params, voter, [int(j == choice) for j in range(3)])
    assert_accepted(params, voter, ballot)


@given(
    selections=st.lists(st.integers(0, 1), min_size=4, max_size=4).filter(
        lambda s: 1 <= sum(s) <= 3
    )
)
def test_range_elections_accept_every_allowed_count(
    range_params: ElectionParams, selections: list[int]
) -> None:
    assert_accepted(range_params, VOTER, encrypt_ballot(range_params, VOTER, selections))


def test_independent_prover_agrees(range_params: ElectionParams, v2_params: ElectionParams) -> None:
    assert_accepted(range_params, VOTER, build_ballot(range_params, VOTER, [1, 1, 0, 1]))
    for choice in _choices(v2_params):
        assert_accepted(v2_params, VOTER, build_ballot(v2_params, VOTER, choice))


# --- mutations: every field, both verifiers ---------------------------------


def mutate(ballot: Ballot, target: str, index: int, branch: int, delta: int) -> Ballot:
    """Add ``delta`` to one integer of the ballot."""
    if target == "ciphertext":
        values = list(ballot.ciphertexts)
        values[index % len(values)] += delta
        return dataclasses.replace(ballot, ciphertexts=tuple(values))
    field = {"commitment": "commitments", "challenge": "challenges", "response": "responses"}
    kind, part = target.split(":")
    attribute = "count_proofs" if kind == "count" else "selection_proofs"
    proofs = list(getattr(ballot, attribute))
    proof = proofs[index % len(proofs)]
    values = list(getattr(proof, field[part]))
    values[branch % len(values)] += delta
    proofs[index % len(proofs)] = dataclasses.replace(proof, **{field[part]: tuple(values)})
    return dataclasses.replace(ballot, **{attribute: tuple(proofs)})


TARGETS = ["ciphertext"] + [
    f"{kind}:{part}"
    for kind in ("selection", "count")
    for part in ("commitment", "challenge", "response")
]


@pytest.fixture(scope="module", params=["v1 range", "v2"])
def tamper_case(
    request: pytest.FixtureRequest, range_params: ElectionParams, v2_params: ElectionParams
) -> tuple[ElectionParams, Ballot]:
    if request.param == "v2":
        return v2_params, encrypt_ballot(v2_params, VOTER, sample_choice(v2_params))
    return range_params, encrypt_ballot(range_params, VOTER, [0, 1, 1, 0])


@given(
    target=st.sampled_from(TARGETS),
    index=st.integers(0, 10),
    branch=st.integers(0, 3),
    delta=st.one_of(st.integers(1, 2**16), st.integers(-(2**16), -1), st.integers(1, 2**1200)),
)
def test_any_tampered_field_is_rejected_by_both(
    tamper_case: tuple[ElectionParams, Ballot], target: str, index: int, branch: int, delta: int
) -> None:
    params, ballot = tamper_case
    assert_rejected(params, VOTER, mutate(ballot, target, index, branch, delta))


@given(bad=st.sets(st.integers(0, 11), min_size=1, max_size=4), seed=st.integers(0, 2**32))
def test_batch_returns_exactly_the_bad_indices(
    any_params: ElectionParams, honest_pool: list[tuple[str, Ballot]], bad: set[int], seed: int
) -> None:
    rng = random.Random(seed)
    items = [honest_pool[i % len(honest_pool)] for i in range(12)]
    for i in bad:
        voter, ballot = items[i]
        target = rng.choice(TARGETS)
        items[i] = (voter, mutate(ballot, target, rng.randrange(7), rng.randrange(2), 1))
    assert batch_verify(any_params, items) == sorted(bad)


# --- attacks an honest-looking client could mount ---------------------------


@pytest.mark.parametrize(
    ("plaintexts", "check", "index"),
    [
        ([2, 0, 0], "selection_response", 0),  # one candidate gets two votes
        ([2, -1, 0], "selection_response", 0),  # -1 = n - 1 keeps the count at 1
        ([0, 1, -1], "selection_response", 2),
        ([1, 1, 0], "count_response", 0),  # over-vote in a 1-of-3 election
        ([0, 0, 0], "count_response", 0),  # under-vote where one selection is required
    ],
)
def test_invalid_choices_with_best_effort_proofs(
    params: ElectionParams, honest: Ballot, plaintexts: list[int], check: str, index: int
) -> None:
    ballot = build_ballot(params, VOTER, plaintexts, claimed_counts=[1])
    assert_refused_by_the_equations(params, VOTER, ballot, check=check, index=index, honest=honest)


@pytest.mark.parametrize(
    ("plaintexts", "check", "index"),
    [
        ([2, -1, 0, 0, 1, 0, 0], "selection_response", 0),  # two votes, count still 1
        ([1, 0, 0, -1, 1, 0, 0], "selection_response", 3),
        ([1, 0, 0, 0, 0, 0, 2], "selection_response", 6),  # the blank slot counts twice
        ([1, 0, 0, 0, -1, 0, 1], "selection_response", 4),
        ([1, 1, 1, 0, 1, 0, 0], "count_response", 0),  # three where two is the maximum
        ([0, 0, 0, 0, 1, 0, 0], "count_response", 0),  # none where one is the minimum
        ([1, 0, 0, 0, 1, 1, 0], "count_response", 1),  # yes and no
        ([1, 0, 0, 0, 0, 0, 0], "count_response", 1),  # no answer and no blank vote
        ([1, 0, 0, 0, 1, 0, 1], "count_response", 1),  # a blank vote that also says yes
        ([1, 0, 0, 0, 1, 1, 1], "count_response", 1),
    ],
)
def test_invalid_v2_choices_with_best_effort_proofs(
    v2_params: ElectionParams, honest_v2: Ballot, plaintexts: list[int], check: str, index: int
) -> None:
    ballot = build_ballot(v2_params, VOTER, plaintexts)
    assert_refused_by_the_equations(
        v2_params, VOTER, ballot, check=check, index=index, honest=honest_v2
    )


def test_encryption_of_minus_one_really_is_n_minus_one(
    params: ElectionParams, v2_params: ElectionParams
) -> None:
    ballot = build_ballot(params, VOTER, [params.n - 1, 1, 1], claimed_counts=[1])
    assert_refused_by_the_equations(params, VOTER, ballot, check="selection_response", index=0)
    n = v2_params.n
    ballot = build_ballot(v2_params, VOTER, [1, 1, n - 1, 0, 0, 0, 1], claimed_counts=[1, 3])
    assert_refused_by_the_equations(v2_params, VOTER, ballot, check="selection_response", index=2)


def test_ballot_for_another_context_election_or_key(
    any_params: ElectionParams, other_keypair: Any, honest_any: Ballot
) -> None:
    params, honest = any_params, honest_any
    assert assert_rejected(params, "election=1;voter=43", honest).check == "selection_challenge"
    other_election = dataclasses.replace(params, election_id="election-other")
    assert assert_rejected(other_election, VOTER, honest).check == "selection_challenge"
    other_key = dataclasses.replace(params, public_key=other_keypair[0])
    assert assert_rejected(other_key, VOTER, honest).check in ("shape", "selection_challenge")


def test_rerandomised_copy_with_old_proof_is_rejected(
    any_params: ElectionParams, honest_any: Ballot
) -> None:
    n, n_square = any_params.n, any_params.n_square
    ciphertexts = honest_any.ciphertexts
    factors = [int(gmpy2.powmod(12345 + 2 * i, n, n_square)) for i in range(len(ciphertexts))]
    copied = dataclasses.replace(
        honest_any,
        ciphertexts=tuple(c * f % n_square for c, f in zip(ciphertexts, factors, strict=True)),
    )
    assert assert_rejected(any_params, VOTER, copied).check == "selection_challenge"


def _negate_responses(ballot: Ballot, n: int, where: str) -> Ballot:
    if where == "count":
        proofs = list(ballot.count_proofs)
        proofs[-1] = dataclasses.replace(
            proofs[-1], responses=tuple(n - z for z in proofs[-1].responses)
        )
        return dataclasses.replace(ballot, count_proofs=tuple(proofs))
    proofs = list(ballot.selection_proofs)
    proofs[1] = dataclasses.replace(
        proofs[1], responses=(n - proofs[1].responses[0], proofs[1].responses[1])
    )
    return dataclasses.replace(ballot, selection_proofs=tuple(proofs))


@pytest.mark.parametrize("where", ["selection", "count"])
def test_response_negated_to_n_minus_z_is_rejected_by_both(
    any_params: ElectionParams, honest_any: Ballot, where: str
) -> None:
    ballot = _negate_responses(honest_any, any_params.n, where)
    assert assert_rejected(any_params, VOTER, ballot).check == "shape"
    with pytest.raises(BallotFormatError):
        parse_ballot(any_params, ballot_to_json(ballot, any_params))


def test_negative_sign_branch_is_accepted_by_both(any_params: ElectionParams) -> None:
    """z^n = -a*u^e is part of the acceptance rule of both formats: both verifiers take it."""
    attempts = 40
    for _ in range(attempts):
        ballot = encrypt_ballot(any_params, VOTER, sample_choice(any_params))
        if any(
            _negative_branch(any_params, ballot.ciphertexts[i], p)
            for i, p in enumerate(ballot.selection_proofs)
        ):
            assert_accepted(any_params, VOTER, ballot)
            return
    pytest.fail(f"no negative-sign branch in {attempts} ballots")


def _negative_branch(params: ElectionParams, c: int, proof: OrProof) -> bool:
    n, n_square = params.n, params.n_square
    for value, a, e, z in zip(
        (0, 1), proof.commitments, proof.challenges, proof.responses, strict=True
    ):
        u = c * (1 + (-value % n) * n) % n_square
        if gmpy2.powmod(z, n, n_square) == n_square - a * gmpy2.powmod(u, e, n_square) % n_square:
            return True
    return False


# --- the parser against the bad-input list ----------------------------------


def _document(ballot: Ballot, params: ElectionParams) -> dict[str, Any]:
    return json.loads(ballot_to_json(ballot, params))


def _last_ciphertexts(document: dict[str, Any]) -> list[Any]:
    """The ciphertext list of a v1 ballot, or of a v2 ballot's last question."""
    if "questions" in document:
        ciphertexts: list[Any] = document["questions"][-1]["ciphertexts"]
        return ciphertexts
    top: list[Any] = document["ciphertexts"]
    return top


@pytest.mark.parametrize(
    "replacement",
    [
        "0",
        "-1",
        7,
        7.5,
        True,
        None,
        ["1"],
        {"x": "1"},
        "0x1f",
        "01f",
        "1F",
        " 1f",
        "1" * 5000,
        "f" * (1 << 20),
        "",
    ],
)
def test_bad_ciphertext_values_are_format_errors(
    any_params: ElectionParams, honest_any: Ballot, replacement: Any
) -> None:
    document = _document(honest_any, any_params)
    _last_ciphertexts(document)[0] = replacement
    with pytest.raises(BallotFormatError):
        parse_ballot(any_params, document)
    if not isinstance(replacement, float):
        with pytest.raises(BallotFormatError):
            parse_ballot(any_params, json.dumps(document))


def test_out_of_group_ciphertexts(any_params: ElectionParams, honest_any: Ballot) -> None:
    n, n_square = any_params.n, any_params.n_square
    for value in (n_square, n_square + 1, n, 2 * n, n_square - n):
        document = _document(honest_any, any_params)
        _last_ciphertexts(document)[2] = format(value, "x")
        with pytest.raises(BallotFormatError):
            parse_ballot(any_params, document)


def test_decimal_numbers_and_constants_in_the_text(
    any_params: ElectionParams, honest_any: Ballot
) -> None:
    text = ballot_to_json(honest_any, any_params)
    first = honest_any.ciphertexts[0]
    for literal in ("1" * 5000, "1e400", "NaN", "-Infinity", "12.5", "true", "null"):
        with pytest.raises(BallotFormatError):
            parse_ballot(any_params, text.replace(f'"{first:x}"', literal, 1))


Edit = Callable[[dict[str, Any]], object]

V1_DAMAGE: list[Edit] = [
    lambda d: d["ciphertexts"].pop(),
    lambda d: d["ciphertexts"].append(d["ciphertexts"][0]),
    lambda d: d["selection_proofs"].pop(),
    lambda d: d.pop("count_proof"),
    lambda d: d["count_proof"]["responses"].pop(),
    lambda d: d["selection_proofs"][0]["commitments"].append("1"),
    lambda d: d["selection_proofs"][1].pop("challenges"),
    lambda d: d["selection_proofs"][1].update(extra="1"),
    lambda d: d.update(voter_id="1"),
    lambda d: d.update(election_id="election-1"),
    lambda d: d.update(tally="1"),
    lambda d: d.update(format="evoting/ballot/v0"),
    lambda d: d.update(format="evoting/ballot/v2"),
    lambda d: d.update(count_proofs=[d["count_proof"]]),
    lambda d: d["selection_proofs"][0]["challenges"].__setitem__(0, "1" + "0" * 32),
    lambda d: d["selection_proofs"][0]["responses"].__setitem__(0, "0"),
    lambda d: d["count_proof"]["commitments"].__setitem__(0, "0"),
    lambda d: d["selection_proofs"][2]["responses"].__setitem__(1, d["ciphertexts"][0]),
    lambda d: d.__setitem__("ciphertexts", "1,2,3"),
    lambda d: d.__setitem__("selection_proofs", {}),
]


@pytest.mark.parametrize("edit", V1_DAMAGE)
def test_structural_damage_is_a_format_error(
    params: ElectionParams, honest: Ballot, edit: Edit
) -> None:
    document = _document(honest, params)
    edit(document)
    with pytest.raises(BallotFormatError):
        parse_ballot(params, json.dumps(document))


V2_DAMAGE: list[Edit] = [
    lambda d: d["questions"].pop(),
    lambda d: d["questions"].append(d["questions"][0]),
    lambda d: d["questions"].reverse(),  # 4 and 3 slots: the shapes differ
    lambda d: d.__setitem__("questions", {}),
    lambda d: d["questions"][0]["ciphertexts"].pop(),
    lambda d: d["questions"][1]["ciphertexts"].pop(),  # a blank question without its blank
    lambda d: d["questions"][0]["ciphertexts"].append(d["questions"][0]["ciphertexts"][0]),
    lambda d: d["questions"][1]["selection_proofs"].pop(),
    lambda d: d["questions"][0].pop("count_proof"),
    lambda d: d["questions"][1]["count_proof"]["responses"].pop(),
    lambda d: d["questions"][1]["count_proof"]["challenges"].append("1"),
    lambda d: d["questions"][0]["selection_proofs"][0]["commitments"].append("1"),
    lambda d: d["questions"][0]["selection_proofs"][1].pop("challenges"),
    lambda d: d["questions"][0].update(extra="1"),
    lambda d: d["questions"][1].update(blank="1"),
    lambda d: d.update(voter_id="1"),
    lambda d: d.update(election_id="election-v2"),
    lambda d: d.update(ciphertexts=[]),
    lambda d: d.update(format="evoting/ballot/v1"),
    lambda d: d.update(format="evoting/ballot/v3"),
    lambda d: d["questions"][1]["selection_proofs"][2]["challenges"].__setitem__(0, "1" + "0" * 32),
    lambda d: d["questions"][0]["selection_proofs"][0]["responses"].__setitem__(0, "0"),
    lambda d: d["questions"][1]["count_proof"]["commitments"].__setitem__(0, "0"),
    lambda d: d["questions"][1]["selection_proofs"][2]["responses"].__setitem__(
        1, d["questions"][1]["ciphertexts"][0]
    ),
    lambda d: d["questions"][0].__setitem__("ciphertexts", "1,2,3,4"),
    lambda d: d["questions"].__setitem__(0, None),
]


@pytest.mark.parametrize("edit", V2_DAMAGE)
def test_v2_structural_damage_is_a_format_error(
    v2_params: ElectionParams, honest_v2: Ballot, edit: Edit
) -> None:
    document = _document(honest_v2, v2_params)
    edit(document)
    with pytest.raises(BallotFormatError):
        parse_ballot(v2_params, json.dumps(document))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe\x00",
        b"[]",
        b"null",
        b'"ballot"',
        b"{" * 100_000,
        b"[" * 10_000 + b"]" * 10_000,
        b'{"format": "evoting/ballot/v1", "format": "evoting/ballot/v1"}',
        b'{"format": "evoting/ballot/v2", "format": "evoting/ballot/v2"}',
        b'{"format": "evoting/ballot/v2", "questions": []}',
    ],
)
def test_garbage_bodies_are_format_errors(any_params: ElectionParams, raw: bytes) -> None:
    with pytest.raises(BallotFormatError):
        parse_ballot(any_params, raw)


def test_oversized_body_is_refused_before_decoding(
    any_params: ElectionParams, honest_any: Ballot
) -> None:
    limit = max_ballot_bytes(any_params)
    with pytest.raises(BallotFormatError, match="larger than"):
        parse_ballot(any_params, b" " * (limit + 1))
    with pytest.raises(BallotFormatError, match="larger than"):
        parse_ballot(any_params, b"x" * (10 * 1024 * 1024))
    with pytest.raises(BallotFormatError, match="larger than"):
        parse_ballot(any_params, "\u00e9" * (limit // 2 + 1))
    text = ballot_to_json(honest_any, any_params)
    padded = text + " " * (limit - len(text))
    assert parse_ballot(any_params, padded) == honest_any  # exactly the cap is accepted
    with pytest.raises(BallotFormatError, match="larger than"):
        parse_ballot(any_params, padded + " ")


def test_size_cap_follows_the_documented_formula() -> None:
    """At 3072 bits, 4 options and a yes/no/blank question: per docs/ballot-format.md."""
    params = board_election("e", paillier.PaillierPublicKey((1 << 3071) + 1))
    element, response, challenge = 3 + 1536, 3 + 768, 3 + 32

    def proof(branches: int) -> int:
        return 64 + branches * (element + challenge + response)

    canonical = 128 + sum(
        64 + width * (element + proof(2)) + proof(values) for width, values in ((4, 2), (3, 2))
    )
    assert max_ballot_bytes(params) == 2 * canonical + 4096


def test_wrong_argument_types(any_params: ElectionParams, honest_any: Ballot) -> None:
    params, honest = any_params, honest_any
    with pytest.raises(BallotFormatError):
        parse_ballot(params, 12345)  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        parse_ballot("params", ballot_to_json(honest, params))  # type: ignore[arg-type]
    with pytest.raises(InvalidBallot):
        verify_ballot(params, VOTER, "ballot")  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        verify_ballot("params", VOTER, honest)  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        verify_ballot(params, "", honest)
    with pytest.raises(ParameterError):
        verify_ballot(params, "x" * 201, honest)
    bool_ballot = dataclasses.replace(honest, ciphertexts=(True, *honest.ciphertexts[1:]))
    assert assert_rejected(params, VOTER, bool_ballot).check == "shape"
    as_list = list(honest.count_proofs)
    as_lists = dataclasses.replace(honest, count_proofs=as_list)  # type: ignore[arg-type]
    assert assert_rejected(params, VOTER, as_lists).check == "shape"
    missing = dataclasses.replace(honest, count_proofs=honest.count_proofs[:-1])
    assert assert_rejected(params, VOTER, missing).check == "shape"


@given(data=st.data())
def test_random_byte_flips_never_escape_as_other_errors(
    any_params: ElectionParams, honest_any: Ballot, data: st.DataObject
) -> None:
    raw = bytearray(ballot_to_json(honest_any, any_params).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    try:
        ballot = parse_ballot(any_params, bytes(raw))
        verify_ballot(any_params, VOTER, ballot)
    except CryptoError:
        return
    assert ballot == honest_any
