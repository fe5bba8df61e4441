"""Homomorphic aggregation, decryption with proof, its verification and the count bounds."""

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
    impossible_counts,
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
    short = type(ballot)(ballot.ciphertexts[:2], ballot.selection_proofs[:2], ballot.count_proofs)
    with pytest.raises(BallotFormatError):
        aggregate_ballots(params, [ballot, short])


# Ann (question 1) then yes, no or blank (question 2), or two candidates and yes.
V2_VOTES = [
    [1, 0, 0, 0, 1, 0, 0],
    [0, 1, 0, 0, 0, 1, 0],
    [0, 0, 1, 0, 0, 0, 1],
    [0, 1, 0, 1, 1, 0, 0],
]


@given(votes=st.lists(st.integers(0, len(V2_VOTES) - 1), min_size=0, max_size=6))
def test_v2_product_decrypts_to_each_slot_including_blank(
    v2_params: ElectionParams, keypair: KeyPair, votes: list[int]
) -> None:
    choices = [V2_VOTES[v] for v in votes]
    ballots = [encrypt_ballot(v2_params, "v", choice) for choice in choices]
    totals = aggregate_ballots(v2_params, ballots)
    assert len(totals) == v2_params.slot_count == 7
    counts, proofs = [], []
    for slot, total in enumerate(totals):
        count, r = decrypt_with_proof(keypair[1], total)
        assert count == sum(choice[slot] for choice in choices)
        counts.append(count)
        proofs.append(r)
    verify_tally(v2_params, totals, counts, proofs)
    assert impossible_counts(v2_params, counts, len(ballots)) == []


def test_v2_tally_names_the_failing_slot(v2_params: ElectionParams, keypair: KeyPair) -> None:
    ballots = [encrypt_ballot(v2_params, "v", choice) for choice in V2_VOTES]
    totals = aggregate_ballots(v2_params, ballots)
    decrypted = [decrypt_with_proof(keypair[1], total) for total in totals]
    counts = [count for count, _ in decrypted]
    proofs = [r for _, r in decrypted]
    assert counts == [1, 2, 1, 1, 2, 1, 1]
    verify_tally(v2_params, totals, counts, proofs)
    wrong = [*counts[:6], counts[6] + 1]
    with pytest.raises(InvalidDecryption, match="question 2, blank"):
        verify_tally(v2_params, totals, wrong, proofs)
    with pytest.raises(InvalidDecryption, match="expected 7"):
        verify_tally(v2_params, totals[:6], counts[:6], proofs[:6])


@pytest.mark.parametrize(
    ("counts", "ballots", "problems"),
    [
        ([1, 2, 1, 1, 2, 1, 1], 4, []),  # V2_VOTES
        ([0, 0, 0, 0, 0, 0, 3], 3, ["question 1: 0 selections in total"]),  # blank only in q2
        ([3, 3, 0, 0, 0, 0, 3], 3, []),  # two each, everyone blank on the motion
        ([3, 3, 1, 0, 0, 0, 3], 3, ["question 1: 7 selections in total"]),  # over the maximum
        ([1, 1, 0, 0, 1, 1, 1], 2, ["question 2: 2 selections in total"]),  # a blank that chose
        ([1, 0, 0, 0, 1, 0, 0], 2, ["question 1: 1 selections", "question 2: 1 selections"]),
        ([1, 0, 0, 0, 0, 0, 2], 1, ["question 2, blank has 2 votes", "question 2: 0 selections"]),
        ([1, 0, 0, 0, 1, 0], 1, ["expected 7 counts, found 6"]),
    ],
)
def test_impossible_v2_counts(
    v2_params: ElectionParams, counts: list[int], ballots: int, problems: list[str]
) -> None:
    found = impossible_counts(v2_params, counts, ballots)
    assert len(found) == len(problems)
    for message, start in zip(found, problems, strict=True):
        assert message.startswith(start), message


def test_impossible_v1_counts(params: ElectionParams) -> None:
    assert impossible_counts(params, [1, 2, 0], 3) == []
    assert impossible_counts(params, [1, 1, 0], 3)[0].startswith("2 selections in total")
    assert impossible_counts(params, [4, 0, 0], 3)[0].startswith("candidate ann has 4 votes")
