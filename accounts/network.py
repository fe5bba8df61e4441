"""Who a request comes from, for login throttling and security logs: address and username."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .usernames import normalise_username


def client_ip(request: HttpRequest) -> str:
    """Return the address of the client as seen by the outermost trusted proxy.

    With ``TRUSTED_PROXY_COUNT = 0`` X-Forwarded-For is ignored, so a client cannot
    pick its own address (and escape or redirect a lockout) by sending the header.
    With N trusted proxies, each appends the address it saw, so the N-th entry from
    the right is the one the first trusted proxy saw; anything left of it is
    client-controlled.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The username a login failure is counted against, in the form accounts are matched.

    Login finds an account by its normalised key, so the lockout must count every
    spelling of one name (``Élise``, ``ÉLISE``) as that one name, or each spelling
    would buy its own round of guesses.
    """
    source: Any = credentials if credentials else getattr(request, "POST", {})
    return normalise_username(str(source.get("username") or ""))
