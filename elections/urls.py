from django.urls import path

from . import audit_views, board_views, trustee_views, verify_views, views

app_name = "elections"

urlpatterns = [
    path("elections/", views.election_list, name="list"),
    path("elections/<slug:slug>/", views.election_detail, name="detail"),
    path("elections/<slug:slug>/turnout.json", views.turnout, name="turnout"),
    path("elections/<slug:slug>/booth/", views.booth, name="booth"),
    path("elections/<slug:slug>/cast/", views.cast_ballot, name="cast"),
    path("elections/<slug:slug>/receipt/", views.receipt, name="receipt"),
    path("elections/<slug:slug>/results/", views.results, name="results"),
    path("elections/<slug:slug>/board/", board_views.board_page, name="board"),
    path("elections/<slug:slug>/board.json", board_views.board_download, name="board_json"),
    path("elections/<slug:slug>/check/", board_views.check_receipt, name="check"),
    path("elections/<slug:slug>/check.json", board_views.check_tracker_json, name="check_json"),
    path("elections/<slug:slug>/record.json", board_views.record_download, name="record_json"),
    path("elections/<slug:slug>/tally.json", board_views.tally_download, name="tally_json"),
    path("elections/<slug:slug>/verify/", verify_views.verify_page, name="verify"),
    path("elections/<slug:slug>/audit/", audit_views.audit, name="audit"),
    path(
        "elections/<slug:slug>/audit/<str:tracker>.json",
        audit_views.audited_download,
        name="audited_json",
    ),
    path("elections/<slug:slug>/trustee/", trustee_views.trustee_page, name="trustee"),
    path(
        "elections/<slug:slug>/trustee/partial/",
        trustee_views.submit_partial,
        name="trustee_partial",
    ),
]
