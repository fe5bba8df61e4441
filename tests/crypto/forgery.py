"""An independent ballot builder for tests: honest when it can be, a cheater when asked.

It builds ballots for arbitrary plaintexts (2, -1, over- and under-votes)
with the best proofs available without breaking n-th residuosity: for each
OR proof, the claimed branch runs the real Sigma protocol with the
encryption randomness, every other branch is simulated. When the claimed
value is the true one the proof is valid, so honest use doubles as a
second implementation of the prover, independent of client.py.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import gmpy2  # type: ignore[import-untyped]

from elections.crypto import Ballot, ElectionParams, OrProof
from elections.crypto.proofs import (
    CHALLENGE_MODULUS,
    COUNT_LABEL,
    SELECTION_VALUES,
    canonical_response,
    g_power,
    proof_challenge,
    selection_label,
    statement_digest,
)


def prove_or(
    params: ElectionParams,
    statement: str,
    label: str,
    values: Sequence[int],
    base: int,
    claimed: int,
    witness: int,
    rng: random.Random,
) -> OrProof:
    """OR proof over ``values`` about ``base``, running branch ``claimed`` with ``witness``."""
    n, n_square = params.n, params.n_square
    commitments, challenges, responses = [], [], []
    for j, value in enumerate(values):
        if j == claimed:
            rho = rng.randrange(1, n)
            commitments.append(int(gmpy2.powmod(rho, n, n_square)))
            challenges.append(0)
            responses.append(0)
            continue
        u = base * g_power(-value, n, n_square) % n_square
        e = rng.randrange(CHALLENGE_MODULUS)
        z = rng.randrange(1, params.half_n + 1)
        inverse = gmpy2.invert(gmpy2.powmod(u, e, n_square), n_square)
        commitments.append(int(gmpy2.powmod(z, n, n_square) * inverse % n_square))
        challenges.append(e)
        responses.append(z)
    total = proof_challenge(statement, label, values, commitments)
    challenges[claimed] = (total - sum(challenges)) % CHALLENGE_MODULUS
    responses[claimed] = canonical_response(
        int(rho * gmpy2.powmod(witness, challenges[claimed], n)), n
    )
    return OrProof(tuple(commitments), tuple(challenges), tuple(responses))


def build_ballot(
    params: ElectionParams,
    voter_context: str,
    plaintexts: Sequence[int],
    *,
    claimed: Sequence[int] | None = None,
    claimed_count: int | None = None,
    seed: int = 0,
) -> Ballot:
    """Encrypt ``plaintexts`` (any integers mod n) and prove what is claimed.

    ``claimed[i]`` is the 0/1 value the proof for candidate i pretends
    (default: the plaintext when it is 0 or 1, else 1); ``claimed_count``
    is the count the count proof pretends (default: the true sum clamped
    into the allowed range).
    """
    rng = random.Random(seed)
    n, n_square = params.n, params.n_square
    randomness = [rng.randrange(1, n) for _ in plaintexts]
    ciphertexts = tuple(
        g_power(m, n, n_square) * int(gmpy2.powmod(r, n, n_square)) % n_square
        for m, r in zip(plaintexts, randomness, strict=True)
    )
    if claimed is None:
        claimed = [m if m in SELECTION_VALUES else 1 for m in plaintexts]
    statement = statement_digest(params.fingerprint, voter_context, ciphertexts)
    proofs = tuple(
        prove_or(params, statement, selection_label(i), SELECTION_VALUES, c, claimed[i], r, rng)
        for i, (c, r) in enumerate(zip(ciphertexts, randomness, strict=True))
    )
    values = params.count_values
    if claimed_count is None:
        claimed_count = min(max(sum(plaintexts), values[0]), values[-1])
    product, r_product = 1, 1
    for c, r in zip(ciphertexts, randomness, strict=True):
        product = product * c % n_square
        r_product = r_product * r % n
    count_proof = prove_or(
        params,
        statement,
        COUNT_LABEL,
        values,
        product,
        values.index(claimed_count),
        r_product,
        rng,
    )
    return Ballot(ciphertexts=ciphertexts, selection_proofs=proofs, count_proof=count_proof)
