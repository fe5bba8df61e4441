"""Encrypted ballots: data type, canonical JSON, strict parser and strict verifier.

A ballot has one ciphertext per slot of the election (see ``params``): for
each question, ``c_i = (1+n)^(m_i) * r_i^n mod n^2`` per option with ``m_i``
in {0, 1}, then, if the question allows it, the blank bit's ciphertext. Each
ciphertext has a 0/1 OR proof, and each question has an OR proof that
``prod c_i * c_blank^(k+1)`` encrypts one of the question's allowed values
(``QuestionParams.count_values``). The format is specified in
``docs/ballot-format.md``: v2 groups these per question; v1 (one question,
no blank) keeps its original layout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2  # type: ignore[import-untyped]

from .encoding import canonical_json, expect_list, expect_object, hex_len, int_to_hex, load_json
from .encoding import parse_hex as _parse_hex
from .errors import BallotFormatError, InvalidBallot, ParameterError
from .params import ElectionParams, QuestionParams, check_voter_context
from .proofs import (
    CHALLENGE_MODULUS,
    COUNT_LABEL,
    SELECTION_VALUES,
    OrProof,
    challenges_add_up,
    failing_branch,
    proof_challenge,
    question_labels,
    selection_label,
    statement_digest,
)

BALLOT_FORMAT = "evoting/ballot/v2"
BALLOT_FORMAT_V1 = "evoting/ballot/v1"
_BALLOT_KEYS_V1 = ("format", "ciphertexts", "selection_proofs", "count_proof")
_QUESTION_KEYS = ("ciphertexts", "selection_proofs", "count_proof")
_PROOF_KEYS = ("commitments", "challenges", "responses")


@dataclass(frozen=True)
class Ballot:
    """An encrypted ballot: a ciphertext and a 0/1 proof per slot, a count proof per question.

    ``ciphertexts`` and ``selection_proofs`` run over every slot of the
    election in order (``ElectionParams.offsets`` says where each question
    starts); ``count_proofs`` has one proof per question.
    """

    ciphertexts: tuple[int, ...]
    selection_proofs: tuple[OrProof, ...]
    count_proofs: tuple[OrProof, ...]


@dataclass(frozen=True)
class QuestionPart:
    """One question's share of a ballot, as the proofs see it."""

    index: int
    question: QuestionParams
    start: int
    ciphertexts: tuple[int, ...]
    selection_proofs: tuple[OrProof, ...]
    count_proof: OrProof

    def count_base(self, n_square: int) -> int:
        """``prod c_i * c_blank^(k+1)``: what the count proof speaks of."""
        options = len(self.question.options)
        product = gmpy2.mpz(1)
        for c in self.ciphertexts[:options]:
            product = product * c % n_square
        if self.question.blank:
            product = product * gmpy2.powmod(self.ciphertexts[options], options + 1, n_square)
        return int(product % n_square)


def question_parts(params: ElectionParams, ballot: Ballot) -> Iterator[QuestionPart]:
    """Split a well-shaped ballot into its questions."""
    for index, (question, start) in enumerate(zip(params.questions, params.offsets, strict=True)):
        end = start + question.width
        yield QuestionPart(
            index,
            question,
            start,
            ballot.ciphertexts[start:end],
            ballot.selection_proofs[start:end],
            ballot.count_proofs[index],
        )


def ballot_to_dict(ballot: Ballot, params: ElectionParams) -> dict[str, Any]:
    """Return the JSON document of a ballot in the layout of ``params.version``.

    Integers are canonical hex strings; v2 groups the slots by question.
    """
    if params.version == 1:
        return {
            "format": BALLOT_FORMAT_V1,
            "ciphertexts": [int_to_hex(c) for c in ballot.ciphertexts],
            "selection_proofs": [_proof_to_dict(p) for p in ballot.selection_proofs],
            "count_proof": _proof_to_dict(ballot.count_proofs[0]),
        }
    bounds = [(s, s + q.width) for s, q in zip(params.offsets, params.questions, strict=True)]
    return {
        "format": BALLOT_FORMAT,
        "questions": [
            {
                "ciphertexts": [int_to_hex(c) for c in ballot.ciphertexts[start:end]],
                "selection_proofs": [_proof_to_dict(p) for p in ballot.selection_proofs[start:end]],
                "count_proof": _proof_to_dict(count),
            }
            for (start, end), count in zip(bounds, ballot.count_proofs, strict=True)
        ],
    }


