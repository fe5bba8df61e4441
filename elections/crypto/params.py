"""Election parameters: the public statement every ballot proof is bound to.

Two formats exist. ``evoting/election-params/v2`` (every new election) has
one or more questions, each with its options, its selection bounds and
whether a blank vote is allowed, and binds every label a voter reads: the
election title, each question's title, description and rules, each option's
name, affiliation and position. ``evoting/election-params/v1`` (elections
created before questions existed) has one list of candidate identifiers and
one pair of bounds; it is read as a single question without labels so that
old records keep verifying. ``docs/ballot-format.md`` specifies both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from phe import paillier

from .encoding import (
    canonical_json,
    check_label,
    check_text,
    expect_object,
    hex_len,
    int_to_hex,
    load_json,
    parse_hex,
)
from .errors import CryptoError, ParameterError
from .keys import MAX_KEY_BITS, check_modulus, check_public_key

PARAMS_FORMAT = "evoting/election-params/v2"
PARAMS_FORMAT_V1 = "evoting/election-params/v1"
FORMAT_VERSIONS = {PARAMS_FORMAT_V1: 1, PARAMS_FORMAT: 2}
MAX_ID_LENGTH = 128
MAX_VOTER_CONTEXT = 200
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_NAME_LENGTH = 120
# Limits of the v2 format. A ballot carries a ciphertext and a 0/1 proof per
# option and per blank, so its size and cost follow MAX_SLOTS.
MAX_QUESTIONS = 20
MAX_OPTIONS_PER_QUESTION = 64
MAX_SLOTS = 256
# v1 allowed up to 256 candidates in its single question.
MAX_CANDIDATES = 256
# Room for the longest labels at the limits, every code point escaped as a surrogate pair.
MAX_PARAMS_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class OptionParams:
    """One answer of a question: an identifier, and (v2) the name and affiliation shown.

    Its position is its index in the question plus one; the canonical
    encoding writes it out so that reordering options changes the fingerprint.
    """

    id: str
    name: str = ""
    affiliation: str = ""


@dataclass(frozen=True)
class QuestionParams:
    """One question: options in ballot order, selection bounds, blank allowed or not.

    A ballot selects between ``min_selections`` and ``max_selections`` options,
    or, when ``blank`` is true, votes blank (selects nothing and says so).
    """

    options: tuple[OptionParams, ...]
    min_selections: int = 1
    max_selections: int = 1
    blank: bool = False
    title: str = ""
    description: str = ""

    @property
    def width(self) -> int:
        """Ciphertexts of this question in a ballot: one per option, plus the blank's."""
        return len(self.options) + int(self.blank)

    @property
    def blank_weight(self) -> int:
        """The blank ciphertext's exponent in the count proof's base: options + 1.

        The count proof speaks of ``T = S + (k + 1) * b`` (``S`` options chosen,
        ``b`` the blank bit). As ``0 <= S <= k``, ``T`` determines both, so
        allowing the values ``[min, max]`` and ``k + 1`` allows exactly the
        valid answers and a blank with nothing else.
        """
        return len(self.options) + 1

    @property
    def count_values(self) -> tuple[int, ...]:
        """The allowed values of the count: ``min`` to ``max``, then ``k + 1`` if blank."""
        values = tuple(range(self.min_selections, self.max_selections + 1))
        return values + ((self.blank_weight,) if self.blank else ())


