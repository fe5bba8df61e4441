"""Put the voters of a CSV file on a draft election's roll, creating accounts as needed."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import roll, services

from ._common import get_election


class Command(BaseCommand):
    help = (
        "Import a voter roll from a CSV file with the header username,email[,first_name,"
        "last_name]. Every row is checked first; any error imports nothing. New accounts "
        "are approved voters without a password, emailed a link to choose one. The "
        "election switches to its explicit roll."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument("file", metavar="FILE.csv")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        path = Path(options["file"])
        try:
            size = path.stat().st_size
            if size > roll.MAX_ROLL_BYTES:
                raise CommandError(f"{path} is larger than 5 MB; split it into several files.")
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        if not options["dry_run"] and not settings.SITE_URL:
            raise CommandError("Set SITE_URL so the emails can link to the site.")
        try:
            report = roll.import_voters(
                election=election,
                csv_text=data,
                actor=None,
                dry_run=options["dry_run"],
                site_url=settings.SITE_URL,
                progress=self.show_progress,
            )
        except services.ElectionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(format_report(report))
        if not report.ok:
            raise CommandError(f"{len(report.errors)} error(s) in {path}; nothing was imported.")
        if report.mail_error:
            raise CommandError(report.mail_error)

    def show_progress(self, rows: int) -> None:
        self.stderr.write(f"... {rows} rows checked")


def format_report(report: roll.ImportReport) -> str:
    verb = "would be" if report.dry_run else "were"
    lines = [
        f"{report.rows} row(s) read.",
        f"{len(report.created)} new voter account(s) {verb} created.",
        f"{len(report.attached)} existing voter(s) {verb} added to the roll.",
        f"{len(report.already_on_roll)} voter(s) already on the roll.",
    ]
    if report.unapproved:
        lines.append(
            "Not yet approved (cannot vote until approved): " + ", ".join(report.unapproved)
        )
    if report.ok and not report.dry_run:
        lines.append(f"{report.invited} set-password email(s) sent.")
    if report.dry_run and report.ok:
        lines.append("Dry run: nothing was changed.")
    lines += [f"Error: {error}" for error in report.errors]
    return "\n".join(lines)
