"""Multi-exponentiation: window plans, whole numbers and digits base n, against pow."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.crypto import ParameterError
from elections.crypto.multiexp import (
    MAX_WINDOW_BITS,
    multi_exp,
    multi_exp_square,
    window_plan,
)


def _naive(bases: list[int], exponents: list[int], modulus: int) -> int:
    expected = 1 % modulus
    for base, exponent in zip(bases, exponents, strict=True):
        expected = expected * pow(base, exponent, modulus) % modulus
    return expected


odd_moduli = st.integers(1, 2**160).map(lambda k: 2 * k + 1)
terms = st.lists(st.tuples(st.integers(0, 2**400), st.integers(0, 2**300)), max_size=60)


@given(pairs=terms, n=odd_moduli)
def test_digits_base_n_give_the_naive_product(pairs: list[tuple[int, int]], n: int) -> None:
    bases, exponents = [b for b, _ in pairs], [e for _, e in pairs]
    assert multi_exp_square(bases, exponents, n) == _naive(bases, exponents, n * n)


@given(pairs=terms, modulus=st.integers(1, 2**200))
def test_whole_numbers_give_the_naive_product(pairs: list[tuple[int, int]], modulus: int) -> None:
    bases, exponents = [b for b, _ in pairs], [e for _, e in pairs]
    assert multi_exp(bases, exponents, modulus) == _naive(bases, exponents, modulus)


def test_a_batch_of_the_verifier_shape() -> None:
    # Many short exponents and fewer long ones, as in a batch: wide windows low
    # down, narrow ones above, every bucket of the low windows used many times.
    n = (2**127 - 1) * (2**89 - 1)
    n_square = n * n
    bases = [pow(3, i, n_square) for i in range(1, 1201)]
    exponents = [(7**i) % 2**64 for i in range(900)] + [(11**i) % 2**194 for i in range(300)]
    assert multi_exp_square(bases, exponents, n) == _naive(bases, exponents, n_square)
    assert multi_exp(bases, exponents, n_square) == _naive(bases, exponents, n_square)


@given(st.lists(st.integers(1, 700), min_size=1, max_size=50))
def test_window_plans_cover_every_bit_once(lengths: list[int]) -> None:
    lengths.sort(reverse=True)
    windows = window_plan(lengths)
    low = 0
    for start, width in windows:
        assert start == low and 1 <= width <= MAX_WINDOW_BITS
        low += width
    assert low >= lengths[0] > windows[-1][0]


def test_bad_arguments_are_refused() -> None:
    for call in (multi_exp, multi_exp_square):
        with pytest.raises(ParameterError):
            call([2], [-1], 7)
        with pytest.raises(ParameterError):
            call([2, 3], [1], 7)
    for n in (1, 2, 10):
        with pytest.raises(ParameterError):
            multi_exp_square([2], [1], n)


def test_empty_and_zero_exponents_give_one() -> None:
    assert multi_exp_square([], [], 15) == 1
    assert multi_exp_square([5, 6], [0, 0], 15) == 1
    assert multi_exp([], [], 15) == 1
    assert multi_exp([5], [3], 1) == 0
