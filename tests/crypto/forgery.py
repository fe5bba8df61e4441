"""An independent ballot builder for tests: honest when it can be, a cheater when asked.

It builds ballots of either format for arbitrary plaintexts (2, -1, over-
and under-votes, a blank vote with a choice) with the best proofs available
without breaking n-th residuosity: for each OR proof, the claimed branch
runs the real Sigma protocol with the encryption randomness, every other
branch is simulated. When the claimed value is the true one the proof is
valid, so honest use doubles as a second implementation of the prover,
independent of client.py. When it is not, the proof is well formed and its
challenges match the hash: only the branch equation of the claimed value
fails, so a verifier that refuses it does so because of the equations.

The key holder's re-spellings are available too: ``commitment_factors``
multiplies commitments by chosen elements before the challenge is hashed,
and ``ciphertext_factors`` multiplies ciphertexts while the proofs keep the
original randomness as witness (see ``tests/crypto/test_acceptance_rule.py``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import gmpy2  # type: ignore[import-untyped]

from elections.crypto import Ballot, ElectionParams, OrProof
from elections.crypto.proofs import (
    CHALLENGE_MODULUS,
    COUNT_LABEL,
    SELECTION_VALUES,
    canonical_response,
    g_power,
    proof_challenge,
    question_labels,
    selection_label,
    statement_digest,
)

# ("selection", slot, branch) or ("count", question, branch) -> multiplier of that commitment.
CommitmentFactors = Mapping[tuple[str, int, int], int]


def encrypt(params: ElectionParams, m: int, r: int) -> int:
    """(1 + n)^m * r^n mod n^2 for any integer m (negative values wrap modulo n)."""
    n, n_square = params.n, params.n_square
    return g_power(m, n, n_square) * int(gmpy2.powmod(r, n, n_square)) % n_square


def statement(params: ElectionParams, voter_context: str, ciphertexts: Sequence[int]) -> str:
    """The statement digest of a ballot in the parameters' format."""
    return statement_digest(params.fingerprint, voter_context, ciphertexts, params.version)


def labels(params: ElectionParams, question: int) -> tuple[list[str], str]:
    """The transcript labels of a question's 0/1 proofs and of its count proof."""
    spec = params.questions[question]
    if params.version == 1:
        return [selection_label(i) for i in range(spec.width)], COUNT_LABEL
    return question_labels(question, len(spec.options), spec.blank)


def slot_label(params: ElectionParams, slot: int) -> str:
    """The transcript label of one slot's 0/1 proof."""
    question = max(q for q, start in enumerate(params.offsets) if start <= slot)
    return labels(params, question)[0][slot - params.offsets[question]]


def count_base(params: ElectionParams, question: int, ciphertexts: Sequence[int]) -> int:
    """prod c_i * c_blank^(k+1) mod n^2 over the question's slots: the count proof's base."""
    return _weighted_product(params, question, ciphertexts, params.n_square)


def count_witness(params: ElectionParams, question: int, randomness: Sequence[int]) -> int:
    """prod r_i * r_blank^(k+1) mod n: the randomness of ``count_base``."""
    return _weighted_product(params, question, randomness, params.n)


def _weighted_product(
    params: ElectionParams, question: int, values: Sequence[int], modulus: int
) -> int:
    spec, start = params.questions[question], params.offsets[question]
    options = len(spec.options)
    product = 1
    for value in values[start : start + options]:
        product = product * value % modulus
    if spec.blank:
        product = product * pow(values[start + options], options + 1, modulus) % modulus
    return product


def count_total(params: ElectionParams, question: int, plaintexts: Sequence[int]) -> int:
    """T = sum m_i + (k + 1) * m_blank over the question's plaintexts, as plain integers."""
    spec, start = params.questions[question], params.offsets[question]
    options = len(spec.options)
    total = sum(plaintexts[start : start + options])
    return total + (spec.blank_weight * plaintexts[start + options] if spec.blank else 0)


