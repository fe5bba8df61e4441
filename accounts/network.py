"""The client address used for login throttling and security logs."""

from django.conf import settings
from django.http import HttpRequest


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
