"""Access-control decorators for views: who may see a page, and in what state."""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .models import Role, User
from .network import client_ip

security_log = logging.getLogger("evoting.security")

View = Callable[..., HttpResponse]


def role_required(*roles: Role) -> Callable[[View], View]:
    """Allow only signed-in, active, approved accounts with one of ``roles``.

    Anonymous visitors are sent to the login page; anyone else gets 403, and the
    refusal is logged, because a forbidden path being tried is worth knowing about.
    """
    allowed = frozenset(roles)

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = cast(User, request.user)  # login_required has run
            if user.role not in allowed or not user.is_approved:
                security_log.info(
                    "access refused: user=%s role=%s approved=%s path=%s ip=%s",
                    user.get_username(),
                    user.role,
                    user.is_approved,
                    request.path,
                    client_ip(request),
                )
                raise PermissionDenied("Your account may not use this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def anonymous_only(view: View) -> View:
    """For registration pages: a signed-in user is sent home rather than registering again."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return redirect("home")
        return view(request, *args, **kwargs)

    return wrapped
