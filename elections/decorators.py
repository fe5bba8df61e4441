"""View decorators for election pages: which election, in which phase, for whom.

Each decorator refuses with a status code and a message the visitor can act on:
404 when the election does not exist for them (drafts are visible to
administrators only), 409 when it exists but is in the wrong phase, 403 when it
is not theirs to use, and for the JSON endpoints the same codes as
``{"error": message}`` rather than a page or a redirect.
"""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext, gettext_lazy
from django_stubs_ext import StrOrPromise

from accounts.models import User
from accounts.network import client_ip

from . import crypto, services
from .models import Election, Status

security_log = logging.getLogger("evoting.security")

View = Callable[..., HttpResponse]
ElectionView = Callable[..., HttpResponse]

NOT_FOUND = gettext_lazy("There is no such election.")


def content_length(request: HttpRequest) -> int:
    """The body length the client declares: 0 when absent, -1 when it is not a number."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return -1
    return declared if declared >= 0 else -1


def refusal(
    request: HttpRequest, status: int, message: StrOrPromise, *, as_json: bool
) -> HttpResponse:
    """The one shape of every refusal: a JSON error or a page that says what went wrong."""
    message = str(message)  # in the language of this request
    if as_json:
        return JsonResponse({"error": message}, status=status)
    return render(
        request,
        "elections/refused.html",
        {"status": status, "message": message},
        status=status,
    )


def election_view(
    *phases: Status, refused: StrOrPromise = "", as_json: bool = False
) -> Callable[[ElectionView], View]:
    """Load the election named by the URL's ``slug`` and pass it to the view instead.

    ``phases`` lists the statuses the view serves (all if empty); another
    status gets 409 with ``refused`` as the message. A draft exists only for
    administrators, and only on views that serve drafts: for everyone else it
    is a 404, so the existence of an unpublished election does not leak.
    """

    def decorator(view: ElectionView) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            election = Election.objects.filter(slug=slug).first()
            if election is None or (election.is_draft and not _may_see_drafts(request, phases)):
                return refusal(request, 404, NOT_FOUND, as_json=as_json)
            if phases and election.status not in phases:
                return refusal(request, 409, refused, as_json=as_json)
            return view(request, election, *args, **kwargs)

        return wrapped

    return decorator


def _may_see_drafts(request: HttpRequest, phases: tuple[Status, ...]) -> bool:
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_administrator):
        return False
    return not phases or Status.DRAFT in phases


def accepting_ballots(view: ElectionView) -> ElectionView:
    """Refuse (409) an open election outside its schedule; the server's UTC clock decides."""

    @wraps(view)
    def wrapped(
        request: HttpRequest, election: Election, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        if not election.accepts_ballots_at():
            message = gettext("This election is not accepting ballots now.")
            return refusal(request, 409, message, as_json=False)
        return view(request, election, *args, **kwargs)

    return wrapped


def eligible_voter_required(view: ElectionView) -> ElectionView:
    """Only voters on this election's roll; anyone else gets 403, and the attempt is logged."""

    @wraps(view)
    def wrapped(
        request: HttpRequest, election: Election, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        user = cast(User, request.user)
        if not services.is_eligible(election, user):
            security_log.info(
                "booth refused: user=%s election=%s ip=%s",
                user.get_username(),
                election.slug,
                client_ip(request),
            )
            message = gettext("You are not on the voter roll of this election.")
            return refusal(request, 403, message, as_json=False)
        return view(request, election, *args, **kwargs)

    return wrapped


def json_login_required(view: View) -> View:
    """401 as JSON for anonymous callers: a script posting a ballot must not get a login page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            response = refusal(request, 401, gettext("Sign in to vote."), as_json=True)
            response["WWW-Authenticate"] = 'Session realm="e-voting"'
            return response
        return view(request, *args, **kwargs)

    return wrapped


def ballot_size_capped(view: ElectionView) -> ElectionView:
    """Refuse (413) a body longer than the largest ballot this election can have.

    Checked on the declared length, before the body is read, so a huge upload
    costs neither memory nor parsing; the bound scales with the key size and the
    number of candidates.
    """

    @wraps(view)
    def wrapped(
        request: HttpRequest, election: Election, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        declared = content_length(request)
        if declared < 0:
            message = gettext("The request has an invalid length.")
            return refusal(request, 400, message, as_json=True)
        limit = crypto.max_ballot_bytes(services.election_params(election))
        if declared > limit:
            message = gettext("The ballot is too large: at most %(limit)d bytes are accepted.") % {
                "limit": limit
            }
            return refusal(request, 413, message, as_json=True)
        return view(request, election, *args, **kwargs)

    return wrapped


BALLOT_MEDIA_TYPE = "application/json"


def json_body_only(what: StrOrPromise) -> Callable[[View], View]:
    """Refuse (415) any body but UTF-8 JSON, before the body is read.

    A form or file upload has already been parsed by the CSRF middleware, after
    which the raw body can no longer be read: refusing it here keeps that a 415.
    ``what`` names the document in the message ("A ballot").
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            charset = (request.content_params or {}).get("charset", "utf-8").lower()
            # An empty body has no media type to check; it is refused as no document.
            untyped_empty = not request.content_type and content_length(request) == 0
            json_body = request.content_type == BALLOT_MEDIA_TYPE and charset in {"utf-8", "utf8"}
            if not (json_body or untyped_empty):
                message = gettext("%(what)s must be sent as %(media_type)s in UTF-8.") % {
                    "what": what,
                    "media_type": BALLOT_MEDIA_TYPE,
                }
                return refusal(request, 415, message, as_json=True)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


json_body_required = json_body_only(gettext_lazy("A ballot"))
