"""Account pages: home, registration and the candidate's profile."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import services
from .decorators import anonymous_only, role_required
from .forms import CandidateProfileForm, CandidateRegistrationForm, VoterRegistrationForm
from .models import Role, User


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def _register(
    request: HttpRequest, form_class: type[VoterRegistrationForm], role: Role
) -> HttpResponse:
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.register_account(user=form.save(commit=False), role=role)
        messages.success(
            request,
            "Your account has been created. An administrator must approve it "
            "before you can take part; you can sign in meanwhile.",
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
        messages.success(request, "Your candidate profile has been saved.")
        return redirect("candidate_profile")
    return render(
        request,
        "accounts/candidate_profile.html",
        {"form": form},
        status=400 if form.errors else 200,
    )
