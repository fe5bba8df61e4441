"""Copy an election as a new draft: the way to run a published election again."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import services

from ._common import get_election


class Command(BaseCommand):
    help = (
        "Create a new draft with the title, rules, candidates and voter roll of an "
        "election (no key, no ballots). Schedule times already past are cleared."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The identifier (slug) of the election to copy.")
        parser.add_argument("--slug", help="The copy's identifier (default: SLUG-copy).")

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        try:
            copy = services.copy_as_draft(election=election, actor=None, slug=options["slug"])
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Copied {election.slug!r} as the draft {copy.slug!r}.")
