"""One page per election: every step of its life with its state, and the steps allowed now.

Each step allowed now is a button leading to a confirmation page in the manner of
``delete_selected`` (what will happen, what cannot be undone, Confirm or Cancel).
The confirmation carries the status it was made for and a one-time token, so a
double submit, a reload or a page left open while someone else moved the
election on changes nothing and says why. The work itself is done by the
services, which enforce every rule of the phase: their refusals are shown as
they word them. The Candidacies section's Accept and Decline buttons work the
same way (``candidacies.py``).
"""

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import AuditEntry, User

from .. import services
from ..forms import ResetForm
from ..models import CandidacyRequest, CandidacyStatus, Election, RollMode, Status
from .common import TEMPLATES, acting_user

PENDING_SESSION_KEY = "elections.dashboard.confirmations"
# Confirmation pages a session may have open at once; older tokens lapse.
MOST_PENDING = 20
AUDIT_ENTRIES_SHOWN = 15


@dataclass(frozen=True)
class Done:
    """What a step did, for the message, and the election whose dashboard comes next."""

    message: str
    election: Election


def open_step(election: Election, actor: User) -> Done:
    services.open_election(election=election, actor=actor)
    return Done(
        _(
            "Opened %(slug)s: voters can vote now, within its schedule. "
            "Next: close it when voting ends."
        )
        % {"slug": election.slug},
        election,
    )


def close_step(election: Election, actor: User) -> Done:
    services.close_election(election=election, actor=actor)
    if election.has_trustees:
        follow = _(
            "Next: the trustees submit their partial decryptions on the trustee page; "
            "publish once enough have."
        )
    else:
        follow = _(
            "Next: decrypt it with `manage.py tally %(slug)s --key FILE` on the machine "
            "that holds its key file."
        ) % {"slug": election.slug}
    return Done(
        _("Closed %(slug)s with %(ballots)d ballot(s). %(follow)s")
        % {"slug": election.slug, "ballots": election.ballots.count(), "follow": follow},
        election,
    )


def publish_step(election: Election, actor: User) -> Done:
    report = services.publish_with_trustees(election=election, actor=actor)
    if report.already_published:
        text = _("%(slug)s was already published; its partial decryptions give the same counts.")
    else:
        text = _(
            "Published %(slug)s from the trustees' partial decryptions: %(ballots)d ballot(s). "
            "Next: share its results page, ballot board and election record."
        )
    return Done(text % {"slug": election.slug, "ballots": report.ballots}, election)


def reset_step(election: Election, actor: User) -> Done:
    ballots = services.reset_election(election=election, actor=actor)
    return Done(
        _(
            "Reset %(slug)s to a draft and deleted %(ballots)d ballot(s). "
            "Next: set a new key with the trustees, then open it again."
        )
        % {"slug": election.slug, "ballots": ballots},
        election,
    )


def copy_step(election: Election, actor: User) -> Done:
    copy = services.copy_as_draft(election=election, actor=actor)
    return Done(
        _(
            "Copied %(source)s as the new draft %(slug)s, shown here. "
            "Next: check its schedule and voter roll, then set its key."
        )
        % {"source": election.slug, "slug": copy.slug},
        copy,
    )


@dataclass(frozen=True)
class Step:
    """A step the dashboard offers in ``phases``; the service behind ``perform`` decides."""

    name: str
    label: Promise
    happens: Promise
    permanent: Promise
    when: Promise
    phases: tuple[str, ...]
    perform: Callable[[Election, User], Done]
    done_in: tuple[str, ...] = ()
    needs_trustees: bool = False
    typed_confirmation: bool = False

    def offered(self, election: Election) -> bool:
        return election.status in self.phases and (election.has_trustees or not self.needs_trustees)


