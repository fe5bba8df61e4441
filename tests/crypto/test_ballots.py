"""Ballot format, strict parser and both verifiers, honest and hostile."""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any

import gmpy2  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    verify_ballot,
)

from .forgery import build_ballot

VOTER = "election=1;voter=42"


@pytest.fixture(scope="module")
def honest(params: ElectionParams) -> Ballot:
    return encrypt_ballot(params, VOTER, [0, 1, 0])


@pytest.fixture(scope="module")
def honest_pool(params: ElectionParams) -> list[tuple[str, Ballot]]:
    return [
        (f"voter-{i}", encrypt_ballot(params, f"voter-{i}", [int(j == i % 3) for j in range(3)]))
        for i in range(6)
    ]


def assert_rejected(params: ElectionParams, voter_context: str, ballot: Ballot) -> InvalidBallot:
    """Both verifiers must refuse: strict with InvalidBallot, batch by index."""
    with pytest.raises(InvalidBallot) as caught:
        verify_ballot(params, voter_context, ballot)
    assert batch_verify(params, [(voter_context, ballot)]) == [0]
    return caught.value


def test_honest_ballot_verifies_and_round_trips(params: ElectionParams, honest: Ballot) -> None:
    verify_ballot(params, VOTER, honest)
    assert batch_verify(params, [(VOTER, honest)]) == []
    text = ballot_to_json(honest)
    assert parse_ballot(params, text) == honest
    assert parse_ballot(params, text.encode()) == honest
    assert parse_ballot(params, json.loads(text)) == honest
    assert ballot_tracker(honest) == ballot_tracker(parse_ballot(params, text))
    assert len(ballot_tracker(honest)) == 64


def test_pretty_printed_json_parses_to_the_same_tracker(
    params: ElectionParams, honest: Ballot
) -> None:
    pretty = json.dumps(ballot_to_dict(honest), indent=4)
    assert ballot_tracker(parse_ballot(params, pretty)) == ballot_tracker(honest)


@given(
    choice=st.integers(0, 2),
    voter=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=200),
)
def test_honest_ballots_always_verify(params: ElectionParams, choice: int, voter: str) -> None:
    ballot = encrypt_ballot(params, voter, [int(j == choice) for j in range(3)])
    verify_ballot(params, voter, ballot)
    assert batch_verify(params, [(voter, ballot)]) == []


@given(
    selections=st.lists(st.integers(0, 1), min_size=4, max_size=4).filter(
        lambda s: 1 <= sum(s) <= 3
    )
)
def test_range_elections_accept_every_allowed_count(
    range_params: ElectionParams, selections: list[int]
) -> None:
    ballot = encrypt_ballot(range_params, VOTER, selections)
    verify_ballot(range_params, VOTER, ballot)
    assert batch_verify(range_params, [(VOTER, ballot)]) == []


def test_independent_prover_agrees(range_params: ElectionParams) -> None:
    ballot = build_ballot(range_params, VOTER, [1, 1, 0, 1])
    verify_ballot(range_params, VOTER, ballot)
    assert batch_verify(range_params, [(VOTER, ballot)]) == []


# --- mutations: every field, both verifiers ---------------------------------


def mutate(ballot: Ballot, target: str, index: int, branch: int, delta: int) -> Ballot:
    """Add ``delta`` to one integer of the ballot."""
    if target == "ciphertext":
        values = list(ballot.ciphertexts)
        values[index % len(values)] += delta
        return dataclasses.replace(ballot, ciphertexts=tuple(values))
    field = {"commitment": "commitments", "challenge": "challenges", "response": "responses"}
    kind, part = target.split(":")
    proofs = list(ballot.selection_proofs)
    proof = ballot.count_proof if kind == "count" else proofs[index % len(proofs)]
    values = list(getattr(proof, field[part]))
    values[branch % len(values)] += delta
    changed = dataclasses.replace(proof, **{field[part]: tuple(values)})
    if kind == "count":
        return dataclasses.replace(ballot, count_proof=changed)
    proofs[index % len(proofs)] = changed
    return dataclasses.replace(ballot, selection_proofs=tuple(proofs))


TARGETS = ["ciphertext"] + [
    f"{kind}:{part}"
    for kind in ("selection", "count")
    for part in ("commitment", "challenge", "response")
]


