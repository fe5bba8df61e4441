"""Answers 503 "try again" when the database cannot be reached, instead of a 500.

While the database restarts or fails over, any query of a request (its session,
its user, the view's own) raises ``OperationalError`` or ``InterfaceError``. Almost
always nothing of that request was stored (a cast's ballot is stored and counted
together, or not at all); only a connection lost while committing leaves it unknown.
So the honest answer is that the service is briefly unavailable and the same request
can be sent again: a ballot sent again is never stored twice, and the answer then
says it was already there. The page is static: rendering the site's templates
would query the database again.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views import defaults

logger = logging.getLogger("evoting.database")

MESSAGE = gettext_lazy(
    "The site cannot reach its database just now. What you sent may not have been "
    "stored: please send it again in a few seconds (nothing is ever stored twice)."
)
PAGE = (
    '<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
    "<title>{title} · {site}</title></head><body><main>"
    "<h1>{title}</h1><p>{message}</p>"
    '<p><a href="">{reload}</a></p></main></body></html>'
)


def unavailable_page() -> str:
    """The static 503 page, in the request's language (translations need no database)."""
    return PAGE.format(
        language=escape(get_language() or "en"),
        title=escape(gettext("Try again in a moment")),
        site=escape(gettext("E-voting")),
        message=escape(MESSAGE),
        reload=escape(gettext("Reload this page")),
    )


RETRY_AFTER_SECONDS = "5"


def unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer, as JSON for the site's JSON endpoints and the booth, else a page."""
    wants_json = request.content_type == "application/json" or "application/json" in (
        request.headers.get("Accept", "")
    )
    response: HttpResponse
    if wants_json:
        response = JsonResponse({"error": str(MESSAGE)}, status=503)
    else:
        response = HttpResponse(
            unavailable_page(), status=503, content_type="text/html; charset=utf-8"
        )
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def is_database_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, OperationalError | InterfaceError)


class DatabaseUnavailableMiddleware:
    """Turns a view's lost database connection into 503 (first in ``MIDDLEWARE``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        logger.warning("database unavailable: %s %s", request.method, type(exception).__name__)
        return unavailable(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the same 503 for a lost database outside the views (middleware)."""
    if is_database_unavailable(sys.exc_info()[1]):
        return unavailable(request)
    return defaults.server_error(request)
