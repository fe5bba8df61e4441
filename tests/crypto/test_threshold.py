"""Threshold decryption: any K of N decrypt, fewer cannot, a wrong partial is caught and named."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from phe import paillier

from elections.crypto import InvalidDecryption, ParameterError
from elections.crypto.primes import generate_safe_prime, is_safe_prime
from elections.crypto.threshold import (
    KeyShare,
    ThresholdKey,
    combine,
    deal,
    lagrange_coefficient,
    partial_decrypt,
    verify_partial,
)

CONTEXT = "fingerprint-of-the-election/slot/0"


def seeded(seed: int):
    return random.Random(seed).getrandbits


@pytest.fixture(scope="module")
def three_of_five() -> tuple[ThresholdKey, list[KeyShare]]:
    return deal(512, 3, 5, randbits=seeded(1))


def encrypt(key: ThresholdKey, value: int) -> int:
    return paillier.PaillierPublicKey(key.n).raw_encrypt(value)


def test_safe_primes_are_safe_and_of_the_asked_size():
    for bits in (16, 64, 256):
        p = generate_safe_prime(bits, randbits=seeded(bits))
        assert p.bit_length() == bits and is_safe_prime(p)
    assert not is_safe_prime(29)  # prime, but 14 is not
    assert is_safe_prime(23)
    with pytest.raises(ParameterError):
        generate_safe_prime(8)


def test_the_dealer_makes_a_modulus_of_safe_primes(three_of_five):
    key, shares = three_of_five
    assert key.n.bit_length() == 512
    assert (key.threshold, key.trustees, len(shares)) == (3, 5, 5)
    assert [share.index for share in shares] == [1, 2, 3, 4, 5]


def test_any_k_of_n_decrypt_the_same_count(three_of_five):
    key, shares = three_of_five
    ciphertext = encrypt(key, 1234)
    partials = [partial_decrypt(key, share, ciphertext, CONTEXT) for share in shares]
    for partial in partials:
        verify_partial(key, ciphertext, partial, CONTEXT)
    for chosen in itertools.combinations(partials, 3):
        assert combine(key, list(chosen)) == 1234
    assert combine(key, partials) == 1234  # more than K: the first K are used


def test_fewer_than_k_decrypt_nothing(three_of_five):
    key, shares = three_of_five
    ciphertext = encrypt(key, 5)
    partials = [partial_decrypt(key, share, ciphertext, CONTEXT) for share in shares[:2]]
    with pytest.raises(InvalidDecryption, match="2 of the 3 partial decryptions needed"):
        combine(key, partials)
    with pytest.raises(InvalidDecryption, match="1 of the 3"):
        combine(key, [partials[0], partials[0], partials[0]])  # the same trustee thrice


def test_a_product_of_ciphertexts_decrypts_to_the_sum(three_of_five):
    key, shares = three_of_five
    n_square = key.n_square
    total = encrypt(key, 3) * encrypt(key, 4) % n_square
    partials = [partial_decrypt(key, share, total, CONTEXT) for share in shares[1:4]]
    assert combine(key, partials) == 7


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p, key: replace(p, value=p.value * 4 % key.n_square),
        lambda p, key: replace(p, challenge=(p.challenge + 1) % (1 << 128)),
        lambda p, key: replace(p, response=p.response + 1),
        lambda p, key: replace(p, index=2),
        lambda p, key: replace(p, value=key.n_square - p.value),
    ],
    ids=["value", "challenge", "response", "another trustee's index", "negated value"],
)
def test_a_wrong_partial_decryption_is_refused_and_names_the_trustee(three_of_five, tamper):
    key, shares = three_of_five
    ciphertext = encrypt(key, 9)
    partial = partial_decrypt(key, shares[0], ciphertext, CONTEXT)
    with pytest.raises(InvalidDecryption, match=r"trustee \d: the proof"):
        verify_partial(key, ciphertext, tamper(partial, key), CONTEXT)


def test_a_partial_for_another_ciphertext_or_context_is_refused(three_of_five):
    key, shares = three_of_five
    first, second = encrypt(key, 1), encrypt(key, 1)
    partial = partial_decrypt(key, shares[2], first, CONTEXT)
    with pytest.raises(InvalidDecryption, match="trustee 3"):
        verify_partial(key, second, partial, CONTEXT)
    with pytest.raises(InvalidDecryption, match="trustee 3"):
        verify_partial(key, first, partial, "another-election/slot/0")
    with pytest.raises(InvalidDecryption, match="trustee 3"):
        verify_partial(key, first, partial, "fingerprint-of-the-election/slot/1")


def test_unknown_trustees_and_malformed_values_are_refused(three_of_five):
    key, shares = three_of_five
    ciphertext = encrypt(key, 2)
    partial = partial_decrypt(key, shares[0], ciphertext, CONTEXT)
    for index in (0, 6, -1, True):
        with pytest.raises(InvalidDecryption, match="no such trustee"):
            verify_partial(key, ciphertext, replace(partial, index=index), CONTEXT)
    for value in (0, key.n_square, key.n, -5):
        with pytest.raises(InvalidDecryption, match="trustee 1: partial decryption"):
            verify_partial(key, ciphertext, replace(partial, value=value), CONTEXT)
    with pytest.raises(InvalidDecryption, match="out of range"):
        verify_partial(key, ciphertext, replace(partial, response=-1), CONTEXT)
    with pytest.raises(InvalidDecryption, match="out of range"):
        verify_partial(key, ciphertext, replace(partial, challenge=1 << 128), CONTEXT)


def test_a_share_of_another_key_cannot_decrypt(three_of_five):
    key, _ = three_of_five
    _, other_shares = deal(512, 3, 5, randbits=seeded(2))
    with pytest.raises(ParameterError, match="does not match trustee 1"):
        partial_decrypt(key, other_shares[0], encrypt(key, 1), CONTEXT)


def test_a_single_key_holder_is_one_of_one():
    key, (share,) = deal(512, 1, 1, randbits=seeded(3))
    ciphertext = encrypt(key, 77)
    partial = partial_decrypt(key, share, ciphertext, CONTEXT)
    verify_partial(key, ciphertext, partial, CONTEXT)
    assert combine(key, [partial]) == 77


def test_lagrange_coefficients_are_integers_and_interpolate():
    delta = 120  # 5!
    for chosen in itertools.combinations(range(1, 6), 3):
        coefficients = [lagrange_coefficient(chosen, j, delta) for j in chosen]
        # They interpolate f(0) * Delta for f(X) = 1 + 2X + 3X^2.
        terms = zip(coefficients, chosen, strict=True)
        assert sum(c * (1 + 2 * j + 3 * j * j) for c, j in terms) == delta


def test_bad_dealing_parameters_are_refused():
    for bits, k, n in ((511, 2, 3), (512, 0, 3), (512, 4, 3), (512, 2, 65)):
        with pytest.raises(ParameterError):
            deal(bits, k, n)


@given(
    k_n=st.tuples(st.integers(1, 5), st.integers(1, 5)).filter(lambda t: t[0] <= t[1]),
    value=st.integers(0, 10**6),
    data=st.data(),
)
def test_every_subset_of_size_k_decrypts(k_n, value, data):
    k, n = k_n
    key, shares = deal(256, k, n, randbits=seeded(k * 10 + n))
    ciphertext = encrypt(key, value)
    subset = data.draw(st.permutations(shares).map(lambda s: list(s)[:k]))
    partials = [partial_decrypt(key, share, ciphertext, CONTEXT) for share in subset]
    for partial in partials:
        verify_partial(key, ciphertext, partial, CONTEXT)
    assert combine(key, partials) == value


def test_the_threshold_vectors_are_reproduced():
    # The browser module is pinned to the same files by tests/js/threshold.test.mjs.
    from . import make_threshold_vectors as vectors

    for case in vectors.CASES:
        path = vectors.VECTORS / f"{case['name']}.json"
        assert json.loads(path.read_text()) == vectors.build(case)
