"""Close an open election: no more ballots are accepted."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import services

from ._common import get_election


class Command(BaseCommand):
    help = "Close an open election. Ballots are refused from then on; the tally can be decrypted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        try:
            services.close_election(election=election, actor=None)
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        ballots = election.ballots.count()
        self.stdout.write(f"Election {election.slug!r} is closed with {ballots} ballot(s).")
