"""Election pages for voters, candidates and the public, and the ballot-casting endpoint.

Every page is read-only except ``cast``, which hands the posted ballot to
``services.cast_ballot`` untouched: who votes comes from the session, in which
election from the URL, never from the body.
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import role_required
from accounts.models import Role, User
from accounts.network import client_ip
from evoting.middleware import RETRY_AFTER_SECONDS

from . import board, crypto, notifications, services
from .board_views import board_entry_url
from .charts import BarChart, bar_chart, percent
from .decorators import (
    accepting_ballots,
    ballot_size_capped,
    election_view,
    eligible_voter_required,
    json_body_required,
    json_login_required,
)
from .models import (
    Ballot,
    Candidate,
    Election,
    EncryptedTally,
    Question,
    Result,
    RollEntry,
    RollMode,
    Status,
)

security_log = logging.getLogger("evoting.security")

PUBLIC_PHASES = (Status.OPEN, Status.CLOSED, Status.PUBLISHED)
NOT_ACCEPTING = gettext_lazy("This election is not accepting ballots.")


# --- Which elections a visitor sees ------------------------------------------------


def elections_for(user: User | None) -> QuerySet[Election]:
    """The elections that concern ``user``: all for administrators, their roll or candidacies."""
    if user is None or not user.is_authenticated or not user.is_approved:
        return Election.objects.none()
    if user.is_administrator:
        return Election.objects.all()
    visible = Election.objects.exclude(status=Status.DRAFT)
    if user.is_candidate:
        return visible.filter(pk__in=Candidate.objects.filter(account=user).values("election_id"))
    on_roll = RollEntry.objects.filter(voter=user).values("election_id")
    return visible.filter(Q(roll_mode=RollMode.ALL_APPROVED_VOTERS) | Q(pk__in=on_roll))


def personal_lists(request: HttpRequest) -> dict[str, object]:
    """The signed-in visitor's own elections, and those they have voted in."""
    user = request.user if request.user.is_authenticated else None
    voted = set()
    if user is not None:
        voted = set(Ballot.objects.filter(voter=user).values_list("election_id", flat=True))
    return {"my_elections": elections_for(user), "voted_ids": voted}


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    published = Election.objects.filter(status=Status.PUBLISHED).order_by("-published_at")
    return render(request, "home.html", {**personal_lists(request), "published": published})


# --- The public listing --------------------------------------------------------------

PUBLISHED_PER_PAGE = 25


@dataclass(frozen=True)
class ListedElection:
    """One election as the public listing shows it."""

    election: Election
    phase: str  # "upcoming", "open", "ended", "closed" or "published"
    phase_label: str
    voting_from: datetime | None
    voting_until: datetime | None
    ballots: int


def public_elections() -> QuerySet[Election]:
    """Every election past its draft, each with ``voted``: how many voters cast a ballot.

    Counted from the ballots in the same query (one voter is one ballot that counts,
    also where a voter may replace their ballot), so a page of any length costs one
    query per section.
    """
    return Election.objects.filter(status__in=PUBLIC_PHASES).annotate(
        voted=Count("ballots__voter", distinct=True)
    )


def voting_period(election: Election) -> tuple[datetime | None, datetime | None]:
    """When ballots were or will be taken: the schedule, bounded by the real opening and close."""
    starts = max((m for m in (election.opens_at, election.opened_at) if m), default=None)
    ends = min((m for m in (election.closes_at, election.closed_at) if m), default=None)
    return starts, ends


def phase_of(election: Election, now: datetime) -> tuple[str, str]:
    """The election's phase as a visitor sees it, and its label.

    An open election outside its schedule takes no ballots, so it is not called open.
    """
    if election.status == Status.OPEN:
        if election.opens_at is not None and now < election.opens_at:
            return "upcoming", gettext("Opens soon")
        if election.closes_at is not None and now >= election.closes_at:
            return "ended", gettext("Voting ended")
        return "open", gettext("Open for voting")
    if election.status == Status.CLOSED:
        return "closed", gettext("Closed, results to come")
    return "published", gettext("Results published")


@dataclass(frozen=True)
class ListingSection:
    """One part of the public listing: open, closed or published elections."""

    key: str
    heading: str
    empty: str
    rows: list[ListedElection]


