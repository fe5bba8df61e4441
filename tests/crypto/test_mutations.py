"""Forgeries that only a single check stands in the way of.

Each ballot below breaks exactly one rule and satisfies every other one, so it
is accepted the moment that rule is dropped: the per-branch challenge bound of
``check_shape``, and the random secret weights of the batch test.
"""

from __future__ import annotations

import random

import gmpy2  # type: ignore[import-untyped]
import pytest

from elections.crypto import Ballot, ElectionParams, InvalidBallot, OrProof, batch, verify_ballot
from elections.crypto.ballots import check_challenges, question_parts
from elections.crypto.proofs import (
    CHALLENGE_MODULUS,
    SELECTION_VALUES,
    canonical_response,
    failing_branch,
    g_power,
    proof_challenge,
)

from .conftest import sample_choice
from .forgery import (
    count_base,
    count_total,
    count_witness,
    encrypt,
    labels,
    nearest_index,
    prove_or,
    slot_label,
    statement,
)

VOTER = "voter-mallory"


# --- Unbounded challenges ---------------------------------------------------------------


def _prove_anything(
    params: ElectionParams, statement: str, label: str, values: tuple[int, ...], base: int
) -> OrProof:
    """An OR proof of a false statement, valid if a challenge may exceed 2^128.

    Every branch is simulated; the hash is then met by adding k*n to branch 0's
    challenge, with k*n = (t - sum e_j) mod 2^128 (n is odd, so k exists), and
    multiplying its response by u^k: (z * u^k)^n = a * u^(e + k*n) (mod n^2).
    """
    n, n_square = params.n, params.n_square
    rng = random.Random(label)
    us = [base * g_power(-v, n, n_square) % n_square for v in values]
    challenges = [rng.randrange(CHALLENGE_MODULUS) for _ in values]
    responses = [rng.randrange(1, params.half_n + 1) for _ in values]
    commitments = [
        int(
            gmpy2.powmod(z, n, n_square)
            * gmpy2.invert(gmpy2.powmod(u, e, n_square), n_square)
            % n_square
        )
        for u, e, z in zip(us, challenges, responses, strict=True)
    ]
    total = proof_challenge(statement, label, values, commitments, params.version)
    k = (total - sum(challenges)) * pow(n, -1, CHALLENGE_MODULUS) % CHALLENGE_MODULUS
    challenges[0] += k * n
    responses[0] = canonical_response(int(responses[0] * gmpy2.powmod(us[0], k, n)), n)
    return OrProof(tuple(commitments), tuple(challenges), tuple(responses))


def _five_votes_for_one(params: ElectionParams) -> Ballot:
    """Five votes in every slot (the blank's too), with proofs that need oversized challenges."""
    rng = random.Random(5)
    plaintexts = [5] * params.slot_count
    ciphertexts = tuple(encrypt(params, m, rng.randrange(1, params.n)) for m in plaintexts)
    digest = statement(params, VOTER, ciphertexts)
    return Ballot(
        ciphertexts=ciphertexts,
        selection_proofs=tuple(
            _prove_anything(params, digest, slot_label(params, i), SELECTION_VALUES, c)
            for i, c in enumerate(ciphertexts)
        ),
        count_proofs=tuple(
            _prove_anything(
                params,
                digest,
                labels(params, q)[1],
                question.count_values,
                count_base(params, q, ciphertexts),
            )
            for q, question in enumerate(params.questions)
        ),
    )


def test_five_votes_with_oversized_challenges_is_a_real_forgery(any_params: ElectionParams) -> None:
    params = any_params
    ballot = _five_votes_for_one(params)
    assert any(e >= CHALLENGE_MODULUS for proof in ballot.count_proofs for e in proof.challenges)
    check_challenges(params, VOTER, ballot)
    n, n_square, version = params.n, params.n_square, params.version
    for c, proof in zip(ballot.ciphertexts, ballot.selection_proofs, strict=True):
        assert failing_branch(n, n_square, c, SELECTION_VALUES, proof, version) is None
    for part in question_parts(params, ballot):
        base, values = part.count_base(n_square), part.question.count_values
        assert failing_branch(n, n_square, base, values, part.count_proof, version) is None
    assert batch._batch_holds(params, [ballot])


def test_oversized_challenges_are_refused_by_the_strict_verifier(
    any_params: ElectionParams,
) -> None:
    with pytest.raises(InvalidBallot) as refused:
        verify_ballot(any_params, VOTER, _five_votes_for_one(any_params))
    assert refused.value.check == "shape"


def test_oversized_challenges_are_refused_by_the_batch_verifier(
    any_params: ElectionParams,
) -> None:
    assert batch.batch_verify(any_params, [(VOTER, _five_votes_for_one(any_params))]) == [0]


# --- Constant batch weights ---------------------------------------------------------------


