"""Election definitions: a draft election described in one JSON file, read and written.

A definition (``evoting/election-definition/v1``, specified in
``docs/election-definition.md``) holds what an administrator decides before an
election exists: its title, description, identifier, schedule, roll mode, and its
questions with their rules and options. It holds no key, voter roll, ballot or
result, so a definition is safe to share, keep under version control and review.

- ``document``: the fields, limits and problems, and writing a definition as JSON;
- ``reading``: reading and checking a file, without the database;
- ``database``: ``load_definition`` (a file to a draft election) and
  ``dump_definition`` (an election to a file).
"""

from .database import definition_of, dump_definition, load_definition
from .document import (
    DEFINITION_FORMAT,
    MAX_DEFINITION_BYTES,
    DefinitionError,
    ElectionDefinition,
    OptionDefinition,
    Problem,
    QuestionDefinition,
    definition_to_json,
)
from .reading import parse_definition

__all__ = [
    "DEFINITION_FORMAT",
    "MAX_DEFINITION_BYTES",
    "DefinitionError",
    "ElectionDefinition",
    "OptionDefinition",
    "Problem",
    "QuestionDefinition",
    "definition_of",
    "definition_to_json",
    "dump_definition",
    "load_definition",
    "parse_definition",
]
