import pytest
from django.urls import reverse

from accounts.models import AuditEntry, Role, User

pytestmark = pytest.mark.django_db

GOOD = {
    "username": "newvoter",
    "email": "newvoter@example.org",
    "first_name": "New",
    "last_name": "Voter",
    "password1": "a long enough passphrase 981",
    "password2": "a long enough passphrase 981",
}


def test_voter_registration_creates_pending_voter(client):
    response = client.post(reverse("register_voter"), GOOD)
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    user = User.objects.get(username="newvoter")
    assert user.role == Role.VOTER
    assert not user.is_approved
    assert not user.is_staff and not user.is_superuser
    assert user.password.startswith("argon2")
    assert AuditEntry.objects.filter(action="accounts.user.registered", object_id=str(user.pk))


def test_candidate_registration_stores_profile(client):
    data = GOOD | {
        "username": "newcand",
        "email": "newcand@example.org",
        "display_name": "N. Candidate",
        "affiliation": "Independent",
        "statement": "I will count every vote.",
    }
    response = client.post(reverse("register_candidate"), data)
    assert response.status_code == 302
    user = User.objects.get(username="newcand")
    assert user.role == Role.CANDIDATE
    assert not user.is_approved
    assert (user.display_name, user.affiliation) == ("N. Candidate", "Independent")
    assert user.statement == "I will count every vote."


def test_candidate_registration_requires_display_name(client):
    response = client.post(reverse("register_candidate"), GOOD)
    assert response.status_code == 400
    assert b"This field is required" in response.content
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password2": "something else entirely 1"}, b"didn"),
        ({"password1": "short", "password2": "short"}, b"too short"),
        ({"password1": "password123", "password2": "password123"}, b"too common"),
        ({"email": "not-an-email"}, b"valid email"),
        ({"username": ""}, b"This field is required"),
        ({"username": "bad name!"}, b"valid username"),
    ],
)
def test_invalid_registration_is_refused_with_message(client, change, message):
    response = client.post(reverse("register_voter"), GOOD | change)
    assert response.status_code == 400
    assert message in response.content
    assert not User.objects.exists()


def test_duplicate_username_is_refused(client, voter):
    response = client.post(reverse("register_voter"), GOOD | {"username": voter.username})
    assert response.status_code == 400
    assert b"already exists" in response.content
    voter.refresh_from_db()
    assert voter.email == "victor_voter@example.org"
    assert User.objects.count() == 1


def test_duplicate_email_is_refused(client, voter):
    response = client.post(reverse("register_voter"), GOOD | {"email": voter.email.upper()})
    assert response.status_code == 400
    assert User.objects.count() == 1


@pytest.mark.parametrize("url_name", ["register_voter", "register_candidate"])
def test_crafted_post_cannot_grant_role_or_privileges(client, url_name):
    crafted = GOOD | {
        "display_name": "Mallory",
        "role": Role.ADMINISTRATOR,
        "is_approved": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": "1",
        "user_permissions": "1",
    }
    response = client.post(reverse(url_name), crafted)
    assert response.status_code == 302
    user = User.objects.get(username="newvoter")
    assert user.role in (Role.VOTER, Role.CANDIDATE)
    assert user.role != Role.ADMINISTRATOR
    assert not user.is_approved
    assert not user.is_staff
    assert not user.is_superuser
    assert not user.user_permissions.exists()


def test_signed_in_user_cannot_register_again(login_as, voter):
    response = login_as(voter).post(reverse("register_candidate"), GOOD)
    assert response.status_code == 302
    assert User.objects.count() == 1


def test_registration_rejects_other_methods(client):
    assert client.put(reverse("register_voter")).status_code == 405