STEPS = {
    step.name: step
    for step in (
        Step(
            "open",
            gettext_lazy("Open the election"),
            gettext_lazy(
                "Voters can cast ballots from now on, within the schedule, encrypted under "
                "the key shown on the dashboard."
            ),
            gettext_lazy(
                "The questions, options, rules, voter roll and key can no longer change. "
                "Going back to a draft (a reset) deletes every ballot cast."
            ),
            gettext_lazy("Possible while the election is a draft with a key."),
            (Status.DRAFT,),
            open_step,
            done_in=(Status.OPEN, Status.CLOSED, Status.PUBLISHED),
        ),
        Step(
            "close",
            gettext_lazy("Close the election"),
            gettext_lazy(
                "No more ballots are accepted; the ballot board is sealed with its closing "
                "hash and the encrypted totals are published for the trustees."
            ),
            gettext_lazy(
                "A closed election never opens again: only a reset, which deletes every "
                "ballot, takes it back to a draft."
            ),
            gettext_lazy("Possible while the election is open."),
            (Status.OPEN,),
            close_step,
            done_in=(Status.CLOSED, Status.PUBLISHED),
        ),
        Step(
            "publish",
            gettext_lazy("Publish the result"),
            gettext_lazy(
                "The whole board is verified again, then the trustees' partial decryptions "
                "are combined into the counts, which are published with the election record."
            ),
            gettext_lazy(
                "A published election is permanent: its results, board and record stay "
                "public, and it can no longer be reset or deleted."
            ),
            gettext_lazy("Possible once the election is closed, for a key made by trustees."),
            (Status.CLOSED,),
            publish_step,
            done_in=(Status.PUBLISHED,),
            needs_trustees=True,
        ),
        Step(
            "reset",
            gettext_lazy("Reset to a draft"),
            gettext_lazy(
                "The election goes back to a draft, with its questions, options and voter roll."
            ),
            gettext_lazy(
                "Every ballot, the encrypted totals, the partial decryptions, the audited "
                "ballots and the key are deleted for good; the trustees' shares become useless."
            ),
            gettext_lazy(
                "Possible while the election is open or closed; a published one is permanent."
            ),
            (Status.OPEN, Status.CLOSED),
            reset_step,
            typed_confirmation=True,
        ),
        Step(
            "copy",
            gettext_lazy("Copy as a new draft"),
            gettext_lazy(
                "A new draft with the same title (copy), questions, options, rules and voter "
                "roll, without key, ballots or results. Schedule times already past are cleared."
            ),
            gettext_lazy("Nothing of this election changes. The copy stays until it is deleted."),
            gettext_lazy("Always possible."),
            tuple(Status.values),
            copy_step,
        ),
    )
}


class StepConfirmation(forms.Form):
    """What the confirmation page was made for: the election's status and a one-time token."""

    expected_status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)


def purpose(election: Election, step: Step) -> str:
    return f"{election.pk}:{step.name}:{election.status}"


def issue_token(request: HttpRequest, made_for: str) -> str:
    """A one-time token for the confirmation page made for ``made_for`` (see ``purpose``)."""
    token = secrets.token_urlsafe(24)
    pending = dict(request.session.get(PENDING_SESSION_KEY) or {})
    pending[token] = made_for
    request.session[PENDING_SESSION_KEY] = dict(list(pending.items())[-MOST_PENDING:])
    return token


def token_pending(request: HttpRequest, token: str, made_for: str) -> bool:
    pending = request.session.get(PENDING_SESSION_KEY) or {}
    return bool(pending.get(token) == made_for)


def spend_token(request: HttpRequest, token: str) -> bool:
    """Spend a pending token; False if another request spent it first."""
    pending = dict(request.session.get(PENDING_SESSION_KEY) or {})
    pending.pop(token, None)
    request.session[PENDING_SESSION_KEY] = pending
    # Saved now, not with the response, so a request that follows a long step sees it spent.
    request.session.save()
    # Two clicks in flight read the same session; the cache's atomic add lets one through.
    return cache.add(f"elections:dashboard:{token}", True, timeout=settings.SESSION_COOKIE_AGE)


def status_label(value: str) -> str:
    return str(Status(value).label)


PHASES = (Status.DRAFT, Status.OPEN, Status.CLOSED, Status.PUBLISHED)


def section_states(election: Election, ballot_problem: str) -> dict[str, tuple[str, str]]:
    """Each section's state as (code for the style, words that say it without the style)."""
    phase = PHASES.index(Status(election.status))

    def during(active: int, now: str = "") -> tuple[str, str]:
        """Done after phase ``active``, under way during it, later before it."""
        if phase > active:
            return ("done", _("Done"))
        return ("now", now or _("Now")) if phase == active else ("later", _("Later"))

    draft = election.is_draft
    return {
        "definition": ("blocked", _("To fix")) if draft and ballot_problem else during(0),
        "roll": during(0),
        "key": ("done", _("Done")) if election.has_key else ("now", _("Now")),
        "open": ("blocked", _("Not ready"))
        if open_blocked(election, ballot_problem)
        else during(0),
        "turnout": during(1, _("Voting")),
        "close": during(1),
        "decryption": during(2),
        "published": ("done", _("Done")) if election.is_published else ("later", _("Later")),
    }


