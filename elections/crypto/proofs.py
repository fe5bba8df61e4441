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

Acceptance rules. Every verifier applies the rule of the ballot's format.

- v2 (``evoting/ballot/v2``): ``1 <= z <= (n - 1) / 2`` and
  ``(z^n)^2 = (a * u^e)^2`` (mod n^2), i.e. ``z^n = x * a * u^e`` for some
  ``x`` with ``x^2 = 1``. This is exactly what the batch test (which raises
  its combined equation to the power 2) accepts, for anyone, including
  whoever knows the factors of n and so the non-trivial square roots of 1:
  an equation off by an element of order 2 passes both, any other error
  fails both (up to the batch test's 2^-64, and up to elements of small odd
  order, which keys made of safe primes do not have). Accepting ``x`` costs
  no soundness: an element of order 2 is its own n-th power (n is odd), so
  the equation still makes ``u`` an n-th residue. The range removes the
  ``z -> n - z`` re-spelling anyone could do; the other square roots of 1
  need the factors of n, and whoever has them can decrypt and re-prove any
  ballot anyway, so no rule could stop them re-spelling.
- v1 (``evoting/ballot/v1``, kept to verify old records): the same range and
  ``z^n = +-a * u^e``. Its batch test also squares, so it accepted the
  other square roots of 1 that the strict v1 rule refuses; v2 closes that gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import gmpy2  # type: ignore[import-untyped]

from .encoding import int_to_hex, transcript_digest

CHALLENGE_BITS = 128
CHALLENGE_MODULUS = 1 << CHALLENGE_BITS
TAGS = {
    1: ("evoting/ballot/v1/statement", "evoting/ballot/v1/proof"),
    2: ("evoting/ballot/v2/statement", "evoting/ballot/v2/proof"),
}
COUNT_LABEL = "count"
SELECTION_VALUES = (0, 1)


@dataclass(frozen=True)
class OrProof:
    """A non-interactive OR proof, one entry per allowed value, in value order."""

    commitments: tuple[int, ...]
    challenges: tuple[int, ...]
    responses: tuple[int, ...]


def selection_label(index: int) -> str:
    """Return the v1 transcript label of candidate ``index``'s 0/1 proof."""
    return "selection/" + int_to_hex(index)


def question_labels(question: int, options: int, blank: bool) -> tuple[list[str], str]:
    """Return the v2 labels of a question's 0/1 proofs (options, then blank) and count proof.

    ``question/<q>/option/<i>``, ``question/<q>/blank`` and
    ``question/<q>/count``, indices in hex from 0: a proof moved to another
    question or option hashes another label and fails.
    """
    prefix = "question/" + int_to_hex(question) + "/"
    labels = [prefix + "option/" + int_to_hex(i) for i in range(options)]
    if blank:
        labels.append(prefix + "blank")
    return labels, prefix + "count"


def statement_digest(
    fingerprint: str, voter_context: str, ciphertexts: Sequence[int], version: int = 1
) -> str:
    """Hash what every proof of a ballot is about; return it as 64 hex digits.

    Takes the election fingerprint (which commits to the election id, n,
    questions, rules and labels), the voter context and all the
    ballot's ciphertexts. Binding these in every challenge stops a proof
    from being replayed by another voter, in another election, under another
    key or beside other ciphertexts (the Cortier-Smyth replay on Helios).
    """
    items = [TAGS[version][0], fingerprint, voter_context, int_to_hex(len(ciphertexts))]
    items.extend(int_to_hex(c) for c in ciphertexts)
    return transcript_digest(items).hex()


def proof_challenge(
    statement: str,
    label: str,
    values: Sequence[int],
    commitments: Sequence[int],
    version: int = 1,
) -> int:
    """Return the Fiat-Shamir challenge of one OR proof, an integer below 2^128.

    The challenge is the first 16 bytes of the SHA-256 digest, big-endian.

    Hashes the domain tag, the statement digest, the proof's label (which
    candidate, or the count), the allowed values and every commitment.
    Hashing the commitments and the statement together is what the
    Bernhard-Pereira-Warinschi attack on Helios shows to be necessary.
    """
    items = [TAGS[version][1], statement, label, int_to_hex(len(values))]
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

    Replacing z by n - z negates z^n mod n^2, which both acceptance rules
    allow (v2 squares it away, v1 accepts either sign); the prover needs no
    new commitment.
    """
    z %= n
    return n - z if z > (n - 1) // 2 else z


def challenges_add_up(proof: OrProof, expected: int) -> bool:
    """Return whether the branch challenges sum to ``expected`` modulo 2^128."""
    return sum(proof.challenges) % CHALLENGE_MODULUS == expected


def branch_holds(n: int, n_square: int, u: int, a: int, e: int, z: int, version: int = 1) -> bool:
    """Check one branch strictly under the rule of ``version`` (see the module docstring).

    v2: (z^n)^2 = (a * u^e)^2; v1: z^n = +-a * u^e (mod n^2). Costs one
    exponentiation by n and one by a 128-bit challenge. Inputs must already
    have passed the range checks of ``ballots.check_shape``.
    """
    lhs = gmpy2.powmod(z, n, n_square)
    rhs = a * gmpy2.powmod(u, e, n_square) % n_square
    if version == 1:
        return bool(lhs == rhs or lhs == n_square - rhs)
    return bool(lhs * lhs % n_square == rhs * rhs % n_square)


def failing_branch(
    n: int, n_square: int, base: int, values: Sequence[int], proof: OrProof, version: int = 1
) -> int | None:
    """Return the index of the first branch whose equation fails, or ``None``.

    ``base`` is the ciphertext (or product) the proof speaks of; branch ``j``
    uses ``u_j = base * g^(-values[j])``.
    """
    for j, value in enumerate(values):
        u = base * g_power(-value, n, n_square) % n_square
        if not branch_holds(
            n,
            n_square,
            u,
            proof.commitments[j],
            proof.challenges[j],
            proof.responses[j],
            version,
        ):
            return j
    return None