def prove_or(
    params: ElectionParams,
    statement: str,
    label: str,
    values: Sequence[int],
    base: int,
    claimed: int,
    witness: int,
    rng: random.Random,
    factors: Sequence[int] | None = None,
) -> OrProof:
    """OR proof over ``values`` about ``base``, running branch ``claimed`` with ``witness``.

    ``factors[j]`` (default 1) multiplies branch j's commitment before the
    challenge is hashed, so the proof is consistent but branch j's equation
    is off by that factor.
    """
    n, n_square = params.n, params.n_square
    commitments, challenges, responses = [], [], []
    rho = 1
    for j, value in enumerate(values):
        factor = 1 if factors is None else factors[j]
        if j == claimed:
            rho = rng.randrange(1, n)
            commitments.append(int(gmpy2.powmod(rho, n, n_square)) * factor % n_square)
            challenges.append(0)
            responses.append(0)
            continue
        u = base * g_power(-value, n, n_square) % n_square
        e = rng.randrange(CHALLENGE_MODULUS)
        z = rng.randrange(1, params.half_n + 1)
        inverse = gmpy2.invert(gmpy2.powmod(u, e, n_square), n_square)
        commitments.append(int(gmpy2.powmod(z, n, n_square) * inverse * factor % n_square))
        challenges.append(e)
        responses.append(z)
    total = proof_challenge(statement, label, values, commitments, params.version)
    challenges[claimed] = (total - sum(challenges)) % CHALLENGE_MODULUS
    responses[claimed] = canonical_response(
        int(rho * gmpy2.powmod(witness, challenges[claimed], n)), n
    )
    return OrProof(tuple(commitments), tuple(challenges), tuple(responses))


def nearest_index(values: Sequence[int], total: int) -> int:
    """The index of the allowed value closest to ``total`` (the smaller one on a tie)."""
    return values.index(min(values, key=lambda value: (abs(value - total), value)))


def build_ballot(
    params: ElectionParams,
    voter_context: str,
    plaintexts: Sequence[int],
    *,
    claimed: Sequence[int] | None = None,
    claimed_counts: Sequence[int] | None = None,
    seed: int = 0,
    ciphertext_factors: Mapping[int, int] | None = None,
    commitment_factors: CommitmentFactors | None = None,
    randomness: Sequence[int] | None = None,
) -> Ballot:
    """Encrypt ``plaintexts`` (one integer mod n per slot) and prove what is claimed.

    ``claimed[i]`` is the 0/1 value slot i's proof pretends (default: the
    plaintext when it is 0 or 1, else 1); ``claimed_counts[q]`` is the count
    question q's proof pretends (default: the allowed value nearest to the
    true ``count_total``). ``ciphertext_factors[i]`` multiplies slot i's
    ciphertext after encryption, the proofs keeping the original randomness;
    ``commitment_factors`` multiplies chosen commitments before hashing.
    ``randomness`` (default: drawn from ``seed``) gives each slot's r.
    """
    rng = random.Random(seed)
    n, n_square = params.n, params.n_square
    if randomness is None:
        randomness = [rng.randrange(1, n) for _ in plaintexts]
    factors = ciphertext_factors or {}
    ciphertexts = tuple(
        encrypt(params, m, r) * factors.get(i, 1) % n_square
        for i, (m, r) in enumerate(zip(plaintexts, randomness, strict=True))
    )
    if claimed is None:
        claimed = [m if m in SELECTION_VALUES else 1 for m in plaintexts]
    digest = statement(params, voter_context, ciphertexts)
    twists = commitment_factors or {}

    def branch_factors(kind: str, index: int, branches: int) -> list[int]:
        return [twists.get((kind, index, j), 1) for j in range(branches)]

    proofs = tuple(
        prove_or(
            params,
            digest,
            slot_label(params, i),
            SELECTION_VALUES,
            c,
            claimed[i],
            r,
            rng,
            branch_factors("selection", i, len(SELECTION_VALUES)),
        )
        for i, (c, r) in enumerate(zip(ciphertexts, randomness, strict=True))
    )
    count_proofs = []
    for q, question in enumerate(params.questions):
        values = question.count_values
        if claimed_counts is None:
            index = nearest_index(values, count_total(params, q, plaintexts))
        else:
            index = values.index(claimed_counts[q])
        count_proofs.append(
            prove_or(
                params,
                digest,
                labels(params, q)[1],
                values,
                count_base(params, q, ciphertexts),
                index,
                count_witness(params, q, randomness),
                rng,
                branch_factors("count", q, len(values)),
            )
        )
    return Ballot(ciphertexts, proofs, tuple(count_proofs))
