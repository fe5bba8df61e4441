"""Account pages: registration, the candidate's profile and candidacies, password resets."""

import hashlib
import logging
from typing import cast
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from elections import services as election_services
from elections.models import CandidacyRequest

from . import services, throttle
from .decorators import anonymous_only, role_required
from .forms import (
    CandidacyRequestForm,
    CandidateProfileForm,
    CandidateRegistrationForm,
    VoterRegistrationForm,
)
from .models import Role, User
from .network import client_ip

security_log = logging.getLogger("evoting.security")


def _register(
    request: HttpRequest, form_class: type[VoterRegistrationForm], role: Role
) -> HttpResponse:
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.register_account(user=form.save(commit=False), role=role)
        messages.success(
            request,
            _(
                "Your account has been created. An administrator must approve it "
                "before you can take part; you can sign in meanwhile."
            ),
        )
        return redirect("login")
    template = f"accounts/register_{role}.html"
    return render(request, template, {"form": form}, status=400 if form.errors else 200)


@anonymous_only
@require_http_methods(["GET", "POST"])
def register_voter(request: HttpRequest) -> HttpResponse:
    return _register(request, VoterRegistrationForm, Role.VOTER)


@anonymous_only
@require_http_methods(["GET", "POST"])
def register_candidate(request: HttpRequest) -> HttpResponse:
    return _register(request, CandidateRegistrationForm, Role.CANDIDATE)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/account.html")


@role_required(Role.CANDIDATE)
@require_http_methods(["GET", "POST"])
def candidate_profile(request: HttpRequest) -> HttpResponse:
    form = CandidateProfileForm(request.POST or None, instance=cast(User, request.user))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your candidate profile has been saved."))
        if form.options_updated:
            messages.info(
                request,
                ngettext(
                    "Your entry on %(count)d draft ballot now shows it.",
                    "Your entries on %(count)d draft ballots now show it.",
                    form.options_updated,
                )
                % {"count": form.options_updated},
            )
        return redirect("candidate_profile")
    return render(
        request,
        "accounts/candidate_profile.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _candidacies_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    candidate = cast(User, request.user)
    context = {
        "candidacies": election_services.candidacies_of(candidate),
        "standings": election_services.standings_of(candidate),
        "drafts": election_services.drafts_open_to(candidate),
    }
    return render(request, "accounts/candidacies.html", context, status=status)


@role_required(Role.CANDIDATE)
@require_safe
def candidacies(request: HttpRequest) -> HttpResponse:
    """The candidate's requests, the elections they stand in and their results."""
    return _candidacies_page(request)


@role_required(Role.CANDIDATE)
@require_POST
def ask_to_stand(request: HttpRequest) -> HttpResponse:
    form = CandidacyRequestForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("question", []):
            messages.error(request, str(error))
        return _candidacies_page(request, status=400)
    try:
        candidacy = election_services.request_candidacy(
            candidate=cast(User, request.user), question=form.cleaned_data["question"]
        )
    except election_services.ElectionError as error:
        messages.error(request, str(error))
        return _candidacies_page(request, status=error.status_code)
    messages.success(
        request,
        _("You asked to stand in %(election)s; an administrator will decide.")
        % {"election": candidacy.election.title},
    )
    return redirect("candidacies")


@role_required(Role.CANDIDATE)
@require_POST
def withdraw_candidacy(request: HttpRequest, candidacy_id: UUID) -> HttpResponse:
    candidate = cast(User, request.user)
    candidacy = get_object_or_404(CandidacyRequest, pk=candidacy_id, candidate=candidate)
    try:
        election_services.withdraw_candidacy(candidacy=candidacy, candidate=candidate)
    except election_services.ElectionError as error:
        messages.error(request, str(error))
        return _candidacies_page(request, status=error.status_code)
    messages.success(request, _("Your request has been withdrawn."))
    return redirect("candidacies")


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Django's reset view, sending at most a few emails per address and per client.

    Each request is counted against both limits before any email is sent, so a
    burst cannot get past them. Whatever happens (sent, throttled, unknown address),
    the answer is the same redirect, so it tells nobody whether an account exists.
    """

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"].strip().casefold()
        ip = client_ip(self.request)
        window = settings.PASSWORD_RESET_WINDOW
        per_email = throttle.count_attempt(_reset_key("email", email), window=window)
        per_client = throttle.count_attempt(_reset_key("client", ip), window=window)
        if (
            per_email > settings.PASSWORD_RESET_LIMIT_PER_EMAIL
            or per_client > settings.PASSWORD_RESET_LIMIT_PER_CLIENT
        ):
            security_log.info("password reset throttled ip=%s", ip)
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


def _reset_key(kind: str, value: str) -> str:
    # Hashed so that no address is kept in the cache in clear.
    return f"accounts:password-reset:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"