def _proof_to_dict(proof: OrProof) -> dict[str, list[str]]:
    return {
        "commitments": [int_to_hex(a) for a in proof.commitments],
        "challenges": [int_to_hex(e) for e in proof.challenges],
        "responses": [int_to_hex(z) for z in proof.responses],
    }


def ballot_to_json(ballot: Ballot, params: ElectionParams) -> str:
    """Return the canonical JSON text of a ballot: sorted keys, no spaces, hex integers."""
    return canonical_json(ballot_to_dict(ballot, params))


def ballot_tracker(ballot: Ballot, params: ElectionParams) -> str:
    """Return the ballot's tracker: lowercase hex SHA-256 of its canonical JSON.

    The tracker identifies the encrypted ballot on the board and reveals
    nothing about the vote (it is a hash of ciphertexts and proofs).
    """
    return tracker_of_json(ballot_to_json(ballot, params))


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

    canonical = 128 + sum(
        64 + question.width * (element + proof_bytes(2)) + proof_bytes(len(question.count_values))
        for question in params.questions
    )
    return 2 * canonical + 4096


def parse_ballot(params: ElectionParams, raw: str | bytes | dict[str, Any]) -> Ballot:
    """Parse and range-check a ballot before any arithmetic on it.

    Takes the election parameters and the ballot as JSON text, UTF-8 bytes
    or an already decoded object, in the format of the parameters' version.
    Returns a ``Ballot`` whose every element passed ``check_shape``. Raises
    ``BallotFormatError`` for oversize input (checked before decoding),
    invalid JSON, JSON numbers, missing or extra fields, wrong counts,
    non-canonical or over-long hex, and out-of-range or non-invertible
    elements. The proofs themselves are not checked here.
    """
    return _parse(params, raw)[0]


def parse_ballot_with_json(
    params: ElectionParams, raw: str | bytes | dict[str, Any]
) -> tuple[Ballot, str]:
    """Parse a ballot as ``parse_ballot`` does; return it with its canonical JSON.

    The text is what ``ballot_to_json`` would return, built from the hex
    strings as received rather than by spelling every integer again:
    parsing accepts exactly one spelling per integer and exactly the
    ballot's fields, so what passed is already canonical. Same errors.
    """
    ballot, document = _parse(params, raw)
    return ballot, canonical_json(document)


def _parse(params: ElectionParams, raw: str | bytes | dict[str, Any]) -> tuple[Ballot, Any]:
    if not isinstance(params, ElectionParams):
        raise ParameterError("expected ElectionParams")
    document = raw
    if not isinstance(raw, dict):
        document = load_json(raw, max_bytes=max_ballot_bytes(params), error=BallotFormatError)
    if params.version == 1:
        document = expect_object(
            document, keys=_BALLOT_KEYS_V1, field="ballot", error=BallotFormatError
        )
        if document["format"] != BALLOT_FORMAT_V1:
            raise BallotFormatError("ballot: unknown format")
        parts = [document]
        labels = ["ballot"]
    else:
        document = expect_object(
            document, keys=("format", "questions"), field="ballot", error=BallotFormatError
        )
        if document["format"] != BALLOT_FORMAT:
            raise BallotFormatError("ballot: unknown format")
        parts = expect_list(
            document["questions"],
            length=len(params.questions),
            field="questions",
            error=BallotFormatError,
        )
        labels = [f"question {number}" for number in range(1, len(parts) + 1)]
    ciphertexts: list[int] = []
    selection: list[OrProof] = []
    counts: list[OrProof] = []
    for part, question, label in zip(parts, params.questions, labels, strict=True):
        if params.version == 2:
            part = expect_object(part, keys=_QUESTION_KEYS, field=label, error=BallotFormatError)
        found = _parse_question(params, question, part, label if params.version == 2 else "")
        ciphertexts.extend(found[0])
        selection.extend(found[1])
        counts.append(found[2])
    ballot = Ballot(tuple(ciphertexts), tuple(selection), tuple(counts))
    try:
        check_shape(params, ballot)
    except InvalidBallot as exc:
        raise BallotFormatError(str(exc)) from None
    return ballot, document


