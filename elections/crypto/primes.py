"""Safe primes for Paillier keys whose group has no small odd-order elements.

A safe prime is ``p = 2p' + 1`` with ``p'`` prime. With ``n = pq`` made of two
of them, ``Z*_{n^2}`` has elements of order 1, 2, and then only of orders with
a factor ``p'``, ``q'``, ``p`` or ``q``: no element of small odd order, which is
what makes the batch verifier agree with the strict acceptance rule against a
key holder (``docs/ballot-format.md``), and what threshold decryption needs
(``threshold``: the squares form a cyclic group of order ``p'q'``).

The search is an incremental sieve: a random odd starting point ``q0`` of
``bits - 1`` bits, then a window of candidates ``q = q0 + 2k`` from which every
``k`` making ``q`` or ``2q + 1`` divisible by a small prime is struck out in one
pass per small prime, and only the survivors (about 1 in 70 at 1536 bits) get
a Fermat test on ``2q + 1`` and then Miller-Rabin on both. ``cryptography``
reaches OpenSSL's safe-prime generator only through finite-field
Diffie-Hellman, which it deprecates, so the search is done here with gmpy2.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import gmpy2  # type: ignore[import-untyped]

from .errors import ParameterError

SIEVE_PRIMES_BELOW = 1 << 16
WINDOW = 1 << 14
MILLER_RABIN_ROUNDS = 40

_SMALL_PRIMES: list[int] = []


def _small_primes() -> list[int]:
    if not _SMALL_PRIMES:
        marks = bytearray([1]) * SIEVE_PRIMES_BELOW
        marks[0:2] = b"\x00\x00"
        for value in range(2, int(SIEVE_PRIMES_BELOW**0.5) + 1):
            if marks[value]:
                marks[value * value :: value] = bytes(
                    len(range(value * value, SIEVE_PRIMES_BELOW, value))
                )
        _SMALL_PRIMES.extend(value for value in range(3, SIEVE_PRIMES_BELOW) if marks[value])
    return _SMALL_PRIMES


def is_safe_prime(p: int) -> bool:
    """Whether ``p`` and ``(p - 1) / 2`` are both (probable) primes, ``p > 5``."""
    return (
        p > 5
        and p % 2 == 1
        and bool(gmpy2.is_prime(p, MILLER_RABIN_ROUNDS))
        and bool(gmpy2.is_prime((p - 1) // 2, MILLER_RABIN_ROUNDS))
    )


def generate_safe_prime(
    bits: int,
    *,
    randbits: Callable[[int], int] = secrets.randbits,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Return a random safe prime of exactly ``bits`` bits (at least 16).

    ``randbits(k)`` supplies the randomness (the OS CSPRNG by default; tests
    pass a seeded one). ``progress(tested)`` is called after each sieve window
    with the number of candidates tested so far, so a caller can show that the
    search (seconds at 1536 bits, with a wide spread) is alive. Raises
    ``ParameterError`` for a size below 16 bits.
    """
    if not isinstance(bits, int) or isinstance(bits, bool) or bits < 16:
        raise ParameterError("a safe prime needs at least 16 bits")
    primes = [r for r in _small_primes() if r < (1 << (bits - 2))]
    tested = 0
    while True:
        # q0: bits - 1 bits, top two set (so p = 2q + 1 keeps exactly `bits` bits
        # across the window), odd.
        q0 = randbits(bits - 1) | (3 << (bits - 3)) | 1
        for k in _survivors(q0, primes):
            tested += 1
            p = 2 * (q0 + 2 * k) + 1
            if p.bit_length() == bits and _passes(p):
                return p
        if progress is not None:
            progress(tested)


def _survivors(q0: int, primes: list[int]) -> list[int]:
    """The ``k`` of the window where neither ``q = q0 + 2k`` nor ``2q + 1`` has a small factor."""
    struck = bytearray(WINDOW)
    for r in primes:
        residue = q0 % r
        # q = q0 + 2k is 0 mod r when k = -q0 / 2, and 2q + 1 is 0 mod r when
        # q = (r - 1) / 2, i.e. k = ((r - 1) / 2 - q0) / 2 (mod r).
        half = (r + 1) // 2  # the inverse of 2 modulo r
        for target in (0, (r - 1) // 2):
            start = (target - residue) * half % r
            struck[start::r] = b"\x01" * len(range(start, WINDOW, r))
    return [k for k in range(WINDOW) if not struck[k]]


def _passes(p: int) -> bool:
    # A Fermat test on p first: it throws out almost every candidate for one
    # exponentiation, before Miller-Rabin on both p and (p - 1) / 2.
    return gmpy2.powmod(2, p - 1, p) == 1 and is_safe_prime(p)
