"""Create a draft election from an election definition file (docs/election-definition.md)."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import definitions, services
from elections.models import Election, RollMode


class Command(BaseCommand):
    help = (
        "Create a draft election, its questions and options from a definition file "
        "(format evoting/election-definition/v1, see docs/election-definition.md). "
        "Every problem in the file is listed and then nothing is created."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", metavar="FILE.json", help="The definition file, or - to read standard input."
        )
        parser.add_argument(
            "--slug",
            help="The new election's identifier, instead of the file's or one made from the title.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = read_definition_file(options["file"])
        try:
            election = definitions.load_definition(
                definition=data, actor=None, slug=options["slug"]
            )
        except definitions.DefinitionError as error:
            lines = [f"{options['file']} was refused; nothing was created."]
            lines += [f"  {problem}" for problem in error.problems]
            if error.unlisted:
                lines.append(f"  ... and {error.unlisted} more problem(s).")
            raise CommandError("\n".join(lines)) from None
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(summary(election))


def read_definition_file(path: str) -> bytes:
    # One byte past the cap is enough for the loader to refuse an oversized file.
    limit = definitions.MAX_DEFINITION_BYTES + 1
    if path == "-":
        return sys.stdin.buffer.read(limit)
    try:
        with open(path, "rb") as handle:
            return handle.read(limit)
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from None


def summary(election: Election) -> str:
    questions = services.ordered_questions(election)
    options = sum(len(question.options.all()) for question in questions)
    lines = [
        f"Created the draft {election.slug!r}: {len(questions)} question(s), {options} option(s)."
    ]
    for question in questions:
        low, high = question.min_selections, question.max_selections
        rule = f"choose {low}" if low == high else f"choose {low} to {high}"
        blank = ", blank allowed" if question.allow_blank else ""
        count = len(question.options.all())
        lines.append(f"  {question.position}. {question.title}: {count} options, {rule}{blank}")
    if election.roll_mode == RollMode.EXPLICIT:
        lines.append("The voter roll is explicit and empty: add voters with import_voters.")
    return "\n".join(lines)
