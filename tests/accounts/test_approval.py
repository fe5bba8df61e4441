import pytest
from django.urls import reverse

from accounts.models import AuditEntry, User

pytestmark = pytest.mark.django_db


def test_pending_account_cannot_use_role_pages_until_approved(
    login_as, admin_user, pending_candidate
):
    client = login_as(pending_candidate)
    assert client.get(reverse("candidate_profile")).status_code == 403
    home = client.get(reverse("home"))
    assert b"awaiting approval" in home.content

    response = login_as(admin_user).post(
        reverse("admin:accounts_user_changelist"),
        {"action": "approve_selected", "_selected_action": [str(pending_candidate.pk)]},
        follow=True,
    )
    assert b"Approved 1 account." in response.content
    pending_candidate.refresh_from_db()
    assert pending_candidate.is_approved
    assert client.get(reverse("candidate_profile")).status_code == 200
    entry = AuditEntry.objects.get(action="accounts.user.approved")
    assert entry.actor == admin_user
    assert entry.object_id == str(pending_candidate.pk)


def test_approving_already_approved_counts_nothing(login_as, admin_user, voter):
    response = login_as(admin_user).post(
        reverse("admin:accounts_user_changelist"),
        {"action": "approve_selected", "_selected_action": [str(voter.pk)]},
        follow=True,
    )
    assert b"Approved 0 accounts." in response.content
    assert not AuditEntry.objects.filter(action="accounts.user.approved").exists()


def test_non_admin_cannot_approve(login_as, voter, pending_voter):
    response = login_as(voter).post(
        reverse("admin:accounts_user_changelist"),
        {"action": "approve_selected", "_selected_action": [str(pending_voter.pk)]},
    )
    assert response.status_code == 302  # to the admin login page
    assert not User.objects.get(pk=pending_voter.pk).is_approved
