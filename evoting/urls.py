"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path

from elections import views as election_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("elections.urls")),
    path("", election_views.home, name="home"),
]

# A lost database connection outside the views is a 503 "try again", not a 500.
handler500 = "evoting.middleware.server_error"