def next_hint(election: Election, ballot_problem: str, submitted: int) -> str:
    status = election.status
    if status == Status.DRAFT and ballot_problem:
        return _("Next: fix the questions (%(problem)s)") % {"problem": ballot_problem}
    if status == Status.DRAFT and not election.has_key:
        return _(
            "Next: check the questions and the voter roll, then set the key with the trustees."
        )
    if status == Status.DRAFT:
        return _("Next: open the election.")
    if status == Status.OPEN:
        return _("Voting is under way. Next: close the election when voting ends.")
    if status == Status.CLOSED and election.has_trustees:
        return _(
            "Next: the trustees submit their partial decryptions (%(submitted)d so far); "
            "publish once enough have."
        ) % {"submitted": submitted}
    if status == Status.CLOSED:
        return _(
            "Next: decrypt it on the machine that holds its key file "
            "(`manage.py tally %(slug)s --key FILE`)."
        ) % {"slug": election.slug}
    return _("Done: the results, the ballot board and the election record are public.")


def open_blocked(election: Election, ballot_problem: str) -> str:
    """What the dashboard can already see stopping the opening; the service has the last word."""
    if not election.is_draft:
        return ""
    if ballot_problem:
        return _("The election cannot open: %(problem)s") % {"problem": ballot_problem}
    if not election.has_key:
        return _("The election has no key yet: set it in the key step first.")
    return ""


def trustee_context(election: Election) -> dict[str, Any]:
    """K of N, the ceremony's fingerprint and who has submitted a partial decryption."""
    if not election.has_trustees:
        return {}
    try:
        public = services.trustee_public_key(election)
    except services.ElectionError as error:
        return {"trustee_key_error": str(error)}
    rows = list(election.trustee_decryptions.order_by("trustee"))
    submitted = {row.trustee for row in rows}
    return {
        "threshold": public.key.threshold,
        "trustees": public.key.trustees,
        "ceremony_fingerprint": public.fingerprint,
        "decryptions": rows,
        "absent": [i for i in range(1, public.key.trustees + 1) if i not in submitted],
    }


def audit_rows(election: Election) -> list[tuple[AuditEntry, str]]:
    entries = AuditEntry.objects.filter(
        object_type=Election._meta.label_lower, object_id=str(election.pk)
    ).order_by("-created_at")[:AUDIT_ENTRIES_SHOWN]
    return [(entry, json.dumps(entry.data, sort_keys=True)[:300]) for entry in entries]


def candidacy_rows(election: Election) -> list[CandidacyRequest]:
    """Pending requests first, then the decided ones; withdrawn requests are left out."""
    order = {CandidacyStatus.PENDING: 0, CandidacyStatus.ACCEPTED: 1, CandidacyStatus.DECLINED: 2}
    rows = election.candidacy_requests.filter(status__in=order).select_related(
        "candidate", "question", "decided_by"
    )
    return sorted(rows, key=lambda row: (order[CandidacyStatus(row.status)], row.requested_at))


def box_rows(election: Election) -> list[dict[str, int]]:
    """Each ballot box's counts, box 0 first (none before the opening); never its ciphertexts."""
    rows = election.box_tallies.order_by("box").values_list("box", "ballot_count", "counted")
    return [
        {"box": box, "ballot_count": cast, "counted": counted, "replaced": cast - counted}
        for box, cast, counted in rows
    ]


def dashboard_state(election: Election) -> dict[str, Any]:
    """Everything the dashboard shows of ``election``, read through the services."""
    problem = services.ballot_problem(election) if election.is_draft else ""
    questions = services.ordered_questions(election)
    ballots = election.ballots.count()
    # With revoting a voter may have several ballots on the board; turnout counts voters.
    voted = election.ballots.values("voter").distinct().count()
    eligible = services.eligible_voter_count(election)
    trustees = trustee_context(election)
    return {
        "election": election,
        "status_label": status_label(election.status),
        "states": section_states(election, problem),
        "next_hint": next_hint(election, problem, len(trustees.get("decryptions", []))),
        "ballot_problem": problem,
        "questions": [(q, len(q.options.all())) for q in questions],
        "option_count": sum(len(q.options.all()) for q in questions),
        "roll_mode": str(RollMode(election.roll_mode).label),
        "explicit_roll": election.roll_mode == RollMode.EXPLICIT,
        "roll_count": election.roll.count(),
        "eligible": eligible,
        "ballots": ballots,
        "voted": voted,
        "turnout_percent": f"{100 * voted / eligible:.1f}" if eligible else "",
        # Each replacing ballot (revision 2, 3...) replaced exactly one earlier ballot.
        "replaced": election.ballots.filter(revision__gt=1).count(),
        "boxes": box_rows(election),
        "fingerprint": services.public_key_fingerprint(election),
        "steps": {
            step.name: {
                "step": step,
                "offered": step.offered(election),
                "done": election.status in step.done_in,
                "blocked": open_blocked(election, problem) if step.name == "open" else "",
            }
            for step in STEPS.values()
        },
        "audit_entries": audit_rows(election),
        "candidacies": candidacy_rows(election),
        **trustees,
    }