def listed(elections: Iterable[Election], now: datetime) -> list[ListedElection]:
    rows = []
    for election in elections:
        starts, ends = voting_period(election)
        phase, label = phase_of(election, now)
        ballots: int = election.voted  # type: ignore[attr-defined]
        rows.append(ListedElection(election, phase, label, starts, ends, ballots))
    return rows


@require_safe
def election_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    elections = public_elections()
    published = Paginator(
        elections.filter(status=Status.PUBLISHED).order_by("-published_at", "title"),
        PUBLISHED_PER_PAGE,
    ).get_page(request.GET.get("page"))
    open_first_to_close = elections.filter(status=Status.OPEN).order_by(
        F("closes_at").asc(nulls_last=True), "title"
    )
    sections = [
        ListingSection(
            "open",
            gettext("Open for voting"),
            gettext("No election is open at the moment."),
            listed(open_first_to_close, now),
        ),
        ListingSection(
            "closed",
            gettext("Closed, results to come"),
            gettext("No closed election is waiting for its results."),
            listed(elections.filter(status=Status.CLOSED).order_by("-closed_at"), now),
        ),
        ListingSection(
            "published",
            gettext("Results published"),
            gettext("No results have been published yet."),
            listed(published.object_list, now),
        ),
    ]
    context = {**personal_lists(request), "sections": sections, "published_page": published}
    return render(request, "elections/list.html", context)


# --- One election -------------------------------------------------------------------


@dataclass(frozen=True)
class Turnout:
    ballots: int
    eligible: int
    head: str | None

    @property
    def percent(self) -> float:
        return percent(self.ballots, self.eligible)


def turnout_of(election: Election) -> Turnout:
    """Voters who voted, and the board's head (the genesis hash before the first ballot).

    Both come from the running tallies, in one read: polled by every open election
    page, it must not count the ballots, and the count and the head then describe
    the same board. With several boxes the head is the hash over every box's head
    (``board.boxes_closing_hash``: what the closing hash would be now).
    """
    tallies = list(
        EncryptedTally.objects.filter(election=election)
        .order_by("box")
        .values_list("counted", "ballot_count", "head_hash")
    )
    voted = sum(counted for counted, _, _ in tallies)
    if len(tallies) > 1:
        head = board.boxes_closing_hash([(head, length) for _, length, head in tallies])
    else:
        head = tallies[0][2] if tallies else ""
    return Turnout(voted, services.eligible_voter_count(election), head or None)


def own_ballot(election: Election, user: object) -> Ballot | None:
    if not isinstance(user, User):
        return None
    # With revoting, the latest: the one that counts.
    return Ballot.objects.filter(election=election, voter=user).order_by("-revision").first()


def voting_state(election: Election, user: object, ballot: Ballot | None, now: datetime) -> str:
    """What the election page tells this visitor about voting, as a key the page explains.

    The election's phase first (nobody votes in a draft or once voting has ended),
    then what stops this visitor's account, as the booth would refuse it.
    """
    phase = "draft" if election.is_draft else phase_of(election, now)[0]
    if ballot is not None:
        # Where revoting is allowed, a voter replaces their ballot through the booth.
        return "may_replace" if election.allow_revoting and phase == "open" else "voted"
    if phase in ("draft", "ended", "closed", "published"):
        return phase
    return account_state(election, user) or phase  # "open" or "upcoming"


def account_state(election: Election, user: object) -> str:
    """Why this visitor's account cannot vote in ``election``, or ``""`` if it can."""
    if not isinstance(user, User):
        return "sign_in"
    if not user.is_approved:
        return "pending"
    if user.is_candidate:
        return "candidate"
    if user.is_administrator:
        return "administrator"
    if not services.is_eligible(election, user):
        return "not_on_roll"
    return ""


@require_safe
@election_view()
def election_detail(request: HttpRequest, election: Election) -> HttpResponse:
    now = timezone.now()
    ballot = own_ballot(election, request.user)
    voting = voting_state(election, request.user, ballot, now)
    voting_from, voting_until = voting_period(election)
    context = {
        "election": election,
        "questions": services.ordered_questions(election),
        "turnout": None if election.is_draft else turnout_of(election),
        "ballot": ballot,
        "voting": voting,
        "can_vote": voting == "open",
        "voting_from": voting_from,
        "voting_until": voting_until,
        "login_url": f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}",
        "now": now,
    }
    return render(request, "elections/detail.html", context)


