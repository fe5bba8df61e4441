"""The audited ballots of an election: posted by the booth, listed for everyone.

``/elections/<slug>/audit/`` answers a GET with the public list (tracker, time
and the revealed choices in words; never a voter) and a POST from a voter's
booth with the audited-ballot document as JSON. Each audited ballot is also
downloadable on its own, to check it elsewhere (docs/ballot-format.md).
"""

import json
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from . import crypto, services
from .decorators import (
    content_length,
    election_view,
    json_body_only,
    refusal,
    security_log,
)
from .models import AuditedBallot, Election, Status

PHASES = (Status.OPEN, Status.CLOSED, Status.PUBLISHED)
NO_AUDITS = gettext_lazy("Audited ballots exist once the election has opened.")


@dataclass(frozen=True)
class AuditedRow:
    tracker: str
    posted_at: str
    answers: list[tuple[str, str]]  # (question title, what was revealed, in words)


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
@election_view(*PHASES, refused=NO_AUDITS)
def audit(request: HttpRequest, election: Election) -> HttpResponse:
    if request.method == "POST":
        return post_audit(request, election)
    listed = [
        AuditedRow(row.tracker, row.posted_at.isoformat(timespec="seconds"), answers)
        for row, answers in services.published_audits(election)
    ]
    params = json.loads(crypto.params_to_json(services.election_params(election)))
    context = {"election": election, "audited": listed, "params": params}
    return render(request, "elections/audited.html", context)


@json_body_only(gettext_lazy("An audited ballot"))
def post_audit(request: HttpRequest, election: Election) -> HttpResponse:
    if not request.user.is_authenticated:
        return refusal(request, 401, gettext("Sign in to audit a ballot."), as_json=True)
    limit = crypto.max_audited_bytes(services.election_params(election))
    if not 0 <= content_length(request) <= limit:
        message = gettext("An audited ballot of this election has at most %(limit)d bytes.") % {
            "limit": limit
        }
        return refusal(request, 413, message, as_json=True)
    try:
        stored = services.post_audited_ballot(
            election=election, voter=request.user, payload=request.body
        )
    except services.ElectionError as error:
        security_log.info(
            "audited ballot refused: election=%s status=%s reason=%s",
            election.slug,
            error.status_code,
            type(error).__name__,
        )
        return JsonResponse({"error": str(error)}, status=error.status_code)
    url = reverse("elections:audit", args=[election.slug]) + f"#audit-{stored.tracker}"
    return JsonResponse({"tracker": stored.tracker, "url": url}, status=201)


@require_safe
@election_view(*PHASES, refused=NO_AUDITS, as_json=True)
def audited_download(request: HttpRequest, election: Election, tracker: str) -> HttpResponse:
    row = AuditedBallot.objects.filter(election=election, tracker=tracker).first()
    if row is None:
        return refusal(request, 404, gettext("No audited ballot has this tracker."), as_json=True)
    response = HttpResponse(row.content, content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(
        True, f"{election.slug}-audited-{tracker[:16]}.json"
    )
    return response
