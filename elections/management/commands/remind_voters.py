"""Remind the voters on an open election's roll who have not voted yet.

The base command here also serves ``invite_voters``: the same run over the roll, another email.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from elections import notifications
from elections.notifications import RollMailing, RollMailingKind

from ._common import get_election

NOUNS = {RollMailingKind.INVITATION: "invitation", RollMailingKind.REMINDER: "reminder"}


class RollMailingCommand(BaseCommand):
    kind: RollMailingKind

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("election", help="The election's identifier (slug).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count who would be emailed; send nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        election = get_election(options["election"])
        try:
            report = notifications.mail_roll(
                election=election,
                kind=self.kind,
                dry_run=options["dry_run"],
                progress=self.show_progress,
            )
        except notifications.NotificationRefused as error:
            raise CommandError(str(error)) from None
        self.stdout.write(format_report(report))
        if report.stopped:
            raise CommandError(
                f"The mail server stopped the run ({report.stopped}); run the command again "
                "to carry on after the last voter reached."
            )

    def show_progress(self, report: RollMailing) -> None:
        verb = "would be sent" if report.dry_run else "sent"
        self.stderr.write(
            f"... {report.checked} of {report.on_roll} voters on the roll checked, "
            f"{report.sent} {NOUNS[report.kind]}(s) {verb}"
        )


def format_report(report: RollMailing) -> str:
    noun = NOUNS[report.kind]
    if report.finished_at is not None:
        again = "nothing would be sent" if report.dry_run else "nothing was sent again"
        return (
            f"{noun.capitalize()}s for this election were sent at "
            f"{report.finished_at:%Y-%m-%d %H:%M} UTC: {again}. "
            f"The next run can send after {report.window_ends:%Y-%m-%d %H:%M} UTC."
        )
    lines = [f"{report.on_roll} voter(s) on the roll."]
    if report.resumed:
        lines.append("Carrying on after the last voter the previous run reached.")
    lines += [
        f"{report.checked} checked: {report.voted} have voted, "
        f"{report.no_address} have no email address.",
    ]
    if report.dry_run:
        lines += [f"{report.sent} {noun}(s) would be sent.", "Dry run: nothing was sent."]
    else:
        lines.append(f"{report.sent} {noun}(s) sent.")
    if report.refused:
        lines.append(f"{report.refused} address(es) refused by the mail server.")
    return "\n".join(lines)


class Command(RollMailingCommand):
    help = (
        "Email a reminder to every voter on the roll of an open election who has not voted "
        "yet, reading the roll in chunks and printing progress on standard error. A run that "
        "finished within EMAIL_REPEAT_WINDOW_HOURS is not repeated; one the mail server "
        "stopped carries on where it stopped."
    )
    kind = RollMailingKind.REMINDER