@require_safe
@never_cache
@election_view(
    *PUBLIC_PHASES, refused=gettext_lazy("This election has no turnout yet."), as_json=True
)
def turnout(request: HttpRequest, election: Election) -> HttpResponse:
    numbers = turnout_of(election)
    return JsonResponse(
        {
            "ballots": numbers.ballots,
            "eligible": numbers.eligible,
            "status": election.status,
            "head": numbers.head,
            "closing": election.closing_hash or None,
        }
    )


# --- Voting -------------------------------------------------------------------------


@dataclass(frozen=True)
class BoothQuestion:
    """One question as the booth lays it out: which slot each input fills."""

    number: int
    question: Question
    options: list[tuple[int, Candidate]]  # (slot, option)
    blank_slot: int | None

    @property
    def single_choice(self) -> bool:
        return self.question.min_selections == self.question.max_selections == 1


def booth_questions(election: Election) -> list[BoothQuestion]:
    """The questions in ballot order with the slot of every option and blank."""
    laid_out: list[BoothQuestion] = []
    for slot, (question, option) in enumerate(services.ballot_slots(election)):
        if not laid_out or laid_out[-1].question.pk != question.pk:
            laid_out.append(BoothQuestion(len(laid_out) + 1, question, [], None))
        if option is None:
            laid_out[-1] = replace(laid_out[-1], blank_slot=slot)
        else:
            laid_out[-1].options.append((slot, option))
    return laid_out


def booth_storage_key(election: Election) -> str:
    """Where the booth keeps, in the tab's sessionStorage, the tracker it computed for a cast."""
    return f"evoting.booth.{election.slug}"


@role_required(Role.VOTER)
@require_safe
@never_cache
@election_view(Status.OPEN, refused=NOT_ACCEPTING)
@accepting_ballots
@eligible_voter_required
def booth(request: HttpRequest, election: Election) -> HttpResponse:
    # A voter who has voted (in another tab, or coming back) sees the receipt and nothing else;
    # never_cache makes the back button ask again rather than show a stale booth.
    voter = cast(User, request.user)
    voted = own_ballot(election, voter)
    if voted is not None and not election.allow_revoting:
        return redirect("elections:receipt", slug=election.slug)
    params = services.election_params(election)
    questions = booth_questions(election)
    slug = {"slug": election.slug}
    booth_params = {
        # Exactly what the worker's "init" message takes (see ballot-worker.js).
        "params": json.loads(crypto.params_to_json(params)),
        "fingerprint": params.fingerprint,
        "voter_context": services.voter_context(election, voter),
        "slots": params.slot_count,
        "questions": [
            {
                "number": item.number,
                "title": item.question.title,
                "min_selections": item.question.min_selections,
                "max_selections": item.question.max_selections,
                "slots": [slot for slot, _ in item.options],
                "blank_slot": item.blank_slot,
            }
            for item in questions
        ],
        "worker_url": static("elections/js/ballot-worker.js"),
        "cast_url": reverse("elections:cast", kwargs=slug),
        "audit_url": reverse("elections:audit", kwargs=slug),
        "receipt_url": reverse("elections:receipt", kwargs=slug),
        "check_json_url": reverse("elections:check_json", kwargs=slug),
        "check_url": reverse("elections:check", kwargs=slug),
        "storage_key": booth_storage_key(election),
        # A voter may cast again to replace their ballot: the booth then does not
        # turn to the receipt because this voter has voted.
        "revoting": election.allow_revoting,
    }
    context = {
        "election": election,
        "questions": questions,
        "booth_params": booth_params,
        "replacing": voted,
    }
    return render(request, "elections/booth.html", context)


