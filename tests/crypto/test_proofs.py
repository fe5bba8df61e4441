"""Fiat-Shamir challenges, transcript labels, the g-power shortcut and the acceptance rules."""

from __future__ import annotations

import gmpy2  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.crypto import ElectionParams
from elections.crypto.proofs import (
    CHALLENGE_BITS,
    branch_holds,
    canonical_response,
    g_power,
    proof_challenge,
    question_labels,
    selection_label,
    statement_digest,
)


@given(exponent=st.integers(-(2**600), 2**600))
def test_g_power_matches_exponentiation(params: ElectionParams, exponent: int) -> None:
    n, n_square = params.n, params.n_square
    assert g_power(exponent, n, n_square) == gmpy2.powmod(n + 1, exponent, n_square)


@given(z=st.integers(1, 2**600))
def test_canonical_response_is_small_and_sign_equivalent(params: ElectionParams, z: int) -> None:
    n, n_square = params.n, params.n_square
    z %= n
    if z == 0:
        return
    canonical = canonical_response(z, n)
    assert 1 <= canonical <= (n - 1) // 2
    assert gmpy2.powmod(canonical, n, n_square) in (
        gmpy2.powmod(z, n, n_square),
        n_square - gmpy2.powmod(z, n, n_square),
    )


@pytest.mark.parametrize("version", [1, 2])
def test_statement_binds_every_input(params: ElectionParams, version: int) -> None:
    base = statement_digest(params.fingerprint, "voter", [5, 7], version)
    assert base != statement_digest("0" * 64, "voter", [5, 7], version)
    assert base != statement_digest(params.fingerprint, "voter2", [5, 7], version)
    assert base != statement_digest(params.fingerprint, "voter", [7, 5], version)
    assert base != statement_digest(params.fingerprint, "voter", [5, 7, 1], version)
    assert base != statement_digest(params.fingerprint, "voter", [57], version)
    assert base != statement_digest(params.fingerprint, "voter", [5, 7], 3 - version)


@pytest.mark.parametrize("version", [1, 2])
def test_challenge_binds_every_input_and_is_128_bits(version: int) -> None:
    base = proof_challenge("s", "count", (0, 1), (3, 4), version)
    assert 0 <= base < 2**CHALLENGE_BITS
    for other in (
        proof_challenge("t", "count", (0, 1), (3, 4), version),
        proof_challenge("s", "selection/0", (0, 1), (3, 4), version),
        proof_challenge("s", "count", (1, 2), (3, 4), version),
        proof_challenge("s", "count", (0, 1), (4, 3), version),
        proof_challenge("s", "count", (0, 1), (3, 4, 5), version),
        proof_challenge("s", "count", (0,), (3, 4), version),
        proof_challenge("s", "count", (0, 1), (3, 4), 3 - version),
    ):
        assert other != base


def test_labels_name_the_question_and_the_option() -> None:
    assert selection_label(10) == "selection/a"
    assert question_labels(0, 2, False) == (
        ["question/0/option/0", "question/0/option/1"],
        "question/0/count",
    )
    assert question_labels(11, 1, True) == (
        ["question/b/option/0", "question/b/blank"],
        "question/b/count",
    )
    every = [
        label
        for q in range(20)
        for label in (*question_labels(q, 64, True)[0], question_labels(q, 64, True)[1])
    ]
    assert len(set(every)) == len(every)


@pytest.mark.parametrize("version", [1, 2])
def test_branch_rule_accepts_both_signs_and_nothing_else(
    params: ElectionParams, version: int
) -> None:
    n, n_square = params.n, params.n_square
    r, rho, e = 1234567, 7654321, 2**127 + 99
    u = int(gmpy2.powmod(r, n, n_square))
    a = int(gmpy2.powmod(rho, n, n_square))
    z = int(rho * gmpy2.powmod(r, e, n) % n)
    assert branch_holds(n, n_square, u, a, e, z, version)
    # -1 is an n-th power: still sound; the range check in check_shape refuses n - z.
    assert branch_holds(n, n_square, u, a, e, n - z, version)
    assert branch_holds(n, n_square, u, n_square - a, e, z, version)
    assert not branch_holds(n, n_square, u, a, e + 1, z, version)
    assert not branch_holds(n, n_square, u * (n + 1) % n_square, a, e, z, version)
    assert not branch_holds(n, n_square, u, a * 2 % n_square, e, z, version)
