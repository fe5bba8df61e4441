"""Audited ballots (Benaloh's cast-or-audit): a ballot opened instead of cast.

After encrypting, the booth shows the ballot's tracker; the voter may then
audit that ballot instead of casting it. The booth reveals every slot's
choice ``m_s`` and randomness ``r_s``, and anyone can check that each
ciphertext is ``(1 + m_s n) r_s^n mod n^2``: the device encrypted exactly
the revealed choices. As the device cannot tell beforehand which ballot will
be audited, a device that encrypts something else is caught with the
probability that its voter audits. ``docs/ballot-format.md`` ("Audited
ballot") gives the format byte by byte.

Threat model. Protects against a voting device (or a page served to it)
that encrypts another choice than the voter's: an audit shows it. Does not
protect against a device that cheats only on the ballots it guesses will be
cast, beyond the voter's chance of auditing; and an audited ballot reveals
its choices to everyone and, through its proofs (bound to the voter
context), to the server which voter audited it. The proofs are not checked
here: their statement needs the voter context, which is not published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2  # type: ignore[import-untyped]

from .ballots import Ballot, ballot_to_dict, max_ballot_bytes, parse_ballot, tracker_of_json
from .client import BallotPrecomputation, check_selections
from .encoding import (
    canonical_json,
    expect_list,
    expect_object,
    hex_len,
    int_to_hex,
    load_json,
    parse_hex,
)
from .errors import CryptoError, ParameterError
from .params import ElectionParams

AUDITED_FORMAT = "evoting/audited-ballot/v1"
_FIELDS = (
    "format",
    "election_id",
    "params_fingerprint",
    "tracker",
    "ballot",
    "choices",
    "randomness",
)


class InvalidAudit(CryptoError):
    """An audited ballot is malformed, of other parameters, or does not open to its choices."""


@dataclass(frozen=True)
class AuditedBallot:
    """A ballot with its revealed choices (one 0/1 per slot) and randomness."""

    params: ElectionParams
    tracker: str
    ballot: Ballot
    choices: tuple[int, ...]
    randomness: tuple[int, ...]

    def to_json(self) -> str:
        """The canonical JSON of the audited ballot (``docs/ballot-format.md``)."""
        return canonical_json(
            {
                "format": AUDITED_FORMAT,
                "election_id": self.params.election_id,
                "params_fingerprint": self.params.fingerprint,
                "tracker": self.tracker,
                "ballot": ballot_to_dict(self.ballot, self.params),
                "choices": [int_to_hex(m) for m in self.choices],
                "randomness": [int_to_hex(r) for r in self.randomness],
            }
        )

    def chosen_slots(self) -> list[int]:
        """The slots whose revealed choice is 1."""
        return [slot for slot, m in enumerate(self.choices) if m == 1]

    def answers_in_words(self) -> list[tuple[str, str]]:
        """Each question's revealed choice: option names, ``blank vote`` or ``nothing``."""
        return answers_in_words(self.params, self.choices)


def answers_in_words(params: ElectionParams, choices: Sequence[int]) -> list[tuple[str, str]]:
    """(question title, revealed answer in words) per question, for one 0/1 per slot.

    A question without a title (v1) is named ``question <number>``.
    """
    answers = []
    for number, (question, start) in enumerate(
        zip(params.questions, params.offsets, strict=True), start=1
    ):
        picked = [
            option.name
            for index, option in enumerate(question.options)
            if choices[start + index] == 1
        ]
        blank = question.blank and choices[start + len(question.options)] == 1
        title = question.title or f"question {number}"
        answers.append((title, "blank vote" if blank else ", ".join(picked) or "nothing"))
    return answers


def audit_ballot(
    pre: BallotPrecomputation, ballot: Ballot, selections: Sequence[int]
) -> AuditedBallot:
    """Open ``ballot``, made by ``finish_ballot(pre, selections)``, for an audit.

    The precomputation is then spent: a ballot that was audited must never be
    cast, and its randomness never used again (the caller precomputes
    afresh). Raises ``InvalidAudit`` if the ballot was not made from ``pre``
    and ``selections`` (checked by re-encrypting it).
    """
    params = pre.params
    audited = AuditedBallot(
        params,
        tracker_of_json(canonical_json(ballot_to_dict(ballot, params))),
        ballot,
        tuple(selections),
        tuple(work.r for work in pre.slots),
    )
    _check_opening(audited)
    return audited


