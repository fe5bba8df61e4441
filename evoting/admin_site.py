"""The Django admin site, with refused visits written to the security log.

Django's admin sends a signed-in account without staff status to its login page
before any of the project's code runs; an approved voter posting a close or a
decryption there is worth knowing about, as it is on the site's own pages.
"""

import logging

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from accounts.network import client_ip

security_log = logging.getLogger("evoting.security")


class ElectionAdminSite(admin.AdminSite):
    site_header = gettext_lazy("E-voting administration")
    site_title = gettext_lazy("E-voting administration")

    def has_permission(self, request: HttpRequest) -> bool:
        allowed = super().has_permission(request)
        user = request.user
        # The login page asks too (to send staff on); only other admin URLs are attempts.
        on_login_page = request.resolver_match is None or request.resolver_match.url_name == "login"
        if not allowed and user.is_authenticated and not on_login_page:
            security_log.info(
                "admin refused: user=%s role=%s method=%s path=%s ip=%s",
                user.get_username(),
                getattr(user, "role", ""),
                request.method,
                request.path,
                client_ip(request),
            )
        return allowed


class ElectionAdminConfig(AdminConfig):
    default_site = "evoting.admin_site.ElectionAdminSite"
