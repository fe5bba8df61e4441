from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    # Django's LogoutView accepts POST only, so a link or image cannot sign anyone out.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("register/voter/", views.register_voter, name="register_voter"),
    path("register/candidate/", views.register_candidate, name="register_candidate"),
    path("me/", views.account, name="account"),
    path("me/candidate/", views.candidate_profile, name="candidate_profile"),
    path("candidacies/", views.candidacies, name="candidacies"),
    path("candidacies/ask/", views.ask_to_stand, name="ask_to_stand"),
    path(
        "candidacies/<uuid:candidacy_id>/withdraw/",
        views.withdraw_candidacy,
        name="withdraw_candidacy",
    ),
]

# Choosing or resetting a password by email; voters imported onto a roll set their first
# password this way.
urlpatterns += [
    path(
        "password/reset/",
        views.ThrottledPasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
