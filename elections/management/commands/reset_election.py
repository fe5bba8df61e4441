"""Return an election to draft, destroying its ballots, tally, results and public key."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import services

from ._common import get_election


class Command(BaseCommand):
    help = (
        "Reset an election to draft: delete its ballots, encrypted tally, results and "
        "public key. Other elections are not touched. This cannot be undone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument(
            "--yes", action="store_true", help="Confirm that the ballots are to be destroyed."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        if not options["yes"]:
            raise CommandError(
                f"Resetting {election.slug!r} permanently deletes its ballots, tally, results "
                "and key. Run again with --yes to confirm."
            )
        try:
            ballots = services.reset_election(election=election, actor=None)
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Election {election.slug!r} is a draft again; {ballots} ballot(s) were deleted."
        )
