"""Candidates standing in elections: their requests, the administrator's decisions, their entry.

An approved candidate asks to stand for one question of a draft election; an
administrator accepts (the candidate becomes an option at the end of the
question) or declines (with a reason the candidate reads). While the election
is a draft the option's name, affiliation and statement follow the candidate's
profile; from the opening they are fixed, because the labels are part of the
election's parameters and fingerprint, which every ballot is proved against.

Every write here refuses an election that is no longer a draft, and takes the
election's state inside the same transaction as the write, so nothing changes an
option after the opening. Refusals raise an ``ElectionError`` subclass. Every
decision, whichever admin page took it, is emailed to the candidate once it has
committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db import IntegrityError
from django.db.models import Max, Prefetch
from django.utils import timezone
from django.utils.translation import gettext

from accounts.audit import log_action
from accounts.models import Role, User

from .. import notifications
from ..concurrency import atomic_write
from ..models import (
    ACTIVE_CANDIDACY,
    CandidacyRequest,
    CandidacyStatus,
    Candidate,
    Election,
    Question,
    Result,
    Status,
)
from .errors import ElectionError, NotEligible, WrongPhase

PROFILE_FIELDS = ("display_name", "affiliation", "statement")


class CandidacyRefused(ElectionError):
    """A request that duplicates another, or one already decided."""

    status_code = 409


def may_stand(user: User) -> bool:
    """Approved, active candidate accounts may ask to stand."""
    return user.is_active and user.role == Role.CANDIDATE and user.is_approved


def profile_labels(candidate: User) -> dict[str, str]:
    """The option's name, affiliation and statement as the candidate's profile gives them."""
    return {
        "name": candidate.public_name[: Candidate._meta.get_field("name").max_length],
        "affiliation": candidate.affiliation[: Candidate._meta.get_field("affiliation").max_length],
        "statement": candidate.statement,
    }


def _draft_or_refuse(election_id: UUID, refusal: str) -> Election:
    """The election, read inside the caller's transaction; ``WrongPhase`` unless a draft."""
    election = Election.objects.get(pk=election_id)
    if election.status != Status.DRAFT:
        raise WrongPhase(refusal)
    return election


def _audit(candidacy: CandidacyRequest, actor: User, action: str, **extra: str) -> None:
    log_action(
        actor=actor,
        action=f"elections.candidacy.{action}",
        target=candidacy.election,
        data={
            "candidacy": str(candidacy.pk),
            "candidate": candidacy.candidate.username,
            "question": candidacy.question.title,
            **extra,
        },
    )


def request_candidacy(*, candidate: User, question: Question) -> CandidacyRequest:
    """Ask, as ``candidate``, to stand for ``question``; return the pending request.

    Raises ``NotEligible`` unless ``candidate`` is an approved candidate account,
    ``WrongPhase`` unless the election is a draft, ``CandidacyRefused`` when a
    pending or accepted request (or an option) for this question already exists.
    """
    if not may_stand(candidate):
        raise NotEligible(gettext("Only approved candidate accounts can ask to stand."))
    with atomic_write():
        election = _draft_or_refuse(
            question.election_id,
            gettext("You can ask to stand only while the election is a draft."),
        )
        if Candidate.objects.filter(question=question, account=candidate).exists():
            raise CandidacyRefused(gettext("You already stand for this question."))
        try:
            # A savepoint: the unique constraint, not a check, decides between two requests.
            with atomic_write():
                candidacy = CandidacyRequest.objects.create(
                    election=election, question=question, candidate=candidate
                )
        except IntegrityError:
            raise CandidacyRefused(
                gettext("You have already asked to stand for this question.")
            ) from None
        _audit(candidacy, candidate, "requested")
    return candidacy


def _fresh(candidacy: CandidacyRequest) -> CandidacyRequest:
    return CandidacyRequest.objects.select_related("election", "question", "candidate").get(
        pk=candidacy.pk
    )


def _already(candidacy: CandidacyRequest) -> CandidacyRefused:
    return CandidacyRefused(
        gettext("This request is no longer pending: it was %(state)s.")
        % {"state": candidacy.get_status_display().lower()}
    )


def _decide(candidacy: CandidacyRequest, status: CandidacyStatus, **fields: object) -> None:
    """Move a pending request to ``status``; only one caller ever does (a conditional update)."""
    moved = CandidacyRequest.objects.filter(pk=candidacy.pk, status=CandidacyStatus.PENDING).update(
        status=status, decided_at=timezone.now(), **fields
    )
    if not moved:
        raise _already(_fresh(candidacy))
    candidacy.refresh_from_db()


def withdraw_candidacy(*, candidacy: CandidacyRequest, candidate: User) -> CandidacyRequest:
    """Withdraw ``candidate``'s own pending request, while the election is a draft."""
    if candidacy.candidate_id != candidate.pk:
        raise NotEligible(gettext("Only the candidate who asked can withdraw a request."))
    with atomic_write():
        candidacy = _fresh(candidacy)
        _draft_or_refuse(
            candidacy.election_id,
            gettext("A request can be withdrawn only while the election is a draft."),
        )
        _decide(candidacy, CandidacyStatus.WITHDRAWN)
        _audit(candidacy, candidate, "withdrawn")
    return candidacy