@given(
    target=st.sampled_from(TARGETS),
    index=st.integers(0, 10),
    branch=st.integers(0, 3),
    delta=st.one_of(st.integers(1, 2**16), st.integers(-(2**16), -1), st.integers(1, 2**1200)),
)
def test_any_tampered_field_is_rejected_by_both(
    range_params: ElectionParams, target: str, index: int, branch: int, delta: int
) -> None:
    ballot = encrypt_ballot(range_params, VOTER, [0, 1, 1, 0], rng=None)
    tampered = mutate(ballot, target, index, branch, delta)
    assert_rejected(range_params, VOTER, tampered)


@given(bad=st.sets(st.integers(0, 11), min_size=1, max_size=4), seed=st.integers(0, 2**32))
def test_batch_returns_exactly_the_bad_indices(
    params: ElectionParams, honest_pool: list[tuple[str, Ballot]], bad: set[int], seed: int
) -> None:
    rng = random.Random(seed)
    items = [honest_pool[i % len(honest_pool)] for i in range(12)]
    for i in bad:
        voter, ballot = items[i]
        target = rng.choice(TARGETS)
        items[i] = (voter, mutate(ballot, target, rng.randrange(3), rng.randrange(2), 1))
    assert batch_verify(params, items) == sorted(bad)


# --- attacks an honest-looking client could mount ---------------------------


@pytest.mark.parametrize(
    ("plaintexts", "check"),
    [
        ([2, 0, 0], "selection_response"),  # one candidate gets two votes
        ([2, -1, 0], "selection_response"),  # -1 = n - 1 keeps the count at 1
        ([1, 1, 0], "count_response"),  # over-vote in a 1-of-3 election
        ([0, 0, 0], "count_response"),  # under-vote where one selection is required
    ],
)
def test_invalid_choices_with_best_effort_proofs(
    params: ElectionParams, plaintexts: list[int], check: str
) -> None:
    ballot = build_ballot(params, VOTER, plaintexts, claimed_count=1)
    error = assert_rejected(params, VOTER, ballot)
    assert error.check == check


def test_encryption_of_minus_one_really_is_n_minus_one(params: ElectionParams) -> None:
    ballot = build_ballot(params, VOTER, [params.n - 1, 1, 1], claimed_count=1)
    assert_rejected(params, VOTER, ballot)


def test_ballot_for_another_context_election_or_key(
    params: ElectionParams, other_keypair: Any, honest: Ballot
) -> None:
    assert assert_rejected(params, "election=1;voter=43", honest).check == "selection_challenge"
    other_election = dataclasses.replace(params, election_id="election-2")
    assert assert_rejected(other_election, VOTER, honest).check == "selection_challenge"
    other_key = dataclasses.replace(params, public_key=other_keypair[0])
    with pytest.raises(InvalidBallot):
        verify_ballot(other_key, VOTER, honest)
    assert batch_verify(other_key, [(VOTER, honest)]) == [0]


def test_rerandomised_copy_with_old_proof_is_rejected(
    params: ElectionParams, honest: Ballot
) -> None:
    n, n_square = params.n, params.n_square
    s_to_n = [int(gmpy2.powmod(s, n, n_square)) for s in (12345, 67890, 13579)]
    copied = dataclasses.replace(
        honest,
        ciphertexts=tuple(
            c * f % n_square for c, f in zip(honest.ciphertexts, s_to_n, strict=True)
        ),
    )
    assert_rejected(params, VOTER, copied)


@pytest.mark.parametrize("where", ["selection", "count"])
def test_response_negated_to_n_minus_z_is_rejected_by_both(
    params: ElectionParams, honest: Ballot, where: str
) -> None:
    n = params.n
    if where == "count":
        proof = honest.count_proof
        flipped = dataclasses.replace(proof, responses=tuple(n - z for z in proof.responses))
        ballot = dataclasses.replace(honest, count_proof=flipped)
    else:
        proofs = list(honest.selection_proofs)
        proofs[1] = dataclasses.replace(
            proofs[1], responses=(n - proofs[1].responses[0], proofs[1].responses[1])
        )
        ballot = dataclasses.replace(honest, selection_proofs=tuple(proofs))
    assert assert_rejected(params, VOTER, ballot).check == "shape"
    with pytest.raises(BallotFormatError):
        parse_ballot(params, ballot_to_json(ballot))


