"""Encrypted ballots: data type, canonical JSON, strict parser and strict verifier.

A ballot for k candidates holds k ciphertexts ``c_i = (1+n)^(m_i) * r_i^n
mod n^2`` with ``m_i`` in {0, 1}, one 0/1 OR proof per ciphertext and one
OR proof that the product of the ciphertexts (which encrypts the number of
selections) encrypts a value in ``[min_selections, max_selections]``.
The format is specified in ``docs/ballot-format.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2  # type: ignore[import-untyped]

from .encoding import canonical_json, expect_list, expect_object, hex_len, int_to_hex, load_json
from .encoding import parse_hex as _parse_hex
from .errors import BallotFormatError, InvalidBallot, ParameterError
from .params import ElectionParams, check_voter_context
from .proofs import (
    CHALLENGE_MODULUS,
    COUNT_LABEL,
    SELECTION_VALUES,
    OrProof,
    challenges_add_up,
    failing_branch,
    proof_challenge,
    selection_label,
    statement_digest,
)

BALLOT_FORMAT = "evoting/ballot/v1"
_BALLOT_KEYS = ("format", "ciphertexts", "selection_proofs", "count_proof")
_PROOF_KEYS = ("commitments", "challenges", "responses")


@dataclass(frozen=True)
class Ballot:
    """An encrypted ballot: ciphertexts in candidate order and their proofs."""

    ciphertexts: tuple[int, ...]
    selection_proofs: tuple[OrProof, ...]
    count_proof: OrProof


def ballot_to_dict(ballot: Ballot) -> dict[str, Any]:
    """Return the JSON document of a ballot (integers as canonical hex strings)."""
    return {
        "format": BALLOT_FORMAT,
        "ciphertexts": [int_to_hex(c) for c in ballot.ciphertexts],
        "selection_proofs": [_proof_to_dict(p) for p in ballot.selection_proofs],
        "count_proof": _proof_to_dict(ballot.count_proof),
    }


def _proof_to_dict(proof: OrProof) -> dict[str, list[str]]:
    return {
        "commitments": [int_to_hex(a) for a in proof.commitments],
        "challenges": [int_to_hex(e) for e in proof.challenges],
        "responses": [int_to_hex(z) for z in proof.responses],
    }


def ballot_to_json(ballot: Ballot) -> str:
    """Return the canonical JSON text of a ballot: sorted keys, no spaces, hex integers."""
    return canonical_json(ballot_to_dict(ballot))


def ballot_tracker(ballot: Ballot) -> str:
    """Return the ballot's tracker: lowercase hex SHA-256 of its canonical JSON.

    The tracker identifies the encrypted ballot on the board and reveals
    nothing about the vote (it is a hash of ciphertexts and proofs).
    """
    return tracker_of_json(ballot_to_json(ballot))


def tracker_of_json(canonical: str) -> str:
    """Return the tracker of the ballot whose canonical JSON (``ballot_to_json``) is given.

    For a caller that already holds the canonical text, so it is not built twice.
    """
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def max_ballot_bytes(params: ElectionParams) -> int:
    """Return the largest serialised ballot accepted for ``params``, in bytes.

    Twice the longest canonical ballot plus 4 KiB, which leaves room for
    whitespace and nothing else; callers may cap request bodies with it.
    """
    element, response = hex_len(params.n_square - 1) + 3, hex_len(params.half_n) + 3
    challenge = hex_len(CHALLENGE_MODULUS - 1) + 3

    def proof_bytes(branches: int) -> int:
        return 64 + branches * (element + challenge + response)

    k = len(params.candidates)
    canonical = 128 + k * (element + proof_bytes(2)) + proof_bytes(len(params.count_values))
    return 2 * canonical + 4096


def parse_ballot(params: ElectionParams, raw: str | bytes | dict[str, Any]) -> Ballot:
    """Parse and range-check a ballot before any arithmetic on it.

    Takes the election parameters and the ballot as JSON text, UTF-8 bytes
    or an already decoded object. Returns a ``Ballot`` whose every element
    passed ``check_shape``. Raises ``BallotFormatError`` for oversize input
    (checked before decoding), invalid JSON, JSON numbers, missing or extra
    fields, wrong counts, non-canonical or over-long hex, and out-of-range
    or non-invertible elements. The proofs themselves are not checked here.
    """
    if not isinstance(params, ElectionParams):
        raise ParameterError("expected ElectionParams")
    document = raw
    if not isinstance(raw, dict):
        document = load_json(raw, max_bytes=max_ballot_bytes(params), error=BallotFormatError)
    document = expect_object(document, keys=_BALLOT_KEYS, field="ballot", error=BallotFormatError)
    if document["format"] != BALLOT_FORMAT:
        raise BallotFormatError("ballot: unknown format")
    k = len(params.candidates)
    element_digits = hex_len(params.n_square - 1)
    items = expect_list(
        document["ciphertexts"], length=k, field="ciphertexts", error=BallotFormatError
    )
    ciphertexts = tuple(
        _parse_hex(c, field=f"ciphertext {i}", max_digits=element_digits, error=BallotFormatError)
        for i, c in enumerate(items)
    )
    proofs = expect_list(
        document["selection_proofs"], length=k, field="selection_proofs", error=BallotFormatError
    )
    ballot = Ballot(
        ciphertexts=ciphertexts,
        selection_proofs=tuple(
            _parse_proof(params, proof, len(SELECTION_VALUES), f"selection proof {i}")
            for i, proof in enumerate(proofs)
        ),
        count_proof=_parse_proof(
            params, document["count_proof"], len(params.count_values), "count proof"
        ),
    )
    try:
        check_shape(params, ballot)
    except InvalidBallot as exc:
        raise BallotFormatError(str(exc)) from None
    return ballot


def _parse_proof(params: ElectionParams, value: object, branches: int, field: str) -> OrProof:
    document = expect_object(value, keys=_PROOF_KEYS, field=field, error=BallotFormatError)
    limits = {
        "commitments": hex_len(params.n_square - 1),
        "challenges": hex_len(CHALLENGE_MODULUS - 1),
        "responses": hex_len(params.half_n),
    }
    parsed: dict[str, tuple[int, ...]] = {}
    for key, digits in limits.items():
        items = expect_list(
            document[key], length=branches, field=f"{field} {key}", error=BallotFormatError
        )
        parsed[key] = tuple(
            _parse_hex(item, field=f"{field} {key}", max_digits=digits, error=BallotFormatError)
            for item in items
        )
    return OrProof(**parsed)


def check_shape(params: ElectionParams, ballot: object) -> None:
    """Check counts, types and ranges of every element of a ``Ballot``.

    Ciphertexts and commitments must lie in [1, n^2) and responses in
    [1, (n - 1) / 2], all coprime with n (so in the group Z*_{n^2});
    challenges in [0, 2^128); exactly k ciphertexts, k two-branch proofs and
    one proof with a branch per allowed count. Raises ``InvalidBallot`` with
    ``check="shape"``. Both verifiers call this first, so they agree on
    what a well-formed ballot is.
    """
    if not isinstance(ballot, Ballot):
        raise InvalidBallot("not a Ballot", check="shape")
    k = len(params.candidates)
    if not isinstance(ballot.ciphertexts, tuple) or len(ballot.ciphertexts) != k:
        raise InvalidBallot(f"expected {k} ciphertexts", check="shape")
    if not isinstance(ballot.selection_proofs, tuple) or len(ballot.selection_proofs) != k:
        raise InvalidBallot(f"expected {k} selection proofs", check="shape")
    units: list[int] = []
    for i, c in enumerate(ballot.ciphertexts):
        units.append(_in_range(c, 1, params.n_square - 1, f"ciphertext {i}"))
    for i, proof in enumerate(ballot.selection_proofs):
        units.extend(_proof_units(params, proof, len(SELECTION_VALUES), f"selection proof {i}"))
    units.extend(_proof_units(params, ballot.count_proof, len(params.count_values), "count proof"))
    _check_coprime(params.n, units)


def _proof_units(params: ElectionParams, proof: object, branches: int, field: str) -> list[int]:
    if not isinstance(proof, OrProof):
        raise InvalidBallot(f"{field}: not an OrProof", check="shape")
    parts = (proof.commitments, proof.challenges, proof.responses)
    if any(not isinstance(part, tuple) or len(part) != branches for part in parts):
        raise InvalidBallot(f"{field}: expected {branches} branches", check="shape")
    for e in proof.challenges:
        _in_range(e, 0, CHALLENGE_MODULUS - 1, f"{field} challenge")
    commitments = [
        _in_range(a, 1, params.n_square - 1, f"{field} commitment") for a in proof.commitments
    ]
    responses = [_in_range(z, 1, params.half_n, f"{field} response") for z in proof.responses]
    return commitments + responses


def _in_range(value: object, low: int, high: int, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidBallot(f"{field}: not an integer", check="shape")
    if not low <= value <= high:
        raise InvalidBallot(f"{field}: out of range", check="shape")
    return value


def _check_coprime(n: int, units: Sequence[int]) -> None:
    # One gcd on the product mod n costs far less than a gcd per element;
    # only a failing ballot pays for locating the culprit.
    modulus = gmpy2.mpz(n)
    product = gmpy2.mpz(1)
    for value in units:
        # In gmpy2 throughout: reducing each element with Python ints first costs 4x more.
        product = product * gmpy2.mpz(value) % modulus
    if gmpy2.gcd(product, modulus) == 1:
        return
    raise InvalidBallot("an element shares a factor with n (not invertible)", check="shape")


def expected_challenges(
    params: ElectionParams, voter_context: str, ballot: Ballot
) -> tuple[list[int], int]:
    """Recompute the Fiat-Shamir challenges of a well-shaped ballot.

    Returns the challenge of each candidate's 0/1 proof and that of the
    count proof, all bound to ``params.fingerprint``, ``voter_context`` and
    every ciphertext (see ``proofs.statement_digest``).
    """
    statement = statement_digest(params.fingerprint, voter_context, ballot.ciphertexts)
    selection = [
        proof_challenge(statement, selection_label(i), SELECTION_VALUES, proof.commitments)
        for i, proof in enumerate(ballot.selection_proofs)
    ]
    count = proof_challenge(
        statement, COUNT_LABEL, params.count_values, ballot.count_proof.commitments
    )
    return selection, count


def check_challenges(params: ElectionParams, voter_context: str, ballot: Ballot) -> None:
    """Raise ``InvalidBallot`` unless every proof's branch challenges add up to its hash."""
    selection, count = expected_challenges(params, voter_context, ballot)
    for i, (proof, expected) in enumerate(zip(ballot.selection_proofs, selection, strict=True)):
        if not challenges_add_up(proof, expected):
            raise InvalidBallot(
                f"candidate {i}: 0/1 proof challenges do not match the hash",
                check="selection_challenge",
                index=i,
            )
    if not challenges_add_up(ballot.count_proof, count):
        raise InvalidBallot(
            "selection-count proof challenges do not match the hash", check="count_challenge"
        )