class ElectionDashboard(admin.ModelAdmin[Election]):
    """The dashboard pages of ``ElectionAdmin``, which supplies ``managed_election``."""

    def managed_election(self, request: HttpRequest, object_id: str) -> Election:
        raise NotImplementedError

    def dashboard_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/dashboard/",
                wrap(self.dashboard_view),
                name="elections_election_dashboard",
            ),
            path(
                "<path:object_id>/dashboard/<slug:step>/",
                wrap(self.step_view),
                name="elections_election_step",
            ),
        ]

    def page(
        self, request: HttpRequest, template: str, title: str, status: int = 200, **context: Any
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            TEMPLATES + template,
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.model._meta,
                "media": self.media,
                **context,
            },
            status=status,
        )

    def dashboard_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        election = self.managed_election(request, object_id)
        return self.page(
            request,
            "dashboard.html",
            _("Dashboard of %(election)s") % {"election": election},
            **dashboard_state(election),
        )

    def back_to_dashboard(self, election: Election) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:elections_election_dashboard", args=[election.pk])
        )

    @method_decorator(require_POST)
    def step_view(self, request: HttpRequest, object_id: str, step: str) -> HttpResponse:
        election = self.managed_election(request, object_id)
        chosen = STEPS.get(step)
        if chosen is None:
            raise Http404("No such step.")
        if request.POST.get("post") != "yes":
            return self.confirm_page(request, election, chosen)
        confirmation = StepConfirmation(request.POST)
        refusal = self.stale_refusal(request, election, chosen, confirmation)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return self.back_to_dashboard(election)
        typed = ResetForm(request.POST, slug=election.slug) if chosen.typed_confirmation else None
        if typed is not None and not typed.is_valid():
            token = confirmation.cleaned_data["token"]
            return self.confirm_page(request, election, chosen, typed=typed, token=token)
        return self.perform(request, election, chosen, confirmation.cleaned_data["token"])

    def confirm_page(
        self,
        request: HttpRequest,
        election: Election,
        step: Step,
        typed: ResetForm | None = None,
        token: str = "",
    ) -> HttpResponse:
        if not step.offered(election):
            self.message_user(
                request,
                _("%(step)s is not possible now: the election is %(status)s. %(when)s")
                % {
                    "step": step.label,
                    "status": status_label(election.status).lower(),
                    "when": step.when,
                },
                messages.ERROR,
            )
            return self.back_to_dashboard(election)
        if step.typed_confirmation and typed is None:
            typed = ResetForm(slug=election.slug)
        confirmation = StepConfirmation(
            initial={
                "expected_status": election.status,
                "token": token or issue_token(request, purpose(election, step)),
            }
        )
        return self.page(
            request,
            "confirm_step.html",
            _("%(step)s: %(election)s?") % {"step": step.label, "election": election},
            status=400 if typed is not None and typed.is_bound else 200,
            election=election,
            step=step,
            crumb=step.label,
            status_label=status_label(election.status),
            ballots=election.ballots.count(),
            happens=step.happens,
            permanent=step.permanent,
            confirmation=confirmation,
            form=typed,
            confirm_label=_("Confirm: %(step)s") % {"step": step.label},
        )

    def stale_refusal(
        self, request: HttpRequest, election: Election, step: Step, confirmation: StepConfirmation
    ) -> str:
        """Why this confirmation may no longer be acted on, or ``""``."""
        if not confirmation.is_valid():
            return _("Nothing was done: this confirmation is incomplete. Start the step again.")
        expected = confirmation.cleaned_data["expected_status"]
        if expected != election.status:
            return _(
                "Nothing was done: this confirmation was made while the election was "
                "%(expected)s, and it is now %(current)s. The step was already done, or "
                "someone else changed the election; see its state below."
            ) % {
                "expected": status_label(expected).lower(),
                "current": status_label(election.status).lower(),
            }
        if not token_pending(request, confirmation.cleaned_data["token"], purpose(election, step)):
            return _(
                "Nothing was done: this confirmation has already been used (a second click "
                "or a reload) or has expired. Start the step again if it is still needed."
            )
        return ""

    def perform(
        self, request: HttpRequest, election: Election, step: Step, token: str
    ) -> HttpResponse:
        if not spend_token(request, token):
            self.message_user(
                request,
                _("Nothing was done: this confirmation is already being used by another request."),
                messages.ERROR,
            )
            return self.back_to_dashboard(election)
        try:
            done = step.perform(election, acting_user(request))
        except services.ElectionError as error:
            self.message_user(
                request,
                _("%(step)s was refused: %(reason)s") % {"step": step.label, "reason": error},
                messages.ERROR,
            )
            return self.back_to_dashboard(election)
        self.message_user(request, done.message, messages.SUCCESS)
        return self.back_to_dashboard(done.election)
