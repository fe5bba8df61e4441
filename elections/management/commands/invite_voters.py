"""Invite the voters on an open election's roll: its title, schedule and link."""

from elections.notifications import RollMailingKind

from .remind_voters import RollMailingCommand


class Command(RollMailingCommand):
    help = (
        "Email an invitation naming the election, its schedule and its link to every voter "
        "on the roll of an open election (those who have voted already are skipped), reading "
        "the roll in chunks and printing progress on standard error. A run that finished "
        "within EMAIL_REPEAT_WINDOW_HOURS is not repeated; one the mail server stopped "
        "carries on where it stopped."
    )
    kind = RollMailingKind.INVITATION