def _parse_question(
    params: ElectionParams, question: QuestionParams, part: dict[str, Any], label: str
) -> tuple[list[int], list[OrProof], OrProof]:
    where = label + " " if label else ""
    element_digits = hex_len(params.n_square - 1)
    items = expect_list(
        part["ciphertexts"],
        length=question.width,
        field=f"{where}ciphertexts",
        error=BallotFormatError,
    )
    ciphertexts = [
        _parse_hex(
            c, field=f"{where}ciphertext {i}", max_digits=element_digits, error=BallotFormatError
        )
        for i, c in enumerate(items)
    ]
    proofs = expect_list(
        part["selection_proofs"],
        length=question.width,
        field=f"{where}selection_proofs",
        error=BallotFormatError,
    )
    selection = [
        _parse_proof(params, proof, len(SELECTION_VALUES), f"{where}selection proof {i}")
        for i, proof in enumerate(proofs)
    ]
    count = _parse_proof(
        params, part["count_proof"], len(question.count_values), f"{where}count proof"
    )
    return ciphertexts, selection, count


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
    challenges in [0, 2^128); exactly one ciphertext and one two-branch
    proof per slot, and per question one count proof with a branch per
    allowed value. Raises ``InvalidBallot`` with ``check="shape"``. Both
    verifiers call this first, so they agree on what a well-formed ballot is.
    """
    if not isinstance(ballot, Ballot):
        raise InvalidBallot("not a Ballot", check="shape")
    slots = params.slot_count
    if not isinstance(ballot.ciphertexts, tuple) or len(ballot.ciphertexts) != slots:
        raise InvalidBallot(f"expected {slots} ciphertexts", check="shape")
    if not isinstance(ballot.selection_proofs, tuple) or len(ballot.selection_proofs) != slots:
        raise InvalidBallot(f"expected {slots} selection proofs", check="shape")
    questions = len(params.questions)
    if not isinstance(ballot.count_proofs, tuple) or len(ballot.count_proofs) != questions:
        raise InvalidBallot(f"expected {questions} count proofs", check="shape")
    units: list[int] = []
    for i, c in enumerate(ballot.ciphertexts):
        units.append(_in_range(c, 1, params.n_square - 1, f"ciphertext {i}"))
    for i, proof in enumerate(ballot.selection_proofs):
        units.extend(_proof_units(params, proof, len(SELECTION_VALUES), f"selection proof {i}"))
    for number, (question, proof) in enumerate(
        zip(params.questions, ballot.count_proofs, strict=True), start=1
    ):
        field = "count proof" if params.version == 1 else f"question {number} count proof"
        units.extend(_proof_units(params, proof, len(question.count_values), field))
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


def _slot_label(params: ElectionParams, slot: int) -> str:
    return f"candidate {slot}" if params.version == 1 else params.slot_name(slot)


def _question_label(params: ElectionParams, part: QuestionPart) -> str:
    return (
        "selection-count proof" if params.version == 1 else f"question {part.index + 1} count proof"
    )


def expected_challenges(
    params: ElectionParams, voter_context: str, ballot: Ballot
) -> tuple[list[int], list[int]]:
    """Recompute the Fiat-Shamir challenges of a well-shaped ballot.

    Returns the challenge of each slot's 0/1 proof and that of each
    question's count proof, all bound to ``params.fingerprint``,
    ``voter_context``, every ciphertext of the ballot and the proof's label
    (see ``proofs.statement_digest`` and ``proofs.question_labels``).
    """
    version = params.version
    statement = statement_digest(params.fingerprint, voter_context, ballot.ciphertexts, version)
    selection: list[int] = []
    counts: list[int] = []
    for part in question_parts(params, ballot):
        if version == 1:
            labels = [selection_label(i) for i in range(part.question.width)]
            count_label = COUNT_LABEL
        else:
            labels, count_label = question_labels(
                part.index, len(part.question.options), part.question.blank
            )
        selection.extend(
            proof_challenge(statement, label, SELECTION_VALUES, proof.commitments, version)
            for label, proof in zip(labels, part.selection_proofs, strict=True)
        )
        counts.append(
            proof_challenge(
                statement,
                count_label,
                part.question.count_values,
                part.count_proof.commitments,
                version,
            )
        )
    return selection, counts


def check_challenges(params: ElectionParams, voter_context: str, ballot: Ballot) -> None:
    """Raise ``InvalidBallot`` unless every proof's branch challenges add up to its hash."""
    selection, counts = expected_challenges(params, voter_context, ballot)
    for i, (proof, expected) in enumerate(zip(ballot.selection_proofs, selection, strict=True)):
        if not challenges_add_up(proof, expected):
            raise InvalidBallot(
                f"{_slot_label(params, i)}: 0/1 proof challenges do not match the hash",
                check="selection_challenge",
                index=i,
            )
    for part, expected in zip(question_parts(params, ballot), counts, strict=True):
        if not challenges_add_up(part.count_proof, expected):
            raise InvalidBallot(
                f"{_question_label(params, part)} challenges do not match the hash",
                check="count_challenge",
                index=part.index,
            )


