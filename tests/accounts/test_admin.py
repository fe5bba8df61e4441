import pytest
from django.urls import reverse

from accounts.audit import log_action
from accounts.models import AuditEntry, Role, User

pytestmark = pytest.mark.django_db


def test_user_list_search_and_filter(login_as, admin_user, voter, candidate, pending_voter):
    client = login_as(admin_user)
    url = reverse("admin:accounts_user_changelist")
    assert client.get(url).status_code == 200
    found = client.get(url, {"q": "carol"}).content.decode()
    assert candidate.username in found and voter.username not in found
    pending = client.get(url, {"is_approved__exact": "0"}).content.decode()
    assert pending_voter.username in pending and voter.username not in pending
    voters = client.get(url, {"role__exact": "voter"}).content.decode()
    assert voter.username in voters and candidate.username not in voters


def test_password_hash_is_never_shown(login_as, admin_user, voter):
    client = login_as(admin_user)
    for url in (
        reverse("admin:accounts_user_change", args=[voter.pk]),
        reverse("admin:accounts_user_changelist"),
    ):
        page = client.get(url).content.decode()
        assert "argon2" not in page
        assert voter.password.split("$")[-1][:6] not in page


def test_admin_can_create_an_administrator(login_as, admin_user):
    client = login_as(admin_user)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "bob_admin",
            "email": "bob@example.org",
            "role": Role.ADMINISTRATOR,
            "usable_password": "true",
            "password1": "a strong enough passphrase 12",
            "password2": "a strong enough passphrase 12",
        },
    )
    assert response.status_code == 302
    bob = User.objects.get(username="bob_admin")
    assert bob.role == Role.ADMINISTRATOR and bob.is_approved


def test_staff_flag_requires_administrator_role(login_as, admin_user, voter):
    client = login_as(admin_user)
    url = reverse("admin:accounts_user_change", args=[voter.pk])
    response = client.post(
        url,
        {
            "username": voter.username,
            "email": voter.email,
            "role": Role.VOTER,
            "is_approved": "on",
            "is_active": "on",
            "is_staff": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 200
    assert b"Only administrators can have staff status." in response.content
    voter.refresh_from_db()
    assert not voter.is_staff


def test_audit_log_is_read_only(login_as, admin_user):
    entry = log_action(actor=admin_user, action="accounts.test.logged", message="hello")
    client = login_as(admin_user)
    assert client.get(reverse("admin:accounts_auditentry_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_auditentry_add")).status_code == 403
    assert (
        client.post(reverse("admin:accounts_auditentry_delete", args=[entry.pk])).status_code == 403
    )
    with pytest.raises(ValueError, match="append-only"):
        entry.message = "changed"
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).message == "hello"
