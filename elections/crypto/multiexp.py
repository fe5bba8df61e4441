"""Multi-exponentiation: prod(b_i ^ e_i) for many bases at once, as batch verification needs.

Pippenger's bucket method: the exponents are cut into windows of bits; in
each window every base is multiplied into the bucket of its digit, and a
running sum turns the buckets into prod(bucket_d ^ d) with two
multiplications per bucket. A window of w bits over k active bases costs
about k + 2^(w+1) multiplications, so the best widths depend on how many
exponents still have bits at that height: ``window_plan`` chooses them by
dynamic programming (wide windows where every exponent is active, narrower
ones where only the long exponents are). No window choice changes the
result, only its cost.

``multi_exp_square`` works modulo n^2 with each element held as its two
digits base n, ``x = x0 + x1 * n`` with ``0 <= x0, x1 < n``:

    (x0 + x1 n)(y0 + y1 n) = r + n * ((q + x0 y1 + x1 y0) mod n)   (mod n^2)

where ``x0 y0 = q n + r``: the n^2 term vanishes and ``q`` carries the
overflow of the low digit. That is three products of numbers of n's size
and two divisions by n instead of one product of numbers of n^2's size and
its division by n^2, which GMP does about twice as slowly as a product:
measured at 3072 bits, a batch's product modulo n^2 takes 15-30% less time.
Both functions return exactly the number the naive product of ``pow``
would; the tests check them against it. Public data only: nothing here is
constant time.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import TypeVar

import gmpy2  # type: ignore[import-untyped]

from .errors import ParameterError

MAX_WINDOW_BITS = 16
T = TypeVar("T")
# An element of Z_(n^2) as its digits base n: (x mod n, x // n).
Digits = tuple[gmpy2.mpz, gmpy2.mpz]


def window_plan(lengths: Sequence[int]) -> list[tuple[int, int]]:
    """Return the windows (lowest bit, width) of least cost for exponents of these bit lengths.

    Takes the bit lengths in decreasing order (at least one, all positive).
    The windows cover bits 0 to ``lengths[0] - 1`` from the bottom up. The cost of a
    window at bit ``low`` of width ``w`` is the number of exponents longer
    than ``low`` plus the 2^(w+1) multiplications of its bucket sums.
    """
    top = lengths[0]
    longest_first = [-length for length in lengths]
    best = [0] * (top + 1)
    width = [0] * (top + 1)
    for low in range(top - 1, -1, -1):
        active = bisect.bisect_left(longest_first, -low)
        best[low], width[low] = min(
            (active + (2 << w) + best[min(low + w, top)], w) for w in range(1, MAX_WINDOW_BITS + 1)
        )
    windows = []
    low = 0
    while low < top:
        windows.append((low, width[low]))
        low += width[low]
    return windows


def _sorted_terms(bases: Sequence[int], exponents: Sequence[int]) -> list[tuple[int, int]]:
    """(exponent, base) pairs with a non-zero exponent, longest exponent first."""
    if len(bases) != len(exponents):
        raise ParameterError("multi_exp needs as many exponents as bases")
    terms = []
    for base, exponent in zip(bases, exponents, strict=True):
        exponent = int(exponent)
        if exponent < 0:
            raise ParameterError("multi_exp needs non-negative exponents")
        if exponent:
            terms.append((exponent, base))
    terms.sort(key=lambda term: -term[0].bit_length())
    return terms


def _windows(exponents: list[int]) -> list[tuple[int, int, int]]:
    """The plan's windows from the top down, each with the number of exponents reaching it."""
    if not exponents:
        return []
    lengths = [e.bit_length() for e in exponents]
    longest_first = [-length for length in lengths]
    return [
        (low, width, bisect.bisect_left(longest_first, -low))
        for low, width in reversed(window_plan(lengths))
    ]


