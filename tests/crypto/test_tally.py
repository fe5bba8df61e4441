"""Homomorphic aggregation, decryption with proof and its verification."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elections.crypto import (
    BallotFormatError,
    ElectionParams,
    InvalidDecryption,
    aggregate,
    aggregate_ballots,
    decrypt_with_proof,
    encrypt_ballot,
    encrypted_zero,
    validate_ciphertext,
    verify_decryption,
    verify_tally,
)

from .conftest import KeyPair


@given(votes=st.lists(st.integers(0, 2), min_size=0, max_size=8))
def test_product_of_ballots_decrypts_to_the_sum(
    params: ElectionParams, keypair: KeyPair, votes: list[int]
) -> None:
    ballots = [encrypt_ballot(params, "v", [int(j == v) for j in range(3)]) for v in votes]
    totals = aggregate_ballots(params, ballots)
    counts, proofs = [], []
    for i, total in enumerate(totals):
        count, r = decrypt_with_proof(keypair[1], total)
        assert count == votes.count(i)
        verify_decryption(keypair[0], total, count, r)
        counts.append(count)
        proofs.append(r)
        assert total == aggregate(keypair[0], [b.ciphertexts[i] for b in ballots])
    verify_tally(params, totals, counts, proofs)


def test_empty_tally_is_the_neutral_element(keypair: KeyPair) -> None:
    assert aggregate(keypair[0], []) == encrypted_zero() == 1
    assert decrypt_with_proof(keypair[1], 1) == (0, 1)


def test_wrong_count_or_randomness_fails(params: ElectionParams, keypair: KeyPair) -> None:
    ballots = [encrypt_ballot(params, "v", [0, 1, 0]) for _ in range(3)]
    total = aggregate_ballots(params, ballots)[1]
    count, r = decrypt_with_proof(keypair[1], total)
    assert count == 3
    n = keypair[0].n
    for bad_count, bad_r in (
        (2, r),
        (4, r),
        (count, r + 1),
        (count, n - r),
        (count, 0),
        (-1, r),
        (n, r),
    ):
        with pytest.raises(InvalidDecryption):
            verify_decryption(keypair[0], total, bad_count, bad_r)
    with pytest.raises(InvalidDecryption):
        verify_decryption(keypair[0], total, True, r)
    with pytest.raises(InvalidDecryption):
        verify_tally(params, [total], [count], [r])
    with pytest.raises(InvalidDecryption, match="ben"):
        verify_tally(params, [1, total, 1], [0, 2, 0], [1, r, 1])


def test_invalid_ciphertexts_are_refused_everywhere(
    keypair: KeyPair, other_keypair: KeyPair
) -> None:
    public_key, private_key = keypair
    n = public_key.n
    for bad in (0, -1, n, n * n, n * n + 1, True, "5", 1.0, None):
        with pytest.raises(BallotFormatError):
            validate_ciphertext(public_key, bad)
        with pytest.raises(BallotFormatError):
            aggregate(public_key, [1, bad])  # type: ignore[list-item]
        with pytest.raises(InvalidDecryption):
            decrypt_with_proof(private_key, bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidDecryption):
            verify_decryption(public_key, bad, 0, 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidDecryption):
        decrypt_with_proof("key", 5)


def test_ballots_of_the_wrong_shape_cannot_be_aggregated(params: ElectionParams) -> None:
    ballot = encrypt_ballot(params, "v", [1, 0, 0])
    short = type(ballot)(ballot.ciphertexts[:2], ballot.selection_proofs[:2], ballot.count_proof)
    with pytest.raises(BallotFormatError):
        aggregate_ballots(params, [ballot, short])
