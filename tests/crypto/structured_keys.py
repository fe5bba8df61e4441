"""Test keys of a known structure, and the small-order elements their factors give.

The acceptance rule (``docs/ballot-format.md``) makes the strict and the
batch verifier agree on every ballot except for errors of small odd order,
which exist only when p - 1 or q - 1 has a small odd factor. These keys let
the tests show both sides: ``safe_prime_keypair`` (p = 2p' + 1 and
q = 2q' + 1 with p', q' prime, so Z*_{n^2} has no elements of order 3, 5, ...)
and ``order_three_keypair`` (3 divides p - 1). Both are derived from a seed
through ``DeterministicRandom``, like the other test keys, so every run sees
the same numbers; generating a pair of 256-bit safe primes takes a few
hundredths of a second with the sieve below, so no constants are stored.
Whoever knows p and q can compute what nobody else can: the square roots of
1 other than +-1, and elements of order 3.
"""

from __future__ import annotations

import gmpy2  # type: ignore[import-untyped]
from phe import paillier

from elections.crypto import DeterministicRandom

KeyPair = tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey]

_SIEVE = [p for p in range(3, 3000) if gmpy2.is_prime(p)]
_MILLER_RABIN_ROUNDS = 40


def _survives_sieve(value: int) -> bool:
    return all(value % prime for prime in _SIEVE if prime < value)


def safe_prime(bits: int, rng: DeterministicRandom) -> int:
    """Return a ``bits``-bit safe prime p = 2p' + 1 (p' prime) whose top two bits are set.

    Draws an odd p' of ``bits - 1`` bits, then walks p' upwards by 2 until
    neither p' nor 2p' + 1 has a factor below 3000 and both pass
    Miller-Rabin. Setting the top bits makes the product of two such primes
    exactly ``2 * bits`` bits long.
    """
    start = rng.randbelow(1 << (bits - 1)) | (3 << (bits - 3)) | 1
    for candidate in range(start, 1 << (bits - 1), 2):
        if not (_survives_sieve(candidate) and _survives_sieve(2 * candidate + 1)):
            continue
        if gmpy2.is_prime(candidate, _MILLER_RABIN_ROUNDS) and gmpy2.is_prime(
            2 * candidate + 1, _MILLER_RABIN_ROUNDS
        ):
            return 2 * candidate + 1
    return safe_prime(bits, rng)


def _keypair(p: int, q: int) -> KeyPair:
    public_key = paillier.PaillierPublicKey(p * q)
    return public_key, paillier.PaillierPrivateKey(public_key, p, q)


def safe_prime_keypair(bits: int, seed: bytes) -> KeyPair:
    """A Paillier key pair whose two factors are ``bits``-bit safe primes (test keys only)."""
    rng = DeterministicRandom(b"evoting/test-safe-key/" + seed)
    p = safe_prime(bits, rng)
    q = safe_prime(bits, rng)
    while q == p:
        q = safe_prime(bits, rng)
    return _keypair(p, q)


def order_three_keypair(bits: int, seed: bytes) -> KeyPair:
    """A Paillier key pair whose factor p has 3 dividing p - 1 (what a key must not have)."""
    rng = DeterministicRandom(b"evoting/test-order-3-key/" + seed)
    top = 3 << (bits - 2)
    p = int(gmpy2.next_prime(rng.randbelow(1 << bits) | top))
    while p % 3 != 1:
        p = int(gmpy2.next_prime(p))
    q = int(gmpy2.next_prime(rng.randbelow(1 << bits) | top))
    return _keypair(p, q)


def crt(a: int, m: int, b: int, k: int) -> int:
    """Return the x in [0, m*k) with x = a mod m and x = b mod k (m, k coprime)."""
    return int(a + m * ((b - a) * gmpy2.invert(m, k) % k)) % (m * k)


def factors(key: KeyPair) -> tuple[int, int]:
    """The key's primes p and q, as ``int``."""
    return int(key[1].p), int(key[1].q)


def square_root_of_one_mod_n(key: KeyPair) -> int:
    """A square root of 1 mod n other than +-1: 1 mod p and -1 mod q.

    Multiplying a response z by it multiplies z^n (mod n^2) by a square root
    of 1 mod n^2 other than +-1: only the key holder can do this.
    """
    p, q = factors(key)
    return crt(1, p, q - 1, q)


def square_root_of_one_mod_n_square(key: KeyPair) -> int:
    """A square root of 1 mod n^2 other than +-1: 1 mod p^2 and -1 mod q^2 (order 2)."""
    p, q = factors(key)
    return crt(1, p * p, q * q - 1, q * q)


def element_of_order(order: int, key: KeyPair) -> int:
    """An element of prime ``order`` of Z*_{n^2}: of that order mod p^2, 1 mod q^2.

    Needs ``order`` to divide p - 1. Z*_{p^2} is cyclic of order p(p - 1), so
    h^(p(p - 1) / order) has order ``order`` or 1; the first h that gives
    something other than 1 is kept.
    """
    p, q = factors(key)
    if (p - 1) % order:
        raise ValueError(f"{order} does not divide p - 1")
    p_square = p * p
    for h in range(2, 1000):
        element = int(gmpy2.powmod(h, p * (p - 1) // order, p_square))
        if element != 1:
            return crt(element, p_square, 1, q * q)
    raise AssertionError(f"no element of order {order} found")
