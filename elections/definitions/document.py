"""The election definition document: its fields, limits, problems, and how it is written.

``docs/election-definition.md`` specifies the format byte by byte; ``reading``
turns a file into an ``ElectionDefinition`` and ``database`` loads one into a
draft election or dumps an election back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elections.models import RollMode
from elections.services import ElectionError

DEFINITION_FORMAT = "evoting/election-definition/v1"
# Any definition within the limits, written by ``dump_definition`` (UTF-8, indented),
# is under 3 MB even with every text at its longest in four-byte characters.
MAX_DEFINITION_BYTES = 4 * 1024 * 1024
MAX_ELECTION_DESCRIPTION_LENGTH = 5000
MAX_STATEMENT_LENGTH = 2000
MAX_SLUG_LENGTH = 64
MAX_USERNAME_LENGTH = 150
MAX_MOMENT_LENGTH = 40
# Beyond this, problems are counted rather than listed: a file of a million bad
# values needs fixing at the source, not a million lines of report.
MAX_LISTED_PROBLEMS = 100

# Every key of each object, in the order ``dump_definition`` writes them.
ELECTION_KEYS = (
    "format",
    "slug",
    "title",
    "description",
    "opens_at",
    "closes_at",
    "roll_mode",
    "questions",
)
QUESTION_KEYS = (
    "title",
    "description",
    "min_selections",
    "max_selections",
    "allow_blank",
    "options",
)
OPTION_KEYS = ("name", "affiliation", "statement", "candidate")


@dataclass(frozen=True)
class OptionDefinition:
    """An option; ``candidate`` is the username of the account it stands for, if any."""

    name: str
    affiliation: str = ""
    statement: str = ""
    candidate: str | None = None


@dataclass(frozen=True)
class QuestionDefinition:
    title: str
    options: tuple[OptionDefinition, ...]
    description: str = ""
    min_selections: int = 1
    max_selections: int = 1
    allow_blank: bool = False


@dataclass(frozen=True)
class ElectionDefinition:
    """A whole definition; times are in UTC, text is NFC."""

    title: str
    questions: tuple[QuestionDefinition, ...]
    slug: str | None = None
    description: str = ""
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    roll_mode: str = RollMode.ALL_APPROVED_VOTERS


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a definition: where (a JSON path, ``""`` for the file) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or 'file'}: {self.message}"


class ProblemList:
    """Problems collected while reading; the first ``MAX_LISTED_PROBLEMS`` are kept."""

    def __init__(self) -> None:
        self.listed: list[Problem] = []
        self.unlisted = 0

    def __bool__(self) -> bool:
        return bool(self.listed)

    def add(self, path: str, message: str) -> None:
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append(Problem(path, message))
        else:
            self.unlisted += 1

    def error(self) -> DefinitionError:
        return DefinitionError(self.listed, self.unlisted)


class DefinitionError(ElectionError):
    """A definition refused; ``problems`` lists every reason, ``str()`` one per line."""

    def __init__(self, problems: Sequence[Problem], unlisted: int = 0) -> None:
        self.problems = list(problems)
        self.unlisted = unlisted
        total = len(self.problems) + unlisted
        lines = [f"The election definition has {total} problem(s); nothing was created."]
        lines += [str(problem) for problem in self.problems]
        if unlisted:
            lines.append(f"... and {unlisted} more.")
        super().__init__("\n".join(lines))


def as_bytes(definition: bytes | str) -> bytes:
    if isinstance(definition, bytes):
        return definition
    return definition.encode("utf-8", "surrogatepass")


def quote(text: str) -> str:
    # repr() escapes control characters and lone surrogates, so messages print anywhere.
    return repr(text if len(text) <= 40 else text[:40] + "...")


def definition_to_dict(definition: ElectionDefinition) -> dict[str, Any]:
    """The JSON document of ``definition``, every key present, in the documented order."""
    return {
        "format": DEFINITION_FORMAT,
        "slug": definition.slug,
        "title": definition.title,
        "description": definition.description,
        "opens_at": _moment_text(definition.opens_at),
        "closes_at": _moment_text(definition.closes_at),
        "roll_mode": str(definition.roll_mode),
        "questions": [
            {
                "title": question.title,
                "description": question.description,
                "min_selections": question.min_selections,
                "max_selections": question.max_selections,
                "allow_blank": question.allow_blank,
                "options": [
                    {
                        "name": option.name,
                        "affiliation": option.affiliation,
                        "statement": option.statement,
                        "candidate": option.candidate,
                    }
                    for option in question.options
                ],
            }
            for question in definition.questions
        ],
    }


def _moment_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def definition_to_json(definition: ElectionDefinition) -> str:
    """The definition as a file: UTF-8 JSON indented by two, keys in order, a final newline."""
    return json.dumps(definition_to_dict(definition), indent=2, ensure_ascii=False) + "\n"