@require_POST
@json_login_required
@election_view(Status.OPEN, refused=NOT_ACCEPTING, as_json=True)
@json_body_required
@ballot_size_capped
def cast_ballot(request: HttpRequest, election: Election) -> HttpResponse:
    try:
        ballot = services.cast_ballot(
            election=election, voter=cast(User, request.user), payload=request.body
        )
    except services.ElectionError as error:
        # Never the body: a refused ballot may still be a real voter's encrypted choice.
        security_log.info(
            "ballot refused: user=%s election=%s status=%s reason=%s ip=%s",
            request.user.get_username(),
            election.slug,
            error.status_code,
            type(error).__name__,
            client_ip(request),
        )
        refused = JsonResponse({"error": str(error)}, status=error.status_code)
        if error.status_code == 503:
            refused["Retry-After"] = RETRY_AFTER_SECONDS
        return refused
    notifications.ballot_cast(election=election, voter=cast(User, request.user), ballot=ballot)
    receipt_url = reverse("elections:receipt", kwargs={"slug": election.slug})
    return JsonResponse(
        {"tracker": ballot.tracker, "sequence": ballot.sequence, "receipt_url": receipt_url},
        status=201,
    )


@login_required
@require_safe
@never_cache
@election_view(*PUBLIC_PHASES)
def receipt(request: HttpRequest, election: Election) -> HttpResponse:
    # Only the signed-in voter's own ballot is ever looked up, so nobody can ask for another's.
    ballot = own_ballot(election, request.user)
    if ballot is None:
        raise Http404(gettext("You have not voted in this election."))
    entry_url = board_entry_url(election, ballot)
    check_url = request.build_absolute_uri(
        reverse("elections:check", kwargs={"slug": election.slug})
    )
    # With revoting: the voter's earlier ballots, each replaced by the next.
    replaced = Ballot.objects.filter(
        election=election, voter=ballot.voter_id, revision__lt=ballot.revision
    ).order_by("-revision")
    context = {
        "election": election,
        "ballot": ballot,
        "boxes": election.ballot_boxes > 1,
        "replaced": replaced.only("tracker", "sequence", "cast_at"),
        "may_replace": election.allow_revoting and election.accepts_ballots_at(),
        "entry_url": entry_url,
        "check_url": check_url,
        "receipt_data": receipt_data(election, ballot, check_url),
    }
    return render(request, "elections/receipt.html", context)


def receipt_data(election: Election, ballot: Ballot, check_url: str) -> dict[str, object]:
    """What receipt.js prints, downloads and compares with the booth's tracker; never the choice."""
    return {
        "election": election.title,
        "slug": election.slug,
        "tracker": ballot.tracker,
        "sequence": ballot.sequence,
        "cast_at": ballot.cast_at.astimezone(UTC).isoformat(timespec="milliseconds"),
        "chain_hash": ballot.chain_hash,
        "check_url": f"{check_url}?tracker={ballot.tracker}",
        "storage_key": booth_storage_key(election),
    }


# --- Results ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionResults:
    """One question's published counts, as a table and a chart."""

    number: int
    question: Question
    rows: list[tuple[Candidate, int, float]]  # option, votes, % of ballots
    blank: tuple[int, float] | None
    chart: BarChart


def question_results(election: Election, ballots: int) -> list[QuestionResults]:
    """Every question's results in ballot order, blank votes apart."""
    by_question: dict[object, list[Result]] = {}
    for row in election.results.select_related("candidate").order_by("slot"):
        by_question.setdefault(row.question_id, []).append(row)
    laid_out = []
    for number, question in enumerate(services.ordered_questions(election), start=1):
        results = by_question.get(question.pk, [])
        rows = [
            (row.candidate, row.count, percent(row.count, ballots))
            for row in results
            if row.candidate is not None
        ]
        blank = next(
            ((row.count, percent(row.count, ballots)) for row in results if row.candidate is None),
            None,
        )
        bars = [(option.name, votes) for option, votes, _ in rows]
        if blank is not None:
            bars.append((gettext("Blank votes"), blank[0]))
        laid_out.append(
            QuestionResults(number, question, rows, blank, bar_chart(bars, ballots=ballots))
        )
    return laid_out


@require_safe
@election_view(
    Status.PUBLISHED, refused=gettext_lazy("The results of this election are not published yet.")
)
def results(request: HttpRequest, election: Election) -> HttpResponse:
    numbers = turnout_of(election)
    context = {
        "election": election,
        "questions": question_results(election, numbers.ballots),
        "turnout": numbers,
    }
    return render(request, "elections/results.html", context)
