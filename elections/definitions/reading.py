"""Reading a definition file: strict, complete, and without the database.

Every problem in a file is reported with the JSON path of the value at fault
(``questions[1].options[0].name``, indices from 0), not only the first. Text is
normalised to Unicode NFC, then held to the ballot format's label rules and
limits (the same ``check_label``, constants and, last, ``check_ballot_structure``),
so whatever reads here can also be opened. Sizes are capped before decoding and
JSON numbers are turned into integers only when short, so no input costs more
than reading it.
"""

from __future__ import annotations

import codecs
import difflib
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from elections import crypto
from elections.crypto.encoding import check_label
from elections.crypto.params import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_OPTIONS_PER_QUESTION,
    MAX_QUESTIONS,
    MAX_SLOTS,
    MAX_TITLE_LENGTH,
)
from elections.models import RollMode

from .document import (
    DEFINITION_FORMAT,
    ELECTION_KEYS,
    MAX_DEFINITION_BYTES,
    MAX_ELECTION_DESCRIPTION_LENGTH,
    MAX_MOMENT_LENGTH,
    MAX_SLUG_LENGTH,
    MAX_STATEMENT_LENGTH,
    MAX_USERNAME_LENGTH,
    OPTION_KEYS,
    QUESTION_KEYS,
    DefinitionError,
    ElectionDefinition,
    OptionDefinition,
    Problem,
    ProblemList,
    QuestionDefinition,
    as_bytes,
    quote,
)


def parse_definition(definition: bytes | str) -> ElectionDefinition:
    """Read and check a definition; raise ``DefinitionError`` listing every problem.

    Checks everything the file alone decides. Whether its identifier is free and
    its usernames name approved candidate accounts is for
    ``elections.definitions.load_definition`` to check.
    """
    problems = ProblemList()
    parsed = read_definition(definition, problems)
    if parsed is None or problems:
        raise problems.error()
    return parsed


def read_definition(definition: bytes | str, problems: ProblemList) -> ElectionDefinition | None:
    """Read a definition, adding what is wrong to ``problems``.

    Returns ``None`` when the file is not a definition at all (not JSON, not an
    object, another format); otherwise a definition in which the values at fault
    are replaced by defaults, so that the caller can check the rest (against the
    database) and report everything at once.
    """
    return _Reader(problems).read(definition)


@dataclass(frozen=True)
class _Number:
    """A JSON number the format has no use for: a fraction, an exponent, NaN, or huge."""

    token: str


class _JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers the keys it had more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _JsonObject:
    document = _JsonObject()
    repeated = []
    for key, value in pairs:
        if key in document:
            repeated.append(key)
        document[key] = value
    document.duplicates = tuple(repeated)
    return document


def _small_int(token: str) -> int | _Number:
    # Every integer of the format is at most a few hundred; refusing long tokens
    # here keeps Python's int() away from 5,000-digit numbers.
    return int(token) if len(token) <= 9 else _Number(token)


def _decode(definition: bytes | str) -> Any:
    """The decoded JSON document; raises ``DefinitionError`` for a file that is not one."""
    if not isinstance(definition, bytes | str):
        raise DefinitionError([Problem("", "expected the text of a JSON file")])
    if len(definition) > MAX_DEFINITION_BYTES or len(as_bytes(definition)) > MAX_DEFINITION_BYTES:
        raise DefinitionError(
            [Problem("", f"larger than {MAX_DEFINITION_BYTES // (1024 * 1024)} MiB")]
        )
    if isinstance(definition, str):
        text = definition
    else:
        # A byte-order mark, as some editors write, is skipped (RFC 8259 allows it).
        start = len(codecs.BOM_UTF8) if definition.startswith(codecs.BOM_UTF8) else 0
        try:
            text = definition[start:].decode("utf-8")
        except UnicodeDecodeError as error:
            position = start + error.start
            line = definition[:position].count(b"\n") + 1
            message = f"not UTF-8 text (byte {position}, line {line})"
            raise DefinitionError([Problem("", message)]) from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_object_pairs,
            parse_int=_small_int,
            parse_float=_Number,
            parse_constant=_Number,
        )
    except json.JSONDecodeError as error:
        message = f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        raise DefinitionError([Problem("", message)]) from None
    except RecursionError:
        raise DefinitionError([Problem("", "not valid JSON: nested too deeply")]) from None


