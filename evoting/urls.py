"""Top-level URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import i18n

from accounts.models import User
from elections import views as election_views


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language`` (the header's switcher), which sets the language cookie;
    a signed-in account also keeps the choice, so that its emails are written in it."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if (
        request.method == "POST"
        and request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
    ):
        User.objects.filter(pk=request.user.pk).update(language=language)
    return response


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    # The scripts' translations, as a same-origin script that CSP script-src 'self'
    # allows (an inline catalog would not be): it defines gettext, ngettext and
    # interpolate for the page's scripts and modules (elections/static/elections/js/i18n.mjs).
    path("jsi18n/", i18n.JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("elections.urls")),
    path("", election_views.home, name="home"),
]

# A lost database connection outside the views is a 503 "try again", not a 500.
handler500 = "evoting.middleware.server_error"
