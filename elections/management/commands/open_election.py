"""Open a draft election for voting."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import services

from ._common import get_election


class Command(BaseCommand):
    help = "Open a draft election that has its key, candidates and (if explicit) a voter roll."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        try:
            services.open_election(election=election, actor=None)
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Election {election.slug!r} is open.")
