"""Who may open which page: the full role x page matrix."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.network import client_ip

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "pending", "voter", "candidate", "administrator"]

# page -> expected status per persona, in PERSONAS order ("login" = redirect to sign-in).
MATRIX: dict[str, list[int | str]] = {
    "home": [200, 200, 200, 200, 200],
    "login": [200, "home", "home", "home", "home"],
    "register_voter": [200, "home", "home", "home", "home"],
    "register_candidate": [200, "home", "home", "home", "home"],
    "account": ["login", 200, 200, 200, 200],
    "password_change": ["login", 200, 200, 200, 200],
    "candidate_profile": ["login", 403, 403, 200, 403],
    "admin:index": ["admin", "admin", "admin", "admin", 200],
    "admin:accounts_user_changelist": ["admin", "admin", "admin", "admin", 200],
    "admin:accounts_auditentry_changelist": ["admin", "admin", "admin", "admin", 200],
}


@pytest.fixture
def clients(login_as, make_user, admin_user, candidate, voter, pending_voter):
    return {
        "anonymous": Client(),
        "pending": login_as(pending_voter),
        "voter": login_as(voter),
        "candidate": login_as(candidate),
        "administrator": login_as(admin_user),
    }


@pytest.mark.parametrize("page", MATRIX)
def test_role_page_matrix(clients, page):
    url = reverse(page)
    for persona, expected in zip(PERSONAS, MATRIX[page], strict=True):
        response = clients[persona].get(url)
        if expected == "login":
            assert response.status_code == 302, persona
            assert response["Location"].startswith(reverse("login")), persona
        elif expected == "admin":
            assert response.status_code == 302, persona
            assert response["Location"].startswith(reverse("admin:login")), persona
        elif expected == "home":
            assert response.status_code == 302, persona
            assert response["Location"] == reverse("home"), persona
        else:
            assert response.status_code == expected, persona


def test_forbidden_page_is_a_clear_403(clients):
    response = clients["voter"].get(reverse("candidate_profile"))
    assert response.status_code == 403
    assert b"may not use this page" in response.content


def test_candidate_profile_edit_is_validated(clients, candidate):
    client = clients["candidate"]
    too_long = {"display_name": "x" * 500, "affiliation": "", "statement": ""}
    assert client.post(reverse("candidate_profile"), too_long).status_code == 400
    good = {"display_name": "Carol", "affiliation": "Green", "statement": "Hello"}
    assert client.post(reverse("candidate_profile"), good).status_code == 302
    candidate.refresh_from_db()
    assert candidate.affiliation == "Green"


def test_home_shows_what_each_role_can_do(clients):
    assert b"Register as a voter" in clients["anonymous"].get("/").content
    assert b"awaiting approval" in clients["pending"].get("/").content
    assert b"Edit the profile shown on ballots" in clients["candidate"].get("/").content
    assert b"Open the administration site" in clients["administrator"].get("/").content
    assert b"elections you may vote in" in clients["voter"].get("/").content


def test_unknown_page_is_404_not_500(clients):
    assert clients["voter"].get("/no/such/page/").status_code == 404


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "10.1.1.1"),
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "6.6.6.6, 192.0.2.1", "192.0.2.1"),
        (2, "6.6.6.6, 192.0.2.1, 10.0.0.2", "192.0.2.1"),
        (2, "192.0.2.1", "10.1.1.1"),
    ],
)
def test_client_ip_trusts_only_configured_proxies(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