def test_negative_sign_branch_is_accepted_by_both(params: ElectionParams) -> None:
    """z^n = -a*u^e is the one acceptance rule's other half: both verifiers take it."""
    attempts = 40
    for _ in range(attempts):
        ballot = encrypt_ballot(params, VOTER, [1, 0, 0])
        if any(
            _negative_branch(params, ballot.ciphertexts[i], p)
            for i, p in enumerate(ballot.selection_proofs)
        ):
            verify_ballot(params, VOTER, ballot)
            assert batch_verify(params, [(VOTER, ballot)]) == []
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


def _document(ballot: Ballot) -> dict[str, Any]:
    return json.loads(ballot_to_json(ballot))


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
    params: ElectionParams, honest: Ballot, replacement: Any
) -> None:
    document = _document(honest)
    document["ciphertexts"][0] = replacement
    with pytest.raises(BallotFormatError):
        parse_ballot(params, document)
    if not isinstance(replacement, float):
        with pytest.raises(BallotFormatError):
            parse_ballot(params, json.dumps(document))


def test_out_of_group_ciphertexts(params: ElectionParams, honest: Ballot) -> None:
    n, n_square = params.n, params.n_square
    for value in (n_square, n_square + 1, n, 2 * n, n_square - n):
        document = _document(honest)
        document["ciphertexts"][2] = format(value, "x")
        with pytest.raises(BallotFormatError):
            parse_ballot(params, document)


def test_decimal_numbers_and_constants_in_the_text(params: ElectionParams, honest: Ballot) -> None:
    text = ballot_to_json(honest)
    first = honest.ciphertexts[0]
    for literal in ("1" * 5000, "1e400", "NaN", "-Infinity", "12.5", "true", "null"):
        with pytest.raises(BallotFormatError):
            parse_ballot(params, text.replace(f'"{first:x}"', literal, 1))


@pytest.mark.parametrize(
    "edit",
    [
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
        lambda d: d["selection_proofs"][0]["challenges"].__setitem__(0, "1" + "0" * 32),
        lambda d: d["selection_proofs"][0]["responses"].__setitem__(0, "0"),
        lambda d: d["count_proof"]["commitments"].__setitem__(0, "0"),
        lambda d: d["selection_proofs"][2]["responses"].__setitem__(1, d["ciphertexts"][0]),
        lambda d: d.__setitem__("ciphertexts", "1,2,3"),
        lambda d: d.__setitem__("selection_proofs", {}),
    ],
)
def test_structural_damage_is_a_format_error(
    params: ElectionParams, honest: Ballot, edit: Any
) -> None:
    document = _document(honest)
    edit(document)
    with pytest.raises(BallotFormatError):
        parse_ballot(params, json.dumps(document))


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
    ],
)
def test_garbage_bodies_are_format_errors(params: ElectionParams, raw: bytes) -> None:
    with pytest.raises(BallotFormatError):
        parse_ballot(params, raw)


def test_oversized_body_is_refused_before_decoding(params: ElectionParams) -> None:
    limit = max_ballot_bytes(params)
    with pytest.raises(BallotFormatError, match="larger than"):
        parse_ballot(params, b" " * (limit + 1))
    with pytest.raises(BallotFormatError, match="larger than"):
        parse_ballot(params, b"x" * (10 * 1024 * 1024))
    with pytest.raises(BallotFormatError, match="larger than"):
        parse_ballot(params, "\u00e9" * (limit // 2 + 1))


def test_wrong_argument_types(params: ElectionParams, honest: Ballot) -> None:
    with pytest.raises(BallotFormatError):
        parse_ballot(params, 12345)  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        parse_ballot("params", ballot_to_json(honest))  # type: ignore[arg-type]
    with pytest.raises(InvalidBallot):
        verify_ballot(params, VOTER, "ballot")  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        verify_ballot(params, "", honest)
    with pytest.raises(ParameterError):
        verify_ballot(params, "x" * 201, honest)
    bool_ballot = dataclasses.replace(honest, ciphertexts=(True, *honest.ciphertexts[1:]))
    assert_rejected(params, VOTER, bool_ballot)


@given(data=st.data())
def test_random_byte_flips_never_escape_as_other_errors(
    params: ElectionParams, honest: Ballot, data: st.DataObject
) -> None:
    raw = bytearray(ballot_to_json(honest).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    try:
        ballot = parse_ballot(params, bytes(raw))
        verify_ballot(params, VOTER, ballot)
    except CryptoError:
        return
    assert ballot == honest
