"""The threat list for accounts: sessions, password guessing, spoofed addresses, takeovers.

Everything goes through the real login, logout, password and registration views
with the Django test client and the real database.
"""

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry, Role, User
from tests.accounts.test_registration import GOOD
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
GUESS = "near miss of the real passphrase 41"


def sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1", **extra: Any):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def guess_until_locked(username: str, ip: str, **extra: Any) -> Any:
    client = Client()
    responses = [sign_in(client, username, GUESS, ip, **extra) for _ in range(5)]
    return responses[-1]


def signed_in_as(client: Client) -> str | None:
    """The username the session belongs to, as the account page shows it; None if anonymous."""
    response = client.get(reverse("account"))
    if response.status_code != 200:
        return None
    return str(response.wsgi_request.user.get_username())


# --- Sessions ---------------------------------------------------------------------------


def test_a_session_planted_before_login_is_not_the_session_signed_in(voter):
    planted = SessionStore()
    planted["planted"] = True
    planted.create()
    planted_key = str(planted.session_key)
    attacker, victim = Client(), Client()
    attacker.cookies["sessionid"] = planted_key
    victim.cookies["sessionid"] = planted_key  # fixed by the attacker, e.g. by a link

    assert sign_in(victim, voter.username, PASSWORD).status_code == 302

    assert victim.cookies["sessionid"].value != planted_key
    assert signed_in_as(victim) == voter.username
    assert signed_in_as(attacker) is None
    assert not Session.objects.filter(session_key=planted_key).exists()


def test_logout_deletes_the_session_on_the_server(voter):
    client = Client()
    sign_in(client, voter.username, PASSWORD)
    key = client.cookies["sessionid"].value
    assert Session.objects.filter(session_key=key).exists()
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    thief = Client()
    thief.cookies["sessionid"] = key
    assert signed_in_as(thief) is None


def test_a_password_change_signs_out_a_copied_session_but_not_the_changer(voter):
    owner = Client()
    sign_in(owner, voter.username, PASSWORD)
    thief = Client()
    thief.cookies["sessionid"] = owner.cookies["sessionid"].value
    assert signed_in_as(thief) == voter.username

    new = "a fresh and long passphrase 2027"
    response = owner.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert signed_in_as(owner) == voter.username
    assert signed_in_as(thief) is None


# --- Password guessing ------------------------------------------------------------------


def test_a_lockout_is_logged_and_recorded_without_the_guessed_password(caplog, voter):
    with caplog.at_level("WARNING", logger="axes"):
        locked = guess_until_locked(voter.username, "203.0.113.9")
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("axes")]
    assert any("Locking out" in line for line in warnings), warnings
    attempt = AccessAttempt.objects.get(username=voter.username)
    assert (attempt.ip_address, attempt.failures_since_start) == ("203.0.113.9", 5)
    assert GUESS not in attempt.post_data
    assert GUESS not in caplog.text


