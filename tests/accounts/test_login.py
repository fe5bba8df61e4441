from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def attempt(client: Client, username: str, password: str, ip: str = "10.0.0.1", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def fail_until_locked(client: Client, username: str, ip: str = "10.0.0.1", times: int = 5):
    responses = [attempt(client, username, "wrong password", ip) for _ in range(times)]
    return responses[-1]


def test_login_and_logout(client, voter):
    response = attempt(client, voter.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("account")).status_code == 200

    assert client.get(reverse("logout")).status_code == 405  # POST only
    assert client.get(reverse("account")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("account")).status_code == 302


def test_wrong_password_shows_message(client, voter):
    response = attempt(client, voter.username, "nope nope nope")
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_session_key_changes_at_login(client, voter):
    client.get(LOGIN)
    client.session.save()
    before = client.session.session_key
    attempt(client, voter.username, PASSWORD)
    assert client.session.session_key != before


def test_old_session_cookie_is_useless_after_logout(client, voter):
    attempt(client, voter.username, PASSWORD)
    stolen = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    thief = Client()
    thief.cookies["sessionid"] = stolen
    assert thief.get(reverse("account")).status_code == 302


def test_lockout_after_repeated_failures(client, voter):
    locked = fail_until_locked(client, voter.username)
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    # Even the right password is refused while locked.
    assert attempt(client, voter.username, PASSWORD).status_code == 429


def test_lockout_is_per_username_and_address(client, voter):
    fail_until_locked(client, voter.username, ip="203.0.113.9")
    # The real voter, from their own address, is not locked out by someone elsewhere.
    assert attempt(Client(), voter.username, PASSWORD, ip="198.51.100.7").status_code == 302


def test_spoofed_forwarded_for_does_not_escape_lockout(client, voter):
    fail_until_locked(client, voter.username, ip="203.0.113.9")
    response = attempt(
        client, voter.username, PASSWORD, ip="203.0.113.9", HTTP_X_FORWARDED_FOR="192.0.2.55"
    )
    assert response.status_code == 429


def test_cool_off_ends_lockout(client, voter):
    fail_until_locked(client, voter.username)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client, voter.username, PASSWORD).status_code == 302


def test_success_resets_failure_count(client, voter):
    for _ in range(4):
        attempt(client, voter.username, "wrong password")
    assert attempt(client, voter.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert attempt(client, voter.username, "wrong password").status_code == 200
    assert attempt(client, voter.username, PASSWORD).status_code == 302


def test_password_change(client, voter):
    attempt(client, voter.username, PASSWORD)
    new = "another long passphrase 77"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    voter.refresh_from_db()
    assert voter.check_password(new)
    assert voter.password.startswith("argon2")


def test_password_change_requires_login(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_csrf_is_enforced_on_login(voter):
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": voter.username, "password": PASSWORD})
    assert response.status_code == 403