def _describe(value: object) -> str:
    """A JSON value as a message names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _Number):
        token = value.token if len(value.token) <= 20 else value.token[:20] + "..."
        return f"the number {token}"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {quote(value)}" if len(value) <= 40 else "a string"
    return "an array" if isinstance(value, list) else "an object"


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Reader:
    """Walks a decoded definition, collecting every problem with its path."""

    def __init__(self, problems: ProblemList) -> None:
        self.problems = problems

    def add(self, path: str, message: str) -> None:
        self.problems.add(path, message)

    def read(self, definition: bytes | str) -> ElectionDefinition | None:
        try:
            document = _decode(definition)
        except DefinitionError as error:
            for problem in error.problems:
                self.add(problem.path, problem.message)
            return None
        fields = self.fields(document, "", ELECTION_KEYS, required=("format", "title"))
        if fields is None:
            return None
        if "format" in fields and fields["format"] != DEFINITION_FORMAT:
            # Another version's fields mean other things: report that alone.
            self.problems.listed = []
            self.problems.unlisted = 0
            self.add(
                "format",
                f"{_describe(fields['format'])} is not a format this site reads; "
                f"expected {DEFINITION_FORMAT!r}",
            )
            return None
        parsed = self.election(fields)
        if not self.problems:
            self.ballot_format_check(parsed)
        return parsed

    def election(self, fields: dict[str, Any]) -> ElectionDefinition:
        # Fields are read in the documented order, so problems are listed in it too.
        title = self.text(fields, "title", "", max_len=MAX_TITLE_LENGTH, required=True)
        description = self.text(
            fields, "description", "", max_len=MAX_ELECTION_DESCRIPTION_LENGTH, newlines=True
        )
        slug = self.slug(fields)
        opens_at = self.moment(fields, "opens_at")
        closes_at = self.moment(fields, "closes_at")
        if opens_at and closes_at and opens_at >= closes_at:
            self.add("closes_at", "must be later than opens_at")
        return ElectionDefinition(
            title=title,
            description=description,
            slug=slug,
            opens_at=opens_at,
            closes_at=closes_at,
            roll_mode=self.roll_mode(fields),
            questions=self.questions(fields),
        )

    def fields(
        self, value: object, path: str, keys: Sequence[str], *, required: Iterable[str]
    ) -> dict[str, Any] | None:
        """``value`` if it is an object; reports repeated, unknown and missing keys."""
        if not isinstance(value, dict):
            self.add(path, f"expected an object, got {_describe(value)}")
            return None
        for key in getattr(value, "duplicates", ()):
            self.add(path, f"the key {quote(key)} appears more than once")
        for key in value:
            if key not in keys:
                close = difflib.get_close_matches(key, keys, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add(path, f"unknown key {quote(key)}{hint}")
        for key in required:
            if key not in value:
                self.add(_key(path, key), "is required")
        return value

    def text(
        self,
        fields: dict[str, Any],
        key: str,
        path: str,
        *,
        max_len: int,
        required: bool = False,
        newlines: bool = False,
    ) -> str:
        """The NFC form of a text field, held to the ballot format's label rules."""
        where = _key(path, key)
        value = fields.get(key, "")
        if not isinstance(value, str):
            self.add(where, f"expected a string, got {_describe(value)}")
            return ""
        value = unicodedata.normalize("NFC", value)
        try:
            check_label(
                value,
                field=where,
                max_len=max_len,
                error=crypto.ParameterError,
                required=required and key in fields,
                newlines=newlines,
            )
        except crypto.ParameterError as error:
            self.add(where, str(error).removeprefix(f"{where}: "))
            return ""
        return value

    def integer(
        self, fields: dict[str, Any], key: str, path: str, *, default: int, low: int, high: int
    ) -> int | None:
        """A JSON integer from ``low`` to ``high``; ``None`` (reported) if it is not."""
        where = _key(path, key)
        value = fields.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(where, f"expected an integer, got {_describe(value)}")
            return None
        if value < low:
            self.add(where, f"must be at least {low}, not {value}")
            return None
        if value > high:
            self.add(where, f"must be at most {high}, not {value}")
            return None
        return value

    def boolean(self, fields: dict[str, Any], key: str, path: str) -> bool:
        value = fields.get(key, False)
        if not isinstance(value, bool):
            self.add(_key(path, key), f"expected true or false, got {_describe(value)}")
            return False
        return value

    def moment(self, fields: dict[str, Any], key: str) -> datetime | None:
        """An ISO 8601 date and time with its offset, in UTC; absent or null for none."""
        value = fields.get(key)
        if value is None:
            return None
        example = '"2027-03-01T09:00:00Z"'
        if not isinstance(value, str) or len(value) > MAX_MOMENT_LENGTH:
            self.add(key, f"expected a date and time such as {example}, got {_describe(value)}")
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.add(key, f"{quote(value)} is not an ISO 8601 date and time such as {example}")
            return None
        if moment.utcoffset() is None:
            self.add(key, f"{quote(value)} has no time zone: add Z (UTC) or an offset (+01:00)")
            return None
        return moment.astimezone(UTC)

    def slug(self, fields: dict[str, Any]) -> str | None:
        value = fields.get("slug")
        if value is None:
            return None
        if not isinstance(value, str):
            self.add("slug", f"expected a string, got {_describe(value)}")
            return None
        problem = slug_problem(value)
        if problem:
            self.add("slug", problem)
            return None
        return value

    def roll_mode(self, fields: dict[str, Any]) -> str:
        value = fields.get("roll_mode", RollMode.ALL_APPROVED_VOTERS.value)
        if value not in RollMode.values:
            choices = " or ".join(repr(mode) for mode in RollMode.values)
            self.add("roll_mode", f"must be {choices}, not {_describe(value)}")
            return RollMode.ALL_APPROVED_VOTERS
        return str(value)

    def questions(self, fields: dict[str, Any]) -> tuple[QuestionDefinition, ...]:
        items = fields.get("questions", [])
        if not isinstance(items, list):
            self.add("questions", f"expected an array, got {_describe(items)}")
            return ()
        if not items and "questions" in fields:
            self.add("questions", "an election needs at least one question")
        if len(items) > MAX_QUESTIONS:
            self.add("questions", f"{len(items)} questions; at most {MAX_QUESTIONS}")
        questions = tuple(
            self.question(item, f"questions[{index}]") for index, item in enumerate(items)
        )
        slots = sum(len(q.options) + int(q.allow_blank) for q in questions)
        if slots > MAX_SLOTS:
            self.add("questions", f"{slots} options and blank votes in all; at most {MAX_SLOTS}")
        return questions

    def question(self, value: object, path: str) -> QuestionDefinition:
        fields = self.fields(value, path, QUESTION_KEYS, required=("title", "options"))
        if fields is None:
            return QuestionDefinition(title="", options=())
        title = self.text(fields, "title", path, max_len=MAX_TITLE_LENGTH, required=True)
        description = self.text(
            fields, "description", path, max_len=MAX_DESCRIPTION_LENGTH, newlines=True
        )
        bounds = {"default": 1, "high": MAX_OPTIONS_PER_QUESTION}
        low = self.integer(fields, "min_selections", path, low=0, **bounds)
        high = self.integer(fields, "max_selections", path, low=1, **bounds)
        allow_blank = self.boolean(fields, "allow_blank", path)
        options = self.options(fields, path)
        if low is not None and high is not None and low > high:
            self.add(f"{path}.min_selections", f"{low} is more than max_selections ({high})")
        if high is not None and options and high > len(options):
            self.add(
                f"{path}.max_selections",
                f"{high}, but the question has {len(options)} option(s)",
            )
        return QuestionDefinition(
            title=title,
            description=description,
            min_selections=1 if low is None else low,
            max_selections=1 if high is None else high,
            allow_blank=allow_blank,
            options=options,
        )

    def options(self, fields: dict[str, Any], path: str) -> tuple[OptionDefinition, ...]:
        where = f"{path}.options"
        items = fields.get("options", [])
        if not isinstance(items, list):
            self.add(where, f"expected an array, got {_describe(items)}")
            return ()
        if not items and "options" in fields:
            self.add(where, "a question needs at least one option")
        if len(items) > MAX_OPTIONS_PER_QUESTION:
            self.add(where, f"{len(items)} options; at most {MAX_OPTIONS_PER_QUESTION}")
        options = tuple(self.option(item, f"{where}[{index}]") for index, item in enumerate(items))
        seen: dict[tuple[str, str], int] = {}
        for index, option in enumerate(options):
            label = (option.name, option.affiliation)
            if option.name and label in seen:
                self.add(
                    f"{where}[{index}]",
                    f"same name and affiliation as options[{seen[label]}]: "
                    "voters could not tell them apart",
                )
            seen.setdefault(label, index)
        return options

    def option(self, value: object, path: str) -> OptionDefinition:
        fields = self.fields(value, path, OPTION_KEYS, required=("name",))
        if fields is None:
            return OptionDefinition(name="")
        return OptionDefinition(
            name=self.text(fields, "name", path, max_len=MAX_NAME_LENGTH, required=True),
            affiliation=self.text(fields, "affiliation", path, max_len=MAX_NAME_LENGTH),
            statement=self.text(
                fields, "statement", path, max_len=MAX_STATEMENT_LENGTH, newlines=True
            ),
            candidate=self.username(fields, path),
        )

    def username(self, fields: dict[str, Any], path: str) -> str | None:
        value = fields.get("candidate")
        if value is None:
            return None
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_USERNAME_LENGTH:
            self.add(
                f"{path}.candidate",
                f"expected a username (1 to {MAX_USERNAME_LENGTH} characters) or null, "
                f"got {_describe(value)}",
            )
            return None
        return value

    def ballot_format_check(self, parsed: ElectionDefinition) -> None:
        # The checks above mirror the ballot format's; running its own check as well
        # means a rule added there cannot be missed here.
        try:
            crypto.check_ballot_structure(parsed.title, _question_params(parsed.questions))
        except crypto.ParameterError as error:
            self.add("", f"the ballot format refuses this election: {error}")


def _question_params(questions: Iterable[QuestionDefinition]) -> list[crypto.QuestionParams]:
    return [
        crypto.QuestionParams(
            options=tuple(
                crypto.OptionParams(f"q{q_index}-o{o_index}", option.name, option.affiliation)
                for o_index, option in enumerate(question.options)
            ),
            min_selections=question.min_selections,
            max_selections=question.max_selections,
            blank=question.allow_blank,
            title=question.title,
            description=question.description,
        )
        for q_index, question in enumerate(questions)
    ]


def slug_problem(slug: str) -> str:
    """Why ``slug`` cannot identify an election, or ``""``."""
    try:
        validate_slug(slug)
    except ValidationError:
        return f"{quote(slug)} is not an identifier: use letters, digits, hyphens, underscores"
    if len(slug) > MAX_SLUG_LENGTH:
        return f"at most {MAX_SLUG_LENGTH} characters"
    return ""