def test_a_spoofed_forwarded_for_neither_escapes_nor_redirects_a_lockout(voter):
    # Without a trusted proxy the header is ignored: the guesser cannot pose as the voter's
    # machine to lock it out, nor pose as a fresh address to keep guessing.
    guess_until_locked(voter.username, "203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
    spoofed = sign_in(
        Client(), voter.username, PASSWORD, "203.0.113.9", HTTP_X_FORWARDED_FOR="192.0.2.77"
    )
    assert spoofed.status_code == 429
    assert sign_in(Client(), voter.username, PASSWORD, "198.51.100.7").status_code == 302


def test_behind_one_trusted_proxy_only_the_proxys_entry_counts(settings, voter):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    guess_until_locked(voter.username, proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    # Entries the guesser writes in front of the proxy's own are ignored.
    for forged in ("192.0.2.77, 203.0.113.9", "198.51.100.7, 203.0.113.9"):
        response = sign_in(Client(), voter.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=forged)
        assert response.status_code == 429, forged
    # The voter behind the same proxy, from their own address, is not locked out.
    own = sign_in(Client(), voter.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert own.status_code == 302


def test_spellings_of_one_username_share_one_lockout(make_user):
    # Login matches accounts by their normalised name, so the lockout must count that way
    # too, or each spelling of the name would buy another round of guesses.
    elise = make_user("élise-voter", Role.VOTER)
    client = Client()
    for spelling in (
        "élise-voter",
        "Élise-voter",
        "ÉLISE-VOTER",
        "E\u0301lise-voter",
        "élise-Voter",
    ):
        sign_in(client, spelling, GUESS, "203.0.113.20")
    assert sign_in(Client(), "Élise-Voter", PASSWORD, "203.0.113.20").status_code == 429
    assert sign_in(Client(), elise.username, PASSWORD, "198.51.100.20").status_code == 302


def test_a_lockout_of_one_account_does_not_lock_another_from_the_same_address(voter, make_user):
    neighbour = make_user("nora_neighbour", Role.VOTER)
    guess_until_locked(voter.username, "192.0.2.10")
    assert sign_in(Client(), neighbour.username, PASSWORD, "192.0.2.10").status_code == 302


def test_access_refusals_on_role_pages_are_in_the_security_log(caplog, login_as, voter):
    with caplog.at_level("INFO", logger="evoting.security"):
        response = login_as(voter).get(reverse("candidate_profile"), REMOTE_ADDR="192.0.2.44")
    assert response.status_code == 403
    lines = [r.getMessage() for r in caplog.records if r.name == "evoting.security"]
    assert any(
        "access refused" in line and voter.username in line and "ip=192.0.2.44" in line
        for line in lines
    ), lines


# --- Registration that tries to take over an account or a role -----------------------------


@pytest.mark.parametrize(
    "username",
    [
        "ALICE_ADMIN",
        "Alice_Admin",
        " alice_admin ",
        "\uff41\uff4c\uff49\uff43\uff45_admin",  # full-width letters, equal after NFKC
    ],
    ids=["upper", "mixed", "padded", "full-width"],
)
def test_a_variant_spelling_of_an_existing_username_is_refused(client, admin_user, username):
    password_before = admin_user.password
    response = client.post(
        reverse("register_voter"), GOOD | {"username": username, "email": "x@example.org"}
    )
    assert response.status_code == 400
    assert b"already exists" in response.content
    admin_user.refresh_from_db()
    assert admin_user.password == password_before and admin_user.role == Role.ADMINISTRATOR
    assert User.objects.count() == 1
    assert not AuditEntry.objects.filter(action="accounts.user.registered").exists()


def test_crafted_identity_fields_cannot_overwrite_an_existing_account(client, voter):
    before = User.objects.values().get(pk=voter.pk)
    crafted = GOOD | {
        "id": str(voter.pk),
        "pk": str(voter.pk),
        "password": "pbkdf2_sha256$1$x$y",
        "last_login": "2020-01-01 00:00",
        "date_joined": "2020-01-01 00:00",
        "is_active": "",
    }
    response = client.post(reverse("register_voter"), crafted)
    assert response.status_code == 302
    assert User.objects.values().get(pk=voter.pk) == before
    created = User.objects.get(username="newvoter")
    assert created.pk != voter.pk and created.is_active and not created.is_approved
    assert created.check_password(GOOD["password1"])


def test_a_pending_account_cannot_raise_itself_through_the_profile_form(login_as, make_user):
    pending = make_user("pia_pending", Role.CANDIDATE, approved=False)
    response = login_as(pending).post(
        reverse("candidate_profile"),
        {"display_name": "Pia", "role": Role.ADMINISTRATOR, "is_approved": "on"},
    )
    assert response.status_code == 403
    pending.refresh_from_db()
    assert (pending.role, pending.is_approved, pending.display_name) == (Role.CANDIDATE, False, "")


def test_an_approved_candidate_cannot_raise_itself_through_the_profile_form(login_as, candidate):
    response = login_as(candidate).post(
        reverse("candidate_profile"),
        {
            "display_name": "Carol",
            "affiliation": "",
            "statement": "",
            "role": Role.ADMINISTRATOR,
            "is_staff": "on",
            "is_superuser": "on",
            "username": "alice_admin",
        },
    )
    assert response.status_code == 302
    candidate.refresh_from_db()
    assert (candidate.role, candidate.is_staff, candidate.is_superuser) == (
        Role.CANDIDATE,
        False,
        False,
    )
    assert candidate.username == "carol_candidate" and candidate.display_name == "Carol"