def multi_exp(bases: Sequence[int], exponents: Sequence[int], modulus: int) -> int:
    """Return prod(bases[i] ^ exponents[i]) mod ``modulus`` (a positive integer).

    Takes equally long sequences of bases and non-negative exponents. Raises
    ``ParameterError`` for a negative exponent or sequences of different
    lengths.
    """
    terms = _sorted_terms(bases, exponents)
    m = gmpy2.mpz(modulus)
    exps = [e for e, _ in terms]
    values = [gmpy2.mpz(b) % m for _, b in terms]
    result = gmpy2.mpz(1) % m
    for low, width, active in _windows(exps):
        result = gmpy2.powmod(result, 1 << width, m)
        mask = (1 << width) - 1
        buckets: list[gmpy2.mpz | None] = [None] * (mask + 1)
        for exponent, value in zip(exps[:active], values[:active], strict=True):
            digit = (exponent >> low) & mask
            if digit:
                held = buckets[digit]
                buckets[digit] = value if held is None else held * value % m
        total = _weighted_product(buckets, lambda x, y: x * y % m)
        if total is not None:
            result = result * total % m
    return int(result)


def multi_exp_square(bases: Sequence[int], exponents: Sequence[int], n: int) -> int:
    """Return prod(bases[i] ^ exponents[i]) mod n^2, computed on digits base n.

    Same arguments and errors as ``multi_exp`` with ``modulus = n * n``, for
    an odd ``n >= 3``; the result is the same number, for less work when n
    has thousands of bits (the module docstring says why).
    """
    if n < 3 or n % 2 == 0:
        raise ParameterError("multi_exp_square needs an odd n >= 3")
    terms = _sorted_terms(bases, exponents)
    n = gmpy2.mpz(n)
    n_square = n * n
    exps = [e for e, _ in terms]
    highs, lows = [], []
    for _, base in terms:
        high_digit, low_digit = gmpy2.f_divmod(gmpy2.mpz(base) % n_square, n)
        highs.append(high_digit)
        lows.append(low_digit)
    result: Digits = (gmpy2.mpz(1), gmpy2.mpz(0))
    for low, width, active in _windows(exps):
        shifted = gmpy2.powmod(result[0] + result[1] * n, 1 << width, n_square)
        result = _digits(shifted, n)
        buckets = _digit_buckets(exps[:active], lows, highs, low, width, n)
        total = _weighted_product(buckets, lambda x, y: _times(x, y, n))
        if total is not None:
            result = _times(result, total, n)
    return int(result[0] + result[1] * n)


def _digits(x: gmpy2.mpz, n: gmpy2.mpz) -> Digits:
    high, low = gmpy2.f_divmod(x, n)
    return low, high


def _times(x: Digits, y: Digits, n: gmpy2.mpz) -> Digits:
    """The digits base n of (x0 + x1 n)(y0 + y1 n) mod n^2."""
    carry, low = gmpy2.f_divmod(x[0] * y[0], n)
    return low, (carry + x[0] * y[1] + x[1] * y[0]) % n


def _digit_buckets(
    exps: list[int],
    lows: list[gmpy2.mpz],
    highs: list[gmpy2.mpz],
    low: int,
    width: int,
    n: gmpy2.mpz,
) -> list[Digits | None]:
    """Bucket d: the product, in digits base n, of the bases whose window digit is d."""
    divide = gmpy2.f_divmod
    mask = (1 << width) - 1
    bucket_lows: list[gmpy2.mpz | None] = [None] * (mask + 1)
    bucket_highs: list[gmpy2.mpz | None] = [None] * (mask + 1)
    for i, exponent in enumerate(exps):
        digit = (exponent >> low) & mask
        if not digit:
            continue
        x0 = bucket_lows[digit]
        if x0 is None:
            bucket_lows[digit], bucket_highs[digit] = lows[i], highs[i]
        else:
            # _times written out on plain variables: this loop is where the time goes.
            y0 = lows[i]
            carry, bucket_lows[digit] = divide(x0 * y0, n)
            bucket_highs[digit] = (carry + x0 * highs[i] + bucket_highs[digit] * y0) % n
    return [
        None if x0 is None else (x0, x1) for x0, x1 in zip(bucket_lows, bucket_highs, strict=True)
    ]


def _weighted_product(buckets: Sequence[T | None], times: Callable[[T, T], T]) -> T | None:
    """prod(buckets[d] ^ d) with 2 multiplications per bucket; None if every bucket is empty.

    A product of suffix products: the suffix product at d holds every
    bucket >= d, and d of the suffixes hold bucket d.
    """
    running: T | None = None
    total: T | None = None
    for bucket in reversed(buckets[1:]):
        if bucket is not None:
            running = bucket if running is None else times(running, bucket)
        if running is not None:
            total = running if total is None else times(total, running)
    return total
