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
