"""Sigma proofs of n-th residuosity, OR-composed (CDS) and made non-interactive.

Statement of one branch: ``u`` is an n-th residue modulo n^2, where
``u = c * g^(-m)`` for a ciphertext (or product of ciphertexts) ``c`` and an
allowed value ``m``. With g = n + 1, ``c`` encrypts ``m`` exactly when ``u``
is an n-th residue, i.e. ``u = r^n`` for the encryption randomness ``r``.

One branch is the Sigma protocol: commitment ``a = rho^n mod n^2``,
challenge ``e``, response ``z = rho * r^e mod n``; it verifies because
``z^n = rho^n * r^(e*n) = a * u^e (mod n^2)`` (only ``z mod n`` matters, as
``(z + t*n)^n = z^n mod n^2``). An OR proof over the allowed values runs the
real branch honestly and simulates the others (choose ``e_j``, ``z_j``, set
``a_j = z_j^n * u_j^(-e_j)``); the verifier demands that the branch
challenges add up to the Fiat-Shamir challenge modulo 2^128, so at most one
branch can be simulated after the challenge is known. Special soundness
holds because two challenges differ by less than 2^128, far below the
smallest prime factor of n, so their difference is invertible mod n.
Challenges of 128 bits match the 128-bit security of a 3072-bit modulus:
forging a proof takes about 2^128 hash evaluations. They halve the cost of
the challenge exponentiations against 256-bit ones, which matters for batch
verification (the c-side exponents carry the challenges).

Acceptance rule (one rule for every verifier): a response must satisfy
``1 <= z <= (n - 1) / 2`` and ``z^n = +a * u^e`` or ``z^n = -a * u^e``
(mod n^2). The prover negates an out-of-range ``z`` (``(n - z)^n = -z^n``
because n is odd). Fixing the range removes the ``z -> n - z`` malleability
(each proof has one spelling); accepting the sign keeps the strict check
identical to the batch check, which raises everything to even powers.
Accepting ``-1`` costs no soundness: ``-1 = (-1)^n`` is itself an n-th
residue, so ``z^n = -a * u^e`` still extracts a witness for ``u``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import gmpy2  # type: ignore[import-untyped]

from .encoding import int_to_hex, transcript_digest

CHALLENGE_BITS = 128
CHALLENGE_MODULUS = 1 << CHALLENGE_BITS
STATEMENT_TAG = "evoting/ballot/v1/statement"
PROOF_TAG = "evoting/ballot/v1/proof"
COUNT_LABEL = "count"
SELECTION_VALUES = (0, 1)


@dataclass(frozen=True)
class OrProof:
    """A non-interactive OR proof, one entry per allowed value, in value order."""

    commitments: tuple[int, ...]
    challenges: tuple[int, ...]
    responses: tuple[int, ...]


def selection_label(index: int) -> str:
    """Return the transcript label of candidate ``index``'s 0/1 proof."""
    return "selection/" + int_to_hex(index)


def statement_digest(fingerprint: str, voter_context: str, ciphertexts: Sequence[int]) -> str:
    """Hash what every proof of a ballot is about; return it as 64 hex digits.

    Takes the election fingerprint (which commits to the election id, n,
    candidates and selection bounds), the voter context and all the
    ballot's ciphertexts. Binding these in every challenge stops a proof
    from being replayed by another voter, in another election, under another
    key or beside other ciphertexts (the Cortier-Smyth replay on Helios).
    """
    items = [STATEMENT_TAG, fingerprint, voter_context, int_to_hex(len(ciphertexts))]
    items.extend(int_to_hex(c) for c in ciphertexts)
    return transcript_digest(items).hex()


def proof_challenge(
    statement: str, label: str, values: Sequence[int], commitments: Sequence[int]
) -> int:
    """Return the Fiat-Shamir challenge of one OR proof, an integer below 2^128.

    The challenge is the first 16 bytes of the SHA-256 digest, big-endian.

    Hashes the domain tag, the statement digest, the proof's label (which
    candidate, or the count), the allowed values and every commitment.
    Hashing the commitments and the statement together is what the
    Bernhard-Pereira-Warinschi attack on Helios shows to be necessary.
    """
    items = [PROOF_TAG, statement, label, int_to_hex(len(values))]
    items.extend(int_to_hex(v) for v in values)
    items.append(int_to_hex(len(commitments)))
    items.extend(int_to_hex(a) for a in commitments)
    return int.from_bytes(transcript_digest(items)[: CHALLENGE_BITS // 8], "big")


def g_power(exponent: int, n: int, n_square: int) -> int:
    """Return (n + 1)^exponent mod n^2 for any integer exponent, at no cost.

    Why: the binomial expansion gives (1 + n)^x = 1 + x*n (mod n^2), and the
    value depends only on x mod n (g has order n).
    """
    return (1 + (exponent % n) * n) % n_square


def canonical_response(z: int, n: int) -> int:
    """Map a response to its canonical representative in [1, (n - 1) / 2].

    Replacing z by n - z negates z^n mod n^2, which the sign-tolerant
    acceptance rule allows; the prover needs no new commitment.
    """
    z %= n
    return n - z if z > (n - 1) // 2 else z


def challenges_add_up(proof: OrProof, expected: int) -> bool:
    """Return whether the branch challenges sum to ``expected`` modulo 2^128."""
    return sum(proof.challenges) % CHALLENGE_MODULUS == expected


def branch_holds(n: int, n_square: int, u: int, a: int, e: int, z: int) -> bool:
    """Check one branch strictly: z^n = +-a * u^e (mod n^2).

    Costs one exponentiation by n and one by a 128-bit challenge. Inputs
    must already have passed the range checks of ``ballots.check_shape``.
    """
    lhs = gmpy2.powmod(z, n, n_square)
    rhs = a * gmpy2.powmod(u, e, n_square) % n_square
    return bool(lhs == rhs or lhs == n_square - rhs)


def failing_branch(
    n: int, n_square: int, base: int, values: Sequence[int], proof: OrProof
) -> int | None:
    """Return the index of the first branch whose equation fails, or ``None``.

    ``base`` is the ciphertext (or product) the proof speaks of; branch ``j``
    uses ``u_j = base * g^(-values[j])``.
    """
    for j, value in enumerate(values):
        u = base * g_power(-value, n, n_square) % n_square
        if not branch_holds(
            n, n_square, u, proof.commitments[j], proof.challenges[j], proof.responses[j]
        ):
            return j
    return None