def verify_ballot(params: ElectionParams, voter_context: str, ballot: Ballot) -> None:
    """Verify a ballot strictly, one equation at a time.

    Takes the election, the voter context the server assigned to this
    voter, and a ballot. Returns ``None`` if the ballot is valid: every
    ciphertext encrypts 0 or 1 and each question's answer is allowed (between
    its minimum and maximum number of choices, or a blank with nothing
    else). Raises ``InvalidBallot`` whose ``check`` names the failure
    (``shape``, ``selection_challenge``, ``selection_response``,
    ``count_challenge``, ``count_response``; ``index`` is the slot or the
    question), or ``ParameterError`` for bad parameters or voter context.
    Cost: one exponentiation by n and one by a 128-bit challenge per
    branch: two per slot plus one per allowed value of each question.
    """
    if not isinstance(params, ElectionParams):
        raise ParameterError("expected ElectionParams")
    check_voter_context(voter_context)
    check_shape(params, ballot)
    check_challenges(params, voter_context, ballot)
    n, n_square, version = params.n, params.n_square, params.version
    for i, (c, proof) in enumerate(zip(ballot.ciphertexts, ballot.selection_proofs, strict=True)):
        branch = failing_branch(n, n_square, c, SELECTION_VALUES, proof, version)
        if branch is not None:
            raise InvalidBallot(
                f"{_slot_label(params, i)}: 0/1 proof fails for value {branch}",
                check="selection_response",
                index=i,
            )
    for part in question_parts(params, ballot):
        values = part.question.count_values
        base = part.count_base(n_square)
        branch = failing_branch(n, n_square, base, values, part.count_proof, version)
        if branch is not None:
            value = values[branch]
            what = (
                "a blank vote"
                if value == part.question.blank_weight and part.question.blank
                else f"{value} selections"
            )
            raise InvalidBallot(
                f"{_question_label(params, part)} fails for {what}",
                check="count_response",
                index=part.index,
            )