@dataclass(frozen=True)
class ElectionParams:
    """The public parameters of one election, in format ``version`` 1 or 2.

    ``__post_init__`` raises ``ParameterError`` for an invalid combination,
    a label that is not canonical text, a structure over the limits, or a
    key under the 2048-bit floor (see ``keys.allow_small_keys_for_tests``).
    A ballot has one ciphertext per *slot*: the options of every question
    in order, each question's blank (if allowed) after its options.
    """

    election_id: str
    public_key: paillier.PaillierPublicKey
    questions: tuple[QuestionParams, ...]
    title: str = ""
    version: int = 2

    def __post_init__(self) -> None:
        check_text(
            self.election_id, field="election id", max_len=MAX_ID_LENGTH, error=ParameterError
        )
        check_public_key(self.public_key)
        if self.version not in (1, 2):
            raise ParameterError("unknown parameters version")
        if not isinstance(self.questions, tuple | list):
            raise ParameterError("questions must be a sequence")
        object.__setattr__(self, "questions", tuple(self.questions))
        if self.version == 1:
            self._check_v1()
        else:
            self._check_v2()
        ids = [option.id for question in self.questions for option in question.options]
        if len(set(ids)) != len(ids):
            raise ParameterError("option identifiers must be unique in the election")

    def _check_v1(self) -> None:
        if len(self.questions) != 1 or self.title:
            raise ParameterError("v1 parameters have one question and no title")
        question = self.questions[0]
        if question.blank or question.title or question.description:
            raise ParameterError("v1 parameters have no blank vote and no labels")
        if not 1 <= len(question.options) <= MAX_CANDIDATES:
            raise ParameterError(f"an election needs 1 to {MAX_CANDIDATES} candidates")
        for option in question.options:
            if not isinstance(option, OptionParams) or option.name or option.affiliation:
                raise ParameterError("v1 candidates are identifiers only")
            check_text(option.id, field="candidate", max_len=MAX_ID_LENGTH, error=ParameterError)
        _check_bounds(question, "candidates")

    def _check_v2(self) -> None:
        check_ballot_structure(self.title, self.questions)

    @cached_property
    def n(self) -> int:
        """The Paillier modulus."""
        return int(self.public_key.n)

    @cached_property
    def n_square(self) -> int:
        """n^2, the modulus of ciphertexts."""
        return self.n * self.n

    @cached_property
    def half_n(self) -> int:
        """(n - 1) / 2, the largest canonical proof response."""
        return (self.n - 1) // 2

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 hex of ``params_to_json(self)``: binds proofs and key files to this election."""
        return hashlib.sha256(params_to_json(self).encode("ascii")).hexdigest()

    @cached_property
    def slot_count(self) -> int:
        """The number of ciphertexts in a ballot (and in the running tally)."""
        return sum(question.width for question in self.questions)

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        """The slot index of each question's first ciphertext."""
        starts, position = [], 0
        for question in self.questions:
            starts.append(position)
            position += question.width
        return tuple(starts)

    @cached_property
    def option_ids(self) -> tuple[str, ...]:
        """Every option's identifier, questions in order (blank slots excluded)."""
        return tuple(option.id for question in self.questions for option in question.options)

    def slot_title(self, slot: int) -> str:
        """Name a slot in messages: ``candidate <id>`` (v1) or ``slot_name`` (v2)."""
        return f"candidate {self.option_ids[slot]}" if self.version == 1 else self.slot_name(slot)

    def slot_name(self, slot: int) -> str:
        """Name a slot for messages: ``question 2, option 3`` or ``question 1, blank``."""
        for number, (start, question) in enumerate(
            zip(self.offsets, self.questions, strict=True), start=1
        ):
            if start <= slot < start + question.width:
                index = slot - start
                if index == len(question.options):
                    return f"question {number}, blank"
                return f"question {number}, option {index + 1}"
        raise ParameterError("no such slot")


