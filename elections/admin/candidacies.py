"""Candidates' requests to stand: their list, and the administrator's decisions on them.

A decision is taken from the election dashboard's Candidacies section or from
the list's actions. Either way a confirmation page comes first, and the service
decides: a request is decided once, so a second click changes nothing and says
why. The dashboard's buttons carry a one-time token, as its steps do.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Role, User

from .. import services
from ..models import CandidacyRequest, Election
from .common import TEMPLATES, ReadOnlyAdmin, acting_user
from .dashboard import issue_token, spend_token, token_pending

DECISIONS = ("accept", "decline")
ACCEPT_HAPPENS = gettext_lazy(
    "The candidate becomes the last option of this question, with the name, affiliation "
    "and statement of their profile:"
)
DECLINE_HAPPENS = gettext_lazy(
    "The request is declined. The candidate sees the decision, with the reason if you give "
    "one, and may ask again."
)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (optional)"),
        help_text=gettext_lazy("Shown to the candidate with the decision."),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )


class DecisionForm(ReasonForm):
    """The confirmation of one decision: its one-time token, and a reason when declining."""

    token = forms.CharField(max_length=64, widget=forms.HiddenInput)


def decision_purpose(candidacy: CandidacyRequest, decision: str) -> str:
    return f"{candidacy.election_id}:candidacy:{candidacy.pk}:{decision}:{candidacy.status}"


def decide(candidacy: CandidacyRequest, decision: str, actor: User, reason: str) -> str:
    """Apply ``decision`` through the service; return the message that says what was done."""
    name = candidacy.candidate.public_name
    if decision == "accept":
        option = services.accept_candidacy(candidacy=candidacy, actor=actor)
        return _("Accepted %(name)s as option %(position)d (question: %(question)s).") % {
            "name": name,
            "position": option.position,
            "question": candidacy.question.title,
        }
    services.decline_candidacy(candidacy=candidacy, actor=actor, reason=reason)
    return _("Declined the request of %(name)s (question: %(question)s).") % {
        "name": name,
        "question": candidacy.question.title,
    }


@admin.register(CandidacyRequest)
class CandidacyRequestAdmin(ReadOnlyAdmin):
    list_display = ("candidate", "election", "question", "status", "requested_at", "decided_at")
    list_filter = ("status", "election")
    search_fields = (
        "candidate__username",
        "candidate__display_name",
        "election__slug",
        "election__title",
    )
    list_select_related = ("candidate", "election", "question")
    fields = (
        "election",
        "question",
        "candidate",
        "status",
        "requested_at",
        "decided_at",
        "decided_by",
        "reason",
        "option",
    )
    readonly_fields = fields
    actions = ["accept_selected", "decline_selected"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        """Deciding who stands changes the ballot: administrators who may change elections."""
        user = request.user
        return (
            isinstance(user, User)
            and user.is_active
            and user.role == Role.ADMINISTRATOR
            and user.is_approved
            and user.has_perm("elections.change_election")
        )

    # --- The list's actions ----------------------------------------------------------

    @admin.action(description=gettext_lazy("Accept selected requests"), permissions=["decide"])
    def accept_selected(
        self, request: HttpRequest, queryset: QuerySet[CandidacyRequest]
    ) -> TemplateResponse | None:
        if request.POST.get("post") != "yes":
            return self.action_confirmation(request, queryset, "accept", None)
        self.decide_each(request, queryset, "accept", "")
        return None

    @admin.action(description=gettext_lazy("Decline selected requests"), permissions=["decide"])
    def decline_selected(
        self, request: HttpRequest, queryset: QuerySet[CandidacyRequest]
    ) -> TemplateResponse | None:
        form = ReasonForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_bound and form.is_valid():
            self.decide_each(request, queryset, "decline", form.cleaned_data["reason"])
            return None
        return self.action_confirmation(request, queryset, "decline", form)

    def action_confirmation(
        self,
        request: HttpRequest,
        queryset: QuerySet[CandidacyRequest],
        decision: str,
        form: ReasonForm | None,
    ) -> TemplateResponse:
        title = (
            _("Accept these requests?") if decision == "accept" else _("Decline these requests?")
        )
        return TemplateResponse(
            request,
            "admin/elections/candidacyrequest/confirm_decisions.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "decision": decision,
                "queryset": queryset.select_related("candidate", "election", "question"),
                "form": form,
                "opts": self.model._meta,
                "action": request.POST.get("action", ""),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            },
            status=400 if form is not None and form.is_bound else 200,
        )

    def decide_each(
        self,
        request: HttpRequest,
        queryset: QuerySet[CandidacyRequest],
        decision: str,
        reason: str,
    ) -> None:
        done = 0
        for candidacy in queryset.select_related("candidate", "question"):
            try:
                decide(candidacy, decision, acting_user(request), reason)
            except services.ElectionError as error:
                self.message_user(request, f"{candidacy}: {error}", messages.ERROR)
            else:
                done += 1
        if not done:
            return
        if decision == "accept":
            text = _("Accepted %(count)d request(s).")
        else:
            text = _("Declined %(count)d request(s).")
        self.message_user(request, text % {"count": done}, messages.SUCCESS)

    # --- One decision from the dashboard -------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/decide/<slug:decision>/",
                self.admin_site.admin_view(self.decide_view),
                name="elections_candidacyrequest_decide",
            ),
            *super().get_urls(),
        ]

    def back_to_dashboard(self, candidacy: CandidacyRequest) -> HttpResponseRedirect:
        url = reverse("admin:elections_election_dashboard", args=[candidacy.election_id])
        return HttpResponseRedirect(f"{url}#step-candidacies")

    @method_decorator(require_POST)
    def decide_view(self, request: HttpRequest, object_id: str, decision: str) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied(_("Only administrators who may change elections can do this."))
        candidacy = self.get_object(request, object_id)
        if candidacy is None or decision not in DECISIONS:
            raise Http404(_("No such request or decision."))
        if request.POST.get("post") != "yes":
            return self.decision_page(request, candidacy, decision)
        form = DecisionForm(request.POST)
        refusal = self.stale_refusal(request, candidacy, decision, form)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return self.back_to_dashboard(candidacy)
        if not spend_token(request, form.cleaned_data["token"]):
            self.message_user(
                request,
                _("Nothing was done: this confirmation is already being used by another request."),
                messages.ERROR,
            )
            return self.back_to_dashboard(candidacy)
        try:
            done = decide(candidacy, decision, acting_user(request), form.cleaned_data["reason"])
        except services.ElectionError as error:
            self.message_user(request, _("Refused: %(reason)s") % {"reason": error}, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return self.back_to_dashboard(candidacy)

    def decision_page(
        self, request: HttpRequest, candidacy: CandidacyRequest, decision: str
    ) -> HttpResponse:
        refusal = self.undecidable(candidacy)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return self.back_to_dashboard(candidacy)
        form = DecisionForm(
            initial={"token": issue_token(request, decision_purpose(candidacy, decision))}
        )
        accept = decision == "accept"
        if accept:
            del form.fields["reason"]
        title = (_("Accept %(name)s?") if accept else _("Decline %(name)s?")) % {
            "name": candidacy.candidate.public_name
        }
        election = candidacy.election
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": title,
            "crumb": title,
            "opts": Election._meta,
            "media": self.media,
            "election": election,
            "status_label": election.get_status_display(),
            "candidacy": candidacy,
            "happens": ACCEPT_HAPPENS if accept else DECLINE_HAPPENS,
            # Only an accepted candidate's labels reach the ballot.
            "labels": services.profile_labels(candidacy.candidate) if accept else None,
            "form": form,
            "confirm_label": _("Confirm: accept") if accept else _("Confirm: decline"),
            "cancel_anchor": "#step-candidacies",
        }
        return TemplateResponse(request, TEMPLATES + "confirm_step.html", context)

    def undecidable(self, candidacy: CandidacyRequest) -> str:
        if not candidacy.election.is_draft:
            return _(
                "Nothing was done: candidacies are decided only while the election is a draft."
            )
        if not candidacy.is_pending:
            return _("Nothing was done: this request was already %(state)s.") % {
                "state": candidacy.get_status_display().lower()
            }
        return ""

    def stale_refusal(
        self, request: HttpRequest, candidacy: CandidacyRequest, decision: str, form: DecisionForm
    ) -> str:
        """Why this confirmation may no longer be acted on, or ``""``."""
        if not form.is_valid():
            return _("Nothing was done: this confirmation is incomplete. Start again.")
        refusal = self.undecidable(candidacy)
        if refusal:
            return refusal
        if not token_pending(
            request, form.cleaned_data["token"], decision_purpose(candidacy, decision)
        ):
            return _(
                "Nothing was done: this confirmation has already been used (a second click "
                "or a reload) or has expired. Start again if it is still needed."
            )
        return ""