def _five_minus_four(params: ElectionParams) -> Ballot:
    """Encryptions of [5, -4, ...] whose 0/1 proofs fail but whose errors cancel.

    Both branches of options 0 and 1 (of the first question) run the honest
    protocol with the true randomness (a = rho^n, z = rho * r^e), so branch j
    of option i is off by g^(d*e) with d = m_i - value_j: 5*e00 + 4*e01 for
    option 0, -4*e10 - 5*e11 for option 1. The challenges are split, after
    hashing, so that these sum to zero: with equal weights the batch equation
    multiplies the branch equations and the errors cancel. The other slots
    hold a valid choice, and every count proof is honest (5 - 4 counts as one).
    """
    n, n_square = params.n, params.n_square
    plaintexts = [5, -4, *sample_choice(params)[2:]]
    for seed in range(200):
        rng = random.Random(seed)
        randomness = [rng.randrange(1, n) for _ in plaintexts]
        ciphertexts = tuple(
            encrypt(params, m, r) for m, r in zip(plaintexts, randomness, strict=True)
        )
        digest = statement(params, VOTER, ciphertexts)
        rhos = [[rng.randrange(1, n) for _ in SELECTION_VALUES] for _ in range(2)]
        commitments = [[int(gmpy2.powmod(rho, n, n_square)) for rho in pair] for pair in rhos]
        t = [
            proof_challenge(
                digest, slot_label(params, i), SELECTION_VALUES, commitments[i], params.version
            )
            for i in range(2)
        ]
        split = _cancelling_split(t[0], t[1])
        if split is None:
            continue
        proofs = [
            OrProof(
                tuple(commitments[i]),
                split[i],
                tuple(
                    canonical_response(int(rho * gmpy2.powmod(randomness[i], e, n)), n)
                    for rho, e in zip(rhos[i], split[i], strict=True)
                ),
            )
            for i in range(2)
        ]
        rest = _honest_rest(params, digest, ciphertexts, randomness, plaintexts, rng)
        return Ballot(ciphertexts, tuple(proofs) + rest[0], rest[1])
    raise AssertionError("no cancelling split found")


def _cancelling_split(t0: int, t1: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    # Need e00 + e01 = S0, e10 + e11 = S1 (S = t or t + 2^128) and
    # 5*e00 + 4*e01 - 4*e10 - 5*e11 = 0, i.e. e00 + e10 = 5*S1 - 4*S0.
    top = CHALLENGE_MODULUS - 1
    for s0 in (t0, t0 + CHALLENGE_MODULUS):
        for s1 in (t1, t1 + CHALLENGE_MODULUS):
            low0, high0 = max(0, s0 - top), min(top, s0)
            low1, high1 = max(0, s1 - top), min(top, s1)
            target = 5 * s1 - 4 * s0
            if low0 + low1 <= target <= high0 + high1:
                e00 = min(high0, target - low1)
                e10 = target - e00
                return (e00, s0 - e00), (e10, s1 - e10)
    return None


def _honest_rest(
    params: ElectionParams,
    digest: str,
    ciphertexts: tuple[int, ...],
    randomness: list[int],
    plaintexts: list[int],
    rng: random.Random,
) -> tuple[tuple[OrProof, ...], tuple[OrProof, ...]]:
    """Honest proofs for the slots after the first two, and for every question's count."""
    selection = tuple(
        prove_or(params, digest, slot_label(params, i), SELECTION_VALUES, c, m, r, rng)
        for i, (c, r, m) in enumerate(zip(ciphertexts, randomness, plaintexts, strict=True))
        if i >= 2
    )
    counts = tuple(
        prove_or(
            params,
            digest,
            labels(params, q)[1],
            question.count_values,
            count_base(params, q, ciphertexts),
            nearest_index(question.count_values, count_total(params, q, plaintexts)),
            count_witness(params, q, randomness),
            rng,
        )
        for q, question in enumerate(params.questions)
    )
    return selection, counts


def test_errors_that_cancel_under_equal_weights_are_refused(any_params: ElectionParams) -> None:
    ballot = _five_minus_four(any_params)
    with pytest.raises(InvalidBallot) as refused:
        verify_ballot(any_params, VOTER, ballot)
    assert (refused.value.check, refused.value.index) == ("selection_response", 0)
    assert batch.batch_verify(any_params, [(VOTER, ballot)]) == [0]
    assert batch.batch_verify(any_params, [(VOTER, ballot)] * 3) == [0, 1, 2]


@pytest.mark.parametrize("constant", [1, 7])
def test_the_cancelling_forgery_passes_a_batch_with_constant_weights(
    any_params: ElectionParams, monkeypatch: pytest.MonkeyPatch, constant: int
) -> None:
    # Shows the forgery above is real: the only thing that stops it is the weights.
    monkeypatch.setattr(batch, "_weight", lambda: constant)
    assert batch.batch_verify(any_params, [(VOTER, _five_minus_four(any_params))]) == []