def max_audited_bytes(params: ElectionParams) -> int:
    """The largest audited ballot accepted: the ballot's cap and two numbers per slot."""
    return max_ballot_bytes(params) + params.slot_count * (hex_len(params.n) + 16) + 1024


def check_audited_ballot(
    params: ElectionParams, document: bytes | str | dict[str, Any]
) -> AuditedBallot:
    """Read an audited ballot of ``params`` and check that it opens to its choices.

    Checks the format and exactly its fields; the election id and the
    parameters' fingerprint; the ballot's shape and ranges (not its proofs);
    the tracker; one choice (0 or 1) and one randomness (in ``[1, n)``,
    invertible) per slot; each ciphertext's re-encryption; the question
    rules of the revealed choices. Raises ``InvalidAudit`` naming the check
    and, for a slot, ``question q, option i`` or ``question q, blank``.
    Costs one exponentiation by ``n`` modulo ``n^2`` per slot.
    """
    if not isinstance(params, ElectionParams):
        raise ParameterError("expected ElectionParams")
    if not isinstance(document, dict):
        limit = max_audited_bytes(params)
        document = load_json(document, max_bytes=limit, error=InvalidAudit)
    document = expect_object(document, keys=_FIELDS, field="audited ballot", error=InvalidAudit)
    if document["format"] != AUDITED_FORMAT:
        raise InvalidAudit(f"not an audited ballot (expected format {AUDITED_FORMAT})")
    if document["election_id"] != params.election_id:
        raise InvalidAudit("the audited ballot is of another election")
    if document["params_fingerprint"] != params.fingerprint:
        raise InvalidAudit("the audited ballot is for other election parameters (fingerprint)")
    try:
        ballot = parse_ballot(params, document["ballot"])
    except CryptoError as error:
        raise InvalidAudit(f"the audited ballot's ballot: {error}") from None
    tracker = tracker_of_json(canonical_json(ballot_to_dict(ballot, params)))
    if document["tracker"] != tracker:
        raise InvalidAudit("the tracker is not the SHA-256 of the ballot")
    choices = _numbers(document["choices"], params, "choices", 1)
    randomness = _numbers(document["randomness"], params, "randomness", hex_len(params.n))
    audited = AuditedBallot(params, tracker, ballot, choices, randomness)
    _check_opening(audited)
    try:
        check_selections(params, list(choices))
    except ParameterError as error:
        raise InvalidAudit(f"the revealed choices break a rule: {error}") from None
    return audited


def _numbers(value: object, params: ElectionParams, field: str, digits: int) -> tuple[int, ...]:
    items = expect_list(
        value, length=params.slot_count, field=f"{field} (one per slot)", error=InvalidAudit
    )
    return tuple(
        parse_hex(
            item, field=f"{field}: {params.slot_title(slot)}", max_digits=digits, error=InvalidAudit
        )
        for slot, item in enumerate(items)
    )


def _check_opening(audited: AuditedBallot) -> None:
    params = audited.params
    n, n_square = params.n, params.n_square
    for slot, (c, m, r) in enumerate(
        zip(audited.ballot.ciphertexts, audited.choices, audited.randomness, strict=True)
    ):
        where = params.slot_title(slot)
        if m not in (0, 1):
            raise InvalidAudit(f"{where}: a revealed choice must be 0 or 1")
        if not 0 < r < n or gmpy2.gcd(r, n) != 1:
            raise InvalidAudit(f"{where}: the revealed randomness is out of range")
        if (1 + m * n) * gmpy2.powmod(r, n, n_square) % n_square != c:
            raise InvalidAudit(
                f"{where}: the ciphertext is not the encryption of the revealed choice "
                "with the revealed randomness"
            )
