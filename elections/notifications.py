"""Emails about elections: invitations, reminders, candidacy decisions, the cast confirmation
and the results.

Rendering, limits and delivery follow ``accounts/notifications.py``. No email ever
holds a voter's choice: the cast confirmation is given the ballot's tracker and time,
never its content, and the other emails know nothing of any ballot.

Invitations and reminders go to the voters on the roll who have not voted, read in
chunks of ``CHUNK_SIZE`` in the order of their ids, so a roll of any size is never
held in memory. Each chunk sent is recorded in the audit log (``elections.voters.invited``
or ``elections.voters.reminded``, with the last voter reached), which makes a run
durable across processes: run again within ``EMAIL_REPEAT_WINDOW`` it sends nothing
if the previous run finished, and carries on after the last voter reached if the
mail server stopped it. (The cache the single emails are counted in is per process,
so it cannot carry this.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts import throttle
from accounts.audit import log_action
from accounts.models import AuditEntry, Role, User
from accounts.notifications import (
    logger,
    render_email,
    send_after_commit,
    send_each,
    site_url,
)

from .models import Ballot, CandidacyRequest, CandidacyStatus, Election, RollMode, Status

CHUNK_SIZE = 1000
# One confirmation per ballot; with revoting, at most this many per voter and election.
CONFIRMATIONS_PER_ELECTION = 5


class NotificationRefused(Exception):
    """The emails cannot be sent for this election now; the message says why."""


class RollMailingKind(StrEnum):
    INVITATION = "election_invitation"
    REMINDER = "voting_reminder"

    @property
    def audit_action(self) -> str:
        return {
            RollMailingKind.INVITATION: "elections.voters.invited",
            RollMailingKind.REMINDER: "elections.voters.reminded",
        }[self]


def ballot_cast(*, election: Election, voter: User, ballot: Ballot) -> None:
    """Confirm a stored ballot to its voter: the tracker and where to check it, nothing more."""
    check = reverse("elections:check", kwargs={"slug": election.slug})
    context = {
        "election": election,
        "tracker": ballot.tracker,
        "cast_at": ballot.cast_at,
        "check_url": site_url(check + "?" + urlencode({"tracker": ballot.tracker})),
        "board_url": site_url(reverse("elections:board", kwargs={"slug": election.slug})),
    }
    send_after_commit(
        "ballot_cast",
        recipient=voter,
        context=context,
        limits=[((election.pk, ballot.tracker), 1), ((election.pk,), CONFIRMATIONS_PER_ELECTION)],
    )


def candidacy_decided(*, candidacy: CandidacyRequest) -> None:
    """Tell the candidate that their request to stand was accepted or declined, with the reason."""
    accepted = candidacy.status == CandidacyStatus.ACCEPTED
    send_after_commit(
        "candidacy_accepted" if accepted else "candidacy_declined",
        recipient=candidacy.candidate,
        context={
            "election": candidacy.election,
            "question": candidacy.question,
            "reason": candidacy.reason,
            "candidacies_url": site_url(reverse("candidacies")),
        },
        # A request is decided once; the limit only guards against a bug sending it again.
        limits=[((candidacy.pk,), 1)],
    )


def results_published(*, election: Election, republished: bool) -> None:
    """Tell the election's voters (those with a ballot) and its candidates that results are out.

    Only on the first publication, once it has committed, and once per window.
    """
    if republished:
        return
    transaction.on_commit(lambda: _mail_results(election), robust=True)


def _mail_results(election: Election) -> None:
    key = f"notifications:results_published:{election.pk}"
    if throttle.count_attempt(key, window=settings.EMAIL_REPEAT_WINDOW) > 1:
        logger.info("results emails for election %s not sent: sent already", election.slug)
        return
    context = _election_context(election)
    sent = refused = 0
    stopped = ""
    for chunk in _result_recipients(election):
        if not chunk:
            continue
        delivery = send_each(
            (render_email("results_published", recipient=user, context=context) for user in chunk),
            kind="results_published",
        )
        sent, refused, stopped = sent + delivery.sent, refused + delivery.refused, delivery.stopped
        if stopped:
            break
    log_action(
        actor=None,
        action="elections.results.mailed",
        target=election,
        data={"sent": sent, "refused": refused, "stopped": stopped},
    )


def _result_recipients(election: Election) -> Iterator[list[User]]:
    """The voters with a ballot in ``election``, chunk by chunk, then its candidates."""
    # Every voter's first ballot is revision 1, whatever replaced it later.
    first_ballots = Ballot.objects.filter(election=election, revision=1).order_by("voter_id")
    after: uuid.UUID | None = None
    while True:
        page = first_ballots if after is None else first_ballots.filter(voter_id__gt=after)
        ids = list(page.values_list("voter_id", flat=True)[:CHUNK_SIZE])
        if not ids:
            break
        after = ids[-1]
        yield list(_reachable(User.objects.filter(pk__in=ids)))
    yield list(_reachable(User.objects.filter(candidacies__election=election).distinct()))


def _reachable(users: QuerySet[User]) -> QuerySet[User]:
    return users.filter(is_active=True).exclude(email="").order_by("pk")


def _election_context(election: Election) -> dict[str, Any]:
    """What the election emails show: the election, its schedule and links."""

    def link(name: str) -> str:
        return site_url(reverse(f"elections:{name}", kwargs={"slug": election.slug}))

    opens_at = election.opens_at
    return {
        "election": election,
        "opens_at": opens_at if opens_at is not None and opens_at > timezone.now() else None,
        "closes_at": election.closes_at,
        "election_url": link("detail"),
        "booth_url": link("booth"),
        "results_url": link("results"),
        "verify_url": link("verify"),
        "login_url": site_url(reverse("login")),
    }


# --- Invitations and reminders to the voters on the roll ----------------------------


@dataclass
class RollMailing:
    """What a run of invitations or reminders did (or, in a dry run, would do)."""

    kind: RollMailingKind
    dry_run: bool
    on_roll: int
    checked: int = 0
    voted: int = 0
    no_address: int = 0
    sent: int = 0  # in a dry run: would be sent
    refused: int = 0
    resumed: bool = False
    finished_at: datetime | None = None  # a run finished within the window: nothing to do
    stopped: str = ""  # why the mail server stopped this run
    window_ends: datetime | None = None  # when the window of the previous run ends


Progress = Callable[[RollMailing], None]


def mail_roll(
    *,
    election: Election,
    kind: RollMailingKind,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RollMailing:
    """Email ``kind`` to every voter on the roll of ``election`` who has not voted.

    Only while the election is open and before its closing time. Voters without an
    address are counted and skipped. A run that finished within the window makes
    this one send nothing (``finished_at``); a run the mail server stopped is carried
    on from the last voter it reached (``resumed``). If the server stops this run,
    ``stopped`` says why and running it again carries on. ``progress`` is called
    after each chunk of the roll. A dry run sends and records nothing.
    """
    election.refresh_from_db()
    _refuse_unless_voting(election)
    if not dry_run and not settings.SITE_URL:
        raise NotificationRefused("Set SITE_URL so the emails can link to the site.")
    report = RollMailing(kind=kind, dry_run=dry_run, on_roll=_roll(election).count())
    previous = (
        AuditEntry.objects.filter(
            action=kind.audit_action,
            object_id=str(election.pk),
            created_at__gte=timezone.now() - timedelta(seconds=settings.EMAIL_REPEAT_WINDOW),
        )
        .order_by("-created_at")
        .first()
    )
    after = None
    if previous is not None:
        report.window_ends = previous.created_at + timedelta(seconds=settings.EMAIL_REPEAT_WINDOW)
        if previous.data.get("finished"):
            report.finished_at = previous.created_at
            return report
        after = uuid.UUID(previous.data["through"])
        report.resumed = True
    context = _election_context(election)
    for chunk in _roll_chunks(election, after):
        if not _mail_chunk(election, kind, chunk, context, report):
            return report
        if progress is not None:
            progress(report)
    if not dry_run:
        _checkpoint(election, kind, through=None, sent=0, refused=0, finished=True)
    return report


def _refuse_unless_voting(election: Election) -> None:
    if election.status != Status.OPEN:
        raise NotificationRefused(
            "Invitations and reminders are sent only while the election is open; "
            f"it is {election.get_status_display().lower()}."
        )
    if election.closes_at is not None and timezone.now() >= election.closes_at:
        raise NotificationRefused("The election's closing time has passed.")


def _mail_chunk(
    election: Election,
    kind: RollMailingKind,
    chunk: list[User],
    context: dict[str, Any],
    report: RollMailing,
) -> bool:
    """Mail one chunk of the roll; whether the run goes on."""
    voted = set(
        Ballot.objects.filter(
            election=election, voter_id__in=[user.pk for user in chunk]
        ).values_list("voter_id", flat=True)
    )
    pending = [user for user in chunk if user.pk not in voted and user.email]
    report.checked += len(chunk)
    report.voted += sum(1 for user in chunk if user.pk in voted)
    report.no_address += sum(1 for user in chunk if user.pk not in voted and not user.email)
    if report.dry_run:
        report.sent += len(pending)
        return True
    if not pending:
        return True
    delivery = send_each(
        (render_email(kind.value, recipient=user, context=context) for user in pending),
        kind=kind.value,
    )
    report.sent += delivery.sent
    report.refused += delivery.refused
    # The last voter reached, for a later run to carry on after; a chunk that mailed
    # nobody needs no record (a run carrying on only checks those voters again).
    if delivery.handled:
        through = pending[delivery.handled - 1] if delivery.stopped else chunk[-1]
        _checkpoint(election, kind, through.pk, delivery.sent, delivery.refused, finished=False)
    report.stopped = delivery.stopped
    return not delivery.stopped


def _checkpoint(
    election: Election,
    kind: RollMailingKind,
    through: uuid.UUID | None,
    sent: int,
    refused: int,
    *,
    finished: bool,
) -> None:
    data: dict[str, Any] = {"sent": sent, "refused": refused, "finished": finished}
    if through is not None:
        data["through"] = str(through)
    log_action(actor=None, action=kind.audit_action, target=election, data=data)


def _roll(election: Election) -> QuerySet[User]:
    """The voters on the roll, as ``services.is_eligible`` defines it."""
    voters = User.objects.filter(role=Role.VOTER, is_approved=True, is_active=True)
    if election.roll_mode == RollMode.EXPLICIT:
        voters = voters.filter(roll_entries__election=election)
    return voters


def _roll_chunks(election: Election, after: uuid.UUID | None) -> Iterator[list[User]]:
    voters = _roll(election).order_by("pk")
    while True:
        page = voters if after is None else voters.filter(pk__gt=after)
        chunk = list(page[:CHUNK_SIZE])
        if not chunk:
            return
        after = chunk[-1].pk
        yield chunk