def verify_ballot(params: ElectionParams, voter_context: str, ballot: Ballot) -> None:
    """Verify a ballot strictly, one equation at a time.

    Takes the election, the voter context the server assigned to this
    voter, and a ballot. Returns ``None`` if the ballot is valid: every
    ciphertext encrypts 0 or 1 and the number of ones lies in
    ``[min_selections, max_selections]``. Raises ``InvalidBallot`` whose
    ``check`` names the failure (``shape``, ``selection_challenge``,
    ``selection_response``, ``count_challenge``, ``count_response``), or
    ``ParameterError`` for bad parameters or voter context.
    Cost: one exponentiation by n and one by a 128-bit challenge per
    branch, i.e. (2k + max - min + 1) of each.
    """
    if not isinstance(params, ElectionParams):
        raise ParameterError("expected ElectionParams")
    check_voter_context(voter_context)
    check_shape(params, ballot)
    check_challenges(params, voter_context, ballot)
    n, n_square = params.n, params.n_square
    for i, (c, proof) in enumerate(zip(ballot.ciphertexts, ballot.selection_proofs, strict=True)):
        branch = failing_branch(n, n_square, c, SELECTION_VALUES, proof)
        if branch is not None:
            raise InvalidBallot(
                f"candidate {i}: 0/1 proof fails for value {branch}",
                check="selection_response",
                index=i,
            )
    product = 1
    for c in ballot.ciphertexts:
        product = product * c % n_square
    branch = failing_branch(n, n_square, product, params.count_values, ballot.count_proof)
    if branch is not None:
        value = params.count_values[branch]
        raise InvalidBallot(
            f"selection-count proof fails for {value} selections", check="count_response"
        )