def accept_candidacy(*, candidacy: CandidacyRequest, actor: User) -> Candidate:
    """Accept a pending request: the candidate becomes the last option of the question.

    The option's name, affiliation and statement come from the candidate's profile.
    A second acceptance (a double submit) raises ``CandidacyRefused`` and changes
    nothing; a non-draft election raises ``WrongPhase``; a candidate account no
    longer approved raises ``NotEligible``.
    """
    with atomic_write():
        candidacy = _fresh(candidacy)
        election = _draft_or_refuse(
            candidacy.election_id,
            gettext("Candidacies can be decided only while the election is a draft."),
        )
        account = candidacy.candidate
        if not may_stand(account):
            raise NotEligible(gettext("This account is no longer an approved candidate."))
        last = Candidate.objects.filter(question=candidacy.question).aggregate(Max("position"))
        option = Candidate(
            election=election,
            question=candidacy.question,
            position=(last["position__max"] or 0) + 1,
            account=account,
            **profile_labels(account),
        )
        _decide(candidacy, CandidacyStatus.ACCEPTED, decided_by=actor)
        try:
            with atomic_write():
                option.save()
        except IntegrityError:
            raise CandidacyRefused(
                gettext("This candidate is already an option of this question.")
            ) from None
        CandidacyRequest.objects.filter(pk=candidacy.pk).update(option=option)
        _audit(candidacy, actor, "accepted", option=str(option.pk), position=str(option.position))
        notifications.candidacy_decided(candidacy=candidacy)
    return option


def decline_candidacy(
    *, candidacy: CandidacyRequest, actor: User, reason: str = ""
) -> CandidacyRequest:
    """Decline a pending request, keeping ``reason`` (optional) for the candidate to read."""
    reason = reason.strip()[: CandidacyRequest._meta.get_field("reason").max_length]
    with atomic_write():
        candidacy = _fresh(candidacy)
        _draft_or_refuse(
            candidacy.election_id,
            gettext("Candidacies can be decided only while the election is a draft."),
        )
        _decide(candidacy, CandidacyStatus.DECLINED, decided_by=actor, reason=reason)
        _audit(candidacy, actor, "declined", reason=reason)
        notifications.candidacy_decided(candidacy=candidacy)
    return candidacy


def refresh_candidate_options(*, candidate: User) -> int:
    """Copy ``candidate``'s profile onto their options in draft elections; return how many changed.

    Options of an election that has opened are never touched: the update is
    conditional on the draft, in the same statement.
    """
    labels = profile_labels(candidate)
    with atomic_write():
        stale = list(
            Candidate.objects.filter(account=candidate, election__status=Status.DRAFT)
            .exclude(**labels)
            .select_related("election")
        )
        if not stale:
            return 0
        # A subquery rather than a join, so the update touches one table (or collection).
        drafts = Election.objects.filter(status=Status.DRAFT).values("pk")
        changed = Candidate.objects.filter(
            pk__in=[option.pk for option in stale], election__in=drafts
        ).update(**labels)
        for election in {option.election_id: option.election for option in stale}.values():
            log_action(
                actor=candidate,
                action="elections.candidacy.profile_followed",
                target=election,
                data={"candidate": candidate.username},
            )
    return changed


def save_candidate_profile(*, candidate: User) -> int:
    """Store the profile fields set on ``candidate``; their draft options follow.

    Returns how many options changed. Options in elections that have opened keep
    the labels they opened with.
    """
    with atomic_write():
        candidate.save(update_fields=PROFILE_FIELDS)
        return refresh_candidate_options(candidate=candidate)


# --- What the candidate's page shows --------------------------------------------------


def candidacies_of(candidate: User) -> list[CandidacyRequest]:
    """The candidate's requests, newest first, with their elections and questions."""
    return list(
        CandidacyRequest.objects.filter(candidate=candidate)
        .select_related("election", "question")
        .order_by("-requested_at")
    )


def drafts_open_to(candidate: User) -> list[tuple[Election, list[Question]]]:
    """Draft elections with the questions ``candidate`` may still ask to stand for."""
    taken = set(
        CandidacyRequest.objects.filter(
            candidate=candidate, status__in=ACTIVE_CANDIDACY
        ).values_list("question_id", flat=True)
    )
    taken |= set(Candidate.objects.filter(account=candidate).values_list("question_id", flat=True))
    drafts = Election.objects.filter(status=Status.DRAFT).prefetch_related(
        Prefetch("questions", queryset=Question.objects.order_by("position"))
    )
    offered = []
    for election in drafts.order_by("title"):
        questions = [q for q in election.questions.all() if q.pk not in taken]
        if questions:
            offered.append((election, questions))
    return offered


@dataclass(frozen=True)
class Standing:
    """An option the candidate is on, and once published its question's counts."""

    option: Candidate
    results: list[Result]

    @property
    def own_count(self) -> int | None:
        return next((r.count for r in self.results if r.candidate_id == self.option.pk), None)


def standings_of(candidate: User) -> list[Standing]:
    """Every option ``candidate`` is on, newest election first; results once published."""
    options = (
        Candidate.objects.filter(account=candidate)
        .select_related("election", "question")
        .order_by("-election__created_at", "question__position")
    )
    standings = []
    for option in options:
        results: list[Result] = []
        if option.election.status == Status.PUBLISHED:
            results = list(
                Result.objects.filter(question=option.question)
                .select_related("candidate")
                .order_by("slot")
            )
        standings.append(Standing(option, results))
    return standings
