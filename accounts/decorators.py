"""Access-control decorators for views: who may see a page, and in what state."""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from .models import Role, User
from .network import client_ip

security_log = logging.getLogger("evoting.security")

View = Callable[..., HttpResponse]


def role_required(*roles: Role) -> Callable[[View], View]:
    """Allow only signed-in, active, approved accounts with one of ``roles``.

    Anonymous visitors are sent to the login page; anyone else gets 403, and the
    refusal is logged, because a forbidden path being tried is worth knowing about.
    The 403 says why: an account of another role is told whom the page is for, and
    an account of the right role still awaiting approval gets a page that explains
    the wait rather than a bare refusal.
    """
    allowed = frozenset(roles)

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = cast(User, request.user)  # login_required has run
            if user.role in allowed and user.is_approved:
                return view(request, *args, **kwargs)
            security_log.info(
                "access refused: user=%s role=%s approved=%s path=%s ip=%s",
                user.get_username(),
                user.role,
                user.is_approved,
                request.path,
                client_ip(request),
            )
            if user.role in allowed:
                return awaiting_approval(request)
            raise PermissionDenied(wrong_role_message(user, allowed))

        return wrapped

    return decorator


def awaiting_approval(request: HttpRequest) -> HttpResponse:
    """The 403 for an account of the right role that an administrator has not approved yet."""
    return render(request, "accounts/awaiting_approval.html", status=403)


def wrong_role_message(user: User, allowed: frozenset[Role]) -> str:
    names = gettext(" or ").join(sorted(Role(role).label.lower() for role in allowed))
    return gettext(
        "Your account may not use this page: it is only for %(allowed)s accounts, "
        "and your account's role is %(role)s."
    ) % {"allowed": names, "role": user.get_role_display().lower()}


def anonymous_only(view: View) -> View:
    """For registration pages: a signed-in user is sent home rather than registering again."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return redirect("home")
        return view(request, *args, **kwargs)

    return wrapped
