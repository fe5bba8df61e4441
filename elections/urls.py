from django.urls import path

from . import views

app_name = "elections"

urlpatterns = [
    path("elections/", views.election_list, name="list"),
    path("elections/<slug:slug>/", views.election_detail, name="detail"),
    path("elections/<slug:slug>/turnout.json", views.turnout, name="turnout"),
    path("elections/<slug:slug>/booth/", views.booth, name="booth"),
    path("elections/<slug:slug>/cast/", views.cast_ballot, name="cast"),
    path("elections/<slug:slug>/receipt/", views.receipt, name="receipt"),
    path("elections/<slug:slug>/results/", views.results, name="results"),
]