def check_ballot_structure(title: object, questions: object) -> None:
    """Check a v2 election's title and questions without a key; raise ``ParameterError``.

    The same rules as ``ElectionParams`` (labels, bounds, limits, unique option
    ids), so a definition can be refused before any key exists.
    """
    check_label(title, field="title", max_len=MAX_TITLE_LENGTH, error=ParameterError)
    if not isinstance(questions, tuple | list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        raise ParameterError(f"an election needs 1 to {MAX_QUESTIONS} questions")
    for number, question in enumerate(questions, start=1):
        _check_question(question, f"question {number}")
    slots = sum(question.width for question in questions)
    if slots > MAX_SLOTS:
        raise ParameterError(f"{slots} options and blank votes in all; at most {MAX_SLOTS}")
    ids = [option.id for question in questions for option in question.options]
    if len(set(ids)) != len(ids):
        raise ParameterError("option identifiers must be unique in the election")


def _check_bounds(question: QuestionParams, what: str) -> None:
    for bound in (question.min_selections, question.max_selections):
        if not isinstance(bound, int) or isinstance(bound, bool):
            raise ParameterError("selection bounds must be integers")
    if not 0 <= question.min_selections <= question.max_selections <= len(question.options):
        raise ParameterError(f"need 0 <= min_selections <= max_selections <= {what}")


def _check_question(question: object, where: str) -> None:
    if not isinstance(question, QuestionParams):
        raise ParameterError(f"{where}: expected QuestionParams")
    if not isinstance(question.options, tuple | list):
        raise ParameterError(f"{where}: options must be a sequence")
    object.__setattr__(question, "options", tuple(question.options))
    check_label(
        question.title, field=f"{where} title", max_len=MAX_TITLE_LENGTH, error=ParameterError
    )
    check_label(
        question.description,
        field=f"{where} description",
        max_len=MAX_DESCRIPTION_LENGTH,
        error=ParameterError,
        required=False,
        newlines=True,
    )
    if not 1 <= len(question.options) <= MAX_OPTIONS_PER_QUESTION:
        raise ParameterError(f"{where}: needs 1 to {MAX_OPTIONS_PER_QUESTION} options")
    if not isinstance(question.blank, bool):
        raise ParameterError(f"{where}: blank must be true or false")
    _check_bounds(question, "options")
    if question.max_selections < 1:
        raise ParameterError(f"{where}: at least one option must be selectable")
    for number, option in enumerate(question.options, start=1):
        field = f"{where} option {number}"
        if not isinstance(option, OptionParams):
            raise ParameterError(f"{field}: expected OptionParams")
        check_text(option.id, field=f"{field} id", max_len=MAX_ID_LENGTH, error=ParameterError)
        check_label(
            option.name, field=f"{field} name", max_len=MAX_NAME_LENGTH, error=ParameterError
        )
        check_label(
            option.affiliation,
            field=f"{field} affiliation",
            max_len=MAX_NAME_LENGTH,
            error=ParameterError,
            required=False,
        )


def single_question_params(
    election_id: str,
    public_key: paillier.PaillierPublicKey,
    candidates: tuple[str, ...] | list[str],
    min_selections: int = 1,
    max_selections: int = 1,
) -> ElectionParams:
    """Build v1 parameters: one list of candidate identifiers and one pair of bounds."""
    if not isinstance(candidates, tuple | list):
        raise ParameterError("candidates must be a sequence of identifiers")
    return ElectionParams(
        election_id=election_id,
        public_key=public_key,
        questions=(
            QuestionParams(
                options=tuple(OptionParams(id=c) for c in candidates),
                min_selections=min_selections,
                max_selections=max_selections,
            ),
        ),
        version=1,
    )


def params_to_dict(params: ElectionParams) -> dict[str, Any]:
    """Return the parameters' JSON document (integers as canonical hex strings)."""
    if params.version == 1:
        question = params.questions[0]
        return {
            "format": PARAMS_FORMAT_V1,
            "election_id": params.election_id,
            "n": int_to_hex(params.n),
            "candidates": list(params.option_ids),
            "min_selections": int_to_hex(question.min_selections),
            "max_selections": int_to_hex(question.max_selections),
        }
    return {
        "format": PARAMS_FORMAT,
        "election_id": params.election_id,
        "title": params.title,
        "n": int_to_hex(params.n),
        "questions": [
            {
                "title": question.title,
                "description": question.description,
                "min_selections": int_to_hex(question.min_selections),
                "max_selections": int_to_hex(question.max_selections),
                "blank": "1" if question.blank else "0",
                "options": [
                    {
                        "id": option.id,
                        "name": option.name,
                        "affiliation": option.affiliation,
                        "position": int_to_hex(position),
                    }
                    for position, option in enumerate(question.options, start=1)
                ],
            }
            for question in params.questions
        ],
    }


def params_to_json(params: ElectionParams) -> str:
    """Return the canonical JSON of the parameters (the fingerprint's preimage).

    Sorted keys, no spaces, every non-ASCII character escaped as ``\\uXXXX``;
    the layout of each version is in ``docs/ballot-format.md``. The browser
    worker receives exactly this document and hashes it again.
    """
    return canonical_json(params_to_dict(params))


def params_from_json(text: str | bytes) -> ElectionParams:
    """Parse ``params_to_json`` output (v1 or v2) strictly; raises ``ParameterError``."""
    document: Any = load_json(text, max_bytes=MAX_PARAMS_BYTES, error=ParameterError)
    return params_from_dict(document)


def params_from_dict(document: object) -> ElectionParams:
    """Build parameters from a decoded JSON document of either version; strict."""
    if not isinstance(document, dict):
        raise ParameterError("params: expected an object")
    tag = document.get("format")
    version = FORMAT_VERSIONS.get(tag) if isinstance(tag, str) else None
    if version is None:
        raise ParameterError("params: unknown format")
    n_digits = hex_len(2**MAX_KEY_BITS)
    if version == 1:
        keys = ("format", "election_id", "n", "candidates", "min_selections", "max_selections")
        document = expect_object(document, keys=keys, field="params", error=ParameterError)
        candidates = document["candidates"]
        if not isinstance(candidates, list):
            raise ParameterError("params: candidates must be an array")
        n = parse_hex(document["n"], field="n", max_digits=n_digits, error=ParameterError)
        low, high = (
            parse_hex(document[key], field=key, max_digits=4, error=ParameterError)
            for key in ("min_selections", "max_selections")
        )
        return single_question_params(
            document["election_id"],
            paillier.PaillierPublicKey(check_modulus(n)),
            tuple(candidates),
            low,
            high,
        )
    document = expect_object(
        document,
        keys=("format", "election_id", "title", "n", "questions"),
        field="params",
        error=ParameterError,
    )
    n = parse_hex(document["n"], field="n", max_digits=n_digits, error=ParameterError)
    questions = document["questions"]
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        raise ParameterError(f"params: questions must be an array of 1 to {MAX_QUESTIONS}")
    return ElectionParams(
        election_id=document["election_id"],
        public_key=paillier.PaillierPublicKey(check_modulus(n)),
        questions=tuple(
            _question_from_dict(item, f"question {number}")
            for number, item in enumerate(questions, start=1)
        ),
        title=document["title"],
        version=2,
    )


def _question_from_dict(value: object, where: str) -> QuestionParams:
    keys = ("title", "description", "min_selections", "max_selections", "blank", "options")
    document = expect_object(value, keys=keys, field=where, error=ParameterError)
    if document["blank"] not in ("0", "1"):
        raise ParameterError(f'{where}: blank must be "0" or "1"')
    options = document["options"]
    if not isinstance(options, list) or not 1 <= len(options) <= MAX_OPTIONS_PER_QUESTION:
        raise ParameterError(
            f"{where}: options must be an array of 1 to {MAX_OPTIONS_PER_QUESTION}"
        )
    parsed = []
    for position, item in enumerate(options, start=1):
        field = f"{where} option {position}"
        option = expect_object(
            item, keys=("id", "name", "affiliation", "position"), field=field, error=ParameterError
        )
        if (
            parse_hex(option["position"], field=field, max_digits=4, error=ParameterError)
            != position
        ):
            raise ParameterError(f"{field}: positions must count from 1 in ballot order")
        parsed.append(OptionParams(option["id"], option["name"], option["affiliation"]))
    low, high = (
        parse_hex(document[key], field=f"{where} {key}", max_digits=4, error=ParameterError)
        for key in ("min_selections", "max_selections")
    )
    return QuestionParams(
        options=tuple(parsed),
        min_selections=low,
        max_selections=high,
        blank=document["blank"] == "1",
        title=document["title"],
        description=document["description"],
    )


def check_voter_context(voter_context: object, *, error: type[CryptoError] = ParameterError) -> str:
    """Check the voter context proofs are bound to: 1-200 printable ASCII.

    Today the server assigns it (a pseudonym of the voter in this election);
    it is the slot a voter's public credential will fill when ballots are
    signed, which changes no proof.
    """
    return check_text(voter_context, field="voter context", max_len=MAX_VOTER_CONTEXT, error=error)
