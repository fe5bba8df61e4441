"""One acceptance rule: the strict and the batch verifier agree on re-spelt ballots.

The v2 rule accepts a branch whose equation is off by an element x with
x^2 = 1 (``docs/ballot-format.md``, "Why this rule"), which is exactly what
the squared batch test accepts. Whoever knows p and q can re-spell a valid
ballot with such elements: multiply a response by a square root of 1 mod n
other than +-1, multiply a commitment by an element of order 2 of Z*_{n^2}
and redo the challenge, or multiply a ciphertext by one and redo the
proofs. These tests use a key made of safe primes, whose only elements of
small order are the four square roots of 1, and check that both verifiers
give the same verdict on every such ballot: accepted, unless a response
was replaced by n - z, which the range refuses. Under format v1 the strict
rule refuses the square roots that need p and q while the batch test takes
them: a known disagreement, kept so old records verify as they did. And
with a key whose p - 1 has the factor 3, an element of order 3 passes a
batch about one time in three: that is why keys must be made of safe primes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import gmpy2  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.crypto import (
    Ballot,
    BallotFormatError,
    ElectionParams,
    OrProof,
    ballot_to_json,
    ballot_tracker,
    batch_verify,
    decrypt_with_proof,
    encrypt_ballot,
    parse_ballot,
    single_question_params,
)
from elections.crypto.proofs import canonical_response

from .conftest import KeyPair, board_election, sample_choice
from .forgery import build_ballot
from .strategies import ElectionCase, election
from .structured_keys import (
    element_of_order,
    factors,
    square_root_of_one_mod_n,
    square_root_of_one_mod_n_square,
)
from .verdicts import assert_accepted, assert_rejected, batch_accepts, strict_verdict

VOTER = "vc1-ffeeddccbbaa99887766554433221100ffeeddcc"

# A branch of a ballot: ("selection", slot, branch) or ("count", question, branch).
Branch = tuple[str, int, int]


def _with_responses(ballot: Ballot, changes: Mapping[Branch, int]) -> Ballot:
    """The ballot with the responses at the given branches replaced."""

    def changed(kind: str, index: int, proof: OrProof) -> OrProof:
        responses = tuple(changes.get((kind, index, j), z) for j, z in enumerate(proof.responses))
        return dataclasses.replace(proof, responses=responses)

    return Ballot(
        ballot.ciphertexts,
        tuple(changed("selection", i, p) for i, p in enumerate(ballot.selection_proofs)),
        tuple(changed("count", q, p) for q, p in enumerate(ballot.count_proofs)),
    )


def _response(ballot: Ballot, branch: Branch) -> int:
    kind, index, j = branch
    proofs = ballot.selection_proofs if kind == "selection" else ballot.count_proofs
    return proofs[index].responses[j]


def times_root(ballot: Ballot, branch: Branch, root: int, n: int) -> Ballot:
    """Multiply one response by ``root`` (a square root of 1 mod n) and re-canonicalise."""
    z = canonical_response(_response(ballot, branch) * root % n, n)
    return _with_responses(ballot, {branch: z})


def negated(ballot: Ballot, branch: Branch, n: int) -> Ballot:
    """Replace one response z by n - z (outside the canonical range)."""
    return _with_responses(ballot, {branch: n - _response(ballot, branch)})


def _branches(params: ElectionParams) -> list[Branch]:
    selection = [("selection", slot, j) for slot in range(params.slot_count) for j in (0, 1)]
    count = [
        ("count", q, j)
        for q, question in enumerate(params.questions)
        for j in range(len(question.count_values))
    ]
    return selection + count


def _order_two(key: KeyPair) -> list[int]:
    """The three elements of order 2 of Z*_{n^2}: -1 and the two that need p and q."""
    n_square = int(key[0].n) ** 2
    w = square_root_of_one_mod_n_square(key)
    return [n_square - 1, w, n_square - w]


def _roots_mod_n(key: KeyPair) -> list[int]:
    """The two square roots of 1 mod n other than +-1."""
    w = square_root_of_one_mod_n(key)
    return [w, int(key[0].n) - w]


# --- the structure of the keys ---------------------------------------------------------


def test_the_safe_prime_key_has_no_element_of_small_odd_order(safe_keypair: KeyPair) -> None:
    p, q = factors(safe_keypair)
    for prime in (p, q):
        assert gmpy2.is_prime(prime) and gmpy2.is_prime((prime - 1) // 2)
    # Element orders divide lcm(p(p-1), q(q-1)) = lcm(2pp', 2qq'): no odd factor below p'.
    for d in (3, 5, 7, 11, 13, 101, 65537):
        assert all(value % d for value in (p, q, (p - 1) // 2, (q - 1) // 2))
        with pytest.raises(ValueError):
            element_of_order(d, safe_keypair)
    n_square = int(safe_keypair[0].n) ** 2
    for x in _order_two(safe_keypair):
        assert x * x % n_square == 1
    for root in _roots_mod_n(safe_keypair):
        assert root * root % int(safe_keypair[0].n) == 1


# --- format v2 under a safe-prime key ----------------------------------------------------


@pytest.fixture(scope="module")
def safe_v2(safe_keypair: KeyPair) -> ElectionParams:
    return board_election("safe-v2", safe_keypair[0])


@pytest.fixture(scope="module")
def safe_ballot(safe_v2: ElectionParams) -> Ballot:
    return encrypt_ballot(safe_v2, VOTER, sample_choice(safe_v2))


def test_every_square_root_of_one_in_any_response_is_accepted_by_both(
    safe_keypair: KeyPair, safe_v2: ElectionParams, safe_ballot: Ballot
) -> None:
    n = safe_v2.n
    for branch in _branches(safe_v2):
        for root in _roots_mod_n(safe_keypair):
            respelt = times_root(safe_ballot, branch, root, n)
            assert ballot_tracker(respelt, safe_v2) != ballot_tracker(safe_ballot, safe_v2)
            assert_accepted(safe_v2, VOTER, respelt)


def test_n_minus_z_is_refused_by_both_as_out_of_range(
    safe_v2: ElectionParams, safe_ballot: Ballot
) -> None:
    for branch in _branches(safe_v2):
        assert assert_rejected(safe_v2, VOTER, negated(safe_ballot, branch, safe_v2.n)).check == (
            "shape"
        )


def test_parsed_batches_rely_on_the_parser_for_the_range(
    safe_v2: ElectionParams, safe_ballot: Ballot
) -> None:
    # batch_verify(parsed=True) skips check_shape: n - z then passes the squared
    # test, so only ballots that came through parse_ballot may be given that way.
    respelt = negated(safe_ballot, ("selection", 0, 1), safe_v2.n)
    with pytest.raises(BallotFormatError, match="out of range"):
        parse_ballot(safe_v2, ballot_to_json(respelt, safe_v2))
    assert batch_verify(safe_v2, [(VOTER, respelt)], parsed=True) == []
    assert batch_verify(safe_v2, [(VOTER, respelt)]) == [0]
    assert batch_verify(safe_v2, [(VOTER, safe_ballot)], parsed=True) == []


def test_a_commitment_times_an_element_of_order_two_with_its_challenge_redone(
    safe_keypair: KeyPair, safe_v2: ElectionParams
) -> None:
    choice, elements = sample_choice(safe_v2), _order_two(safe_keypair)
    for i, branch in enumerate(_branches(safe_v2)):  # every branch, each element in turn
        x = elements[i % len(elements)]
        ballot = build_ballot(safe_v2, VOTER, choice, commitment_factors={branch: x}, seed=i)
        assert_accepted(safe_v2, VOTER, ballot)


def test_a_ciphertext_times_an_element_of_order_two_with_the_proofs_redone(
    safe_keypair: KeyPair, safe_v2: ElectionParams, safe_ballot: Ballot
) -> None:
    n_square = safe_v2.n_square
    # By the voter's device, keeping its randomness r as the witness: every
    # equation involving the ciphertext is off by x^e, of order 1 or 2.
    elements = _order_two(safe_keypair)
    for slot in range(safe_v2.slot_count):
        x = elements[slot % len(elements)]
        ballot = build_ballot(safe_v2, VOTER, sample_choice(safe_v2), ciphertext_factors={slot: x})
        assert_accepted(safe_v2, VOTER, ballot)
    # By the key holder, who recovers the plaintext and randomness of c * x and proves afresh.
    x = _order_two(safe_keypair)[1]
    ciphertexts = [c * x % n_square for c in safe_ballot.ciphertexts]
    recovered = [decrypt_with_proof(safe_keypair[1], c) for c in ciphertexts]
    plaintexts = [m for m, _ in recovered]
    assert plaintexts == sample_choice(safe_v2)
    ballot = build_ballot(safe_v2, VOTER, plaintexts, randomness=[r for _, r in recovered])
    assert list(ballot.ciphertexts) == ciphertexts
    assert_accepted(safe_v2, VOTER, ballot)


def test_two_respellings_in_one_ballot(
    safe_keypair: KeyPair, safe_v2: ElectionParams, safe_ballot: Ballot
) -> None:
    n = safe_v2.n
    w, other = _roots_mod_n(safe_keypair)
    twice = times_root(
        times_root(safe_ballot, ("selection", 0, 1), w, n), ("selection", 5, 0), other, n
    )
    assert_accepted(safe_v2, VOTER, twice)
    same_proof = times_root(
        times_root(safe_ballot, ("count", 1, 0), w, n), ("count", 1, 1), other, n
    )
    assert_accepted(safe_v2, VOTER, same_proof)
    minus_one, x = _order_two(safe_keypair)[:2]
    mixed = build_ballot(
        safe_v2,
        VOTER,
        sample_choice(safe_v2),
        commitment_factors={("selection", 2, 0): x, ("count", 0, 1): minus_one},
        ciphertext_factors={6: x},
    )
    assert_accepted(safe_v2, VOTER, times_root(mixed, ("selection", 3, 1), w, n))
    # One n - z among the re-spellings is enough for both to refuse.
    assert assert_rejected(safe_v2, VOTER, negated(twice, ("count", 0, 0), n)).check == "shape"


# Re-spellings drawn at random: ("root", branch), ("negate", branch),
# ("commitment", branch) or ("ciphertext", slot), each with a choice of element.
Respelling = tuple[str, int, int]


@st.composite
def respellings(draw: st.DrawFn, branches: int, slots: int) -> list[Respelling]:
    kinds = st.sampled_from(("root", "negate", "commitment", "ciphertext"))
    return [
        (kind, draw(st.integers(0, (slots if kind == "ciphertext" else branches) - 1)), which)
        for kind, which in draw(
            st.lists(st.tuples(kinds, st.integers(0, 2)), min_size=1, max_size=3)
        )
    ]


@given(case=election(), data=st.data(), seed=st.integers(0, 2**32))
def test_both_verifiers_give_the_same_verdict_on_respelt_ballots(
    safe_keypair: KeyPair, case: ElectionCase, data: st.DataObject, seed: int
) -> None:
    params = case.params(safe_keypair[0])
    branches = _branches(params)
    changes = data.draw(respellings(len(branches), params.slot_count), label="re-spellings")
    elements, roots = _order_two(safe_keypair), _roots_mod_n(safe_keypair)
    ballot = build_ballot(
        params,
        VOTER,
        case.choice,
        seed=seed,
        commitment_factors={
            branches[i]: elements[which] for kind, i, which in changes if kind == "commitment"
        },
        ciphertext_factors={
            slot: elements[which] for kind, slot, which in changes if kind == "ciphertext"
        },
    )
    for kind, i, which in changes:
        if kind == "root":
            ballot = times_root(ballot, branches[i], roots[which % 2], params.n)
    for i in {i for kind, i, _ in changes if kind == "negate"}:
        ballot = negated(ballot, branches[i], params.n)
    expected = "shape" if any(kind == "negate" for kind, _, _ in changes) else None
    assert strict_verdict(params, VOTER, ballot) == expected
    assert batch_accepts(params, VOTER, ballot) is (expected is None)


# --- format v1: the known disagreement -----------------------------------------------------


@pytest.fixture(scope="module")
def safe_v1(safe_keypair: KeyPair) -> ElectionParams:
    return single_question_params("safe-v1", safe_keypair[0], ("ann", "ben", "cleo"))


@pytest.mark.parametrize(
    ("branch", "check"),
    [(("selection", 1, 0), "selection_response"), (("count", 0, 0), "count_response")],
)
def test_v1_known_disagreement_batch_accepts_a_square_root_of_one_strict_v1_refuses(
    safe_keypair: KeyPair, safe_v1: ElectionParams, branch: Branch, check: str
) -> None:
    """Kept on purpose: old records verify under the rule they were made with.

    Only the key holder can make such a ballot; docs/ballot-format.md,
    "Format v1", records that the two verifiers of v1 agree only against
    provers who do not know the factors of n.
    """
    ballot = encrypt_ballot(safe_v1, VOTER, [0, 1, 0])
    for root in _roots_mod_n(safe_keypair):
        respelt = times_root(ballot, branch, root, safe_v1.n)
        assert strict_verdict(safe_v1, VOTER, respelt) == check
        assert batch_accepts(safe_v1, VOTER, respelt)
    minus_one, *secret = _order_two(safe_keypair)
    for x in secret:
        twisted = build_ballot(safe_v1, VOTER, [0, 1, 0], commitment_factors={branch: x})
        assert strict_verdict(safe_v1, VOTER, twisted) == check
        assert batch_accepts(safe_v1, VOTER, twisted)
    # -1 needs no secret, and the v1 rule's sign accepts it: no disagreement there.
    signed = build_ballot(safe_v1, VOTER, [0, 1, 0], commitment_factors={branch: minus_one})
    assert_accepted(safe_v1, VOTER, signed)
    assert_accepted(safe_v1, VOTER, times_root(ballot, branch, safe_v1.n - 1, safe_v1.n))


# --- why keys must be made of safe primes -----------------------------------------------------


def test_an_order_three_error_passes_a_batch_about_one_time_in_three_unless_keys_are_safe_primes(
    order_three_key: KeyPair,
) -> None:
    """With 3 | p - 1, Z*_{n^2} has elements y of order 3.

    A commitment multiplied by y (challenge redone) breaks the branch
    equation by y, which the strict rule refuses; the batch test raises the
    error to 2w for a random weight w and passes whenever 3 divides w, about
    one batch in three. A key made of safe primes has no such element (see
    ``test_the_safe_prime_key_has_no_element_of_small_odd_order``).
    """
    p, _ = factors(order_three_key)
    assert (p - 1) % 3 == 0
    params = board_election("order-three", order_three_key[0])
    y = element_of_order(3, order_three_key)
    assert y != 1 and pow(y, 3, params.n_square) == 1
    ballot = build_ballot(
        params, VOTER, sample_choice(params), commitment_factors={("selection", 2, 1): y}
    )
    assert strict_verdict(params, VOTER, ballot) == "selection_response"
    tries = 64  # all of them refused has probability (2/3)^64, about 5e-12
    if not any(batch_accepts(params, VOTER, ballot) for _ in range(tries)):
        pytest.fail(f"the batch test refused the order-3 error {tries} times in a row")
