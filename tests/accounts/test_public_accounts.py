"""Account pages a visitor meets before taking part: sign-in, lockout, the wait for
approval, refusals that say why, and the one way every page shows a time."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def rendered(source: str, **context: object) -> str:
    return Template("{% load times %}" + source).render(Context(context))


# --- Sign-in and lockout --------------------------------------------------------------


def test_the_login_page_links_to_password_reset():
    page = Client().get(LOGIN).content.decode()
    assert f'href="{reverse("password_reset")}"' in page
    assert "Forgotten your password?" in page


def test_the_lockout_page_links_to_password_reset_and_says_how_long(client, voter, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked = client.post(LOGIN, {"username": voter.username, "password": "wrong"})
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert f'href="{reverse("password_reset")}"' in page
    assert "paused for 15 minutes" in page
    # The right password is still refused: the page must not promise otherwise.
    assert client.post(LOGIN, {"username": voter.username, "password": PASSWORD}).status_code == 429


def test_a_one_minute_lockout_is_said_in_the_singular(client, voter, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=45)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked = client.post(LOGIN, {"username": voter.username, "password": "wrong"})
    assert "paused for 1 minute," in locked.content.decode()


# --- Waiting for approval, and refusals that say why -------------------------------------


def test_a_pending_candidate_gets_a_page_that_explains_the_wait(pending_candidate, login_as):
    response = login_as(pending_candidate).get(reverse("candidate_profile"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your account is awaiting approval" in page
    assert "a candidate account that an administrator has not approved yet" in page
    assert "Forbidden" not in page
    assert f'href="{reverse("account")}"' in page


def test_an_approved_candidate_still_reaches_the_page(candidate, login_as):
    assert login_as(candidate).get(reverse("candidate_profile")).status_code == 200


def test_an_account_of_another_role_is_told_whom_the_page_is_for(voter, login_as):
    response = login_as(voter).get(reverse("candidate_profile"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "it is only for candidate accounts" in page
    assert "your account&#x27;s role is voter" in page
    assert "awaiting approval" not in page
    assert "<h1>Forbidden</h1>" not in page


def test_a_pending_account_of_another_role_is_told_the_role_not_the_wait(pending_voter, login_as):
    # Approval would not open this page to a voter: saying "wait" would mislead.
    response = login_as(pending_voter).get(reverse("candidate_profile"))
    assert response.status_code == 403
    assert b"it is only for candidate accounts" in response.content


# --- The time filter ---------------------------------------------------------------------


MOMENT = datetime(2026, 12, 7, 14, 5, 9, 123456, tzinfo=UTC)


def test_local_time_names_the_zone_and_gives_the_iso_instant():
    assert rendered("{{ moment|local_time }}", moment=MOMENT) == (
        '<time datetime="2026-12-07T14:05:09Z">7 December 2026, 14:05 UTC</time>'
    )


def test_local_time_to_the_second_keeps_the_boards_spelling():
    assert rendered('{{ moment|local_time:"seconds" }}', moment=MOMENT) == (
        '<time datetime="2026-12-07T14:05:09.123Z">7 December 2026, 14:05:09 UTC</time>'
    )
    board_spelling = "2026-12-07T14:05:09.123Z"
    assert rendered('{{ moment|local_time:"seconds" }}', moment=board_spelling) == (
        f'<time datetime="{board_spelling}">7 December 2026, 14:05:09 UTC</time>'
    )


def test_local_time_follows_the_configured_time_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"
    summer = datetime(2026, 7, 1, 14, 5, tzinfo=UTC)
    assert rendered("{{ moment|local_time }}", moment=summer) == (
        '<time datetime="2026-07-01T14:05:00Z">1 July 2026, 16:05 CEST</time>'
    )
    with timezone.override("America/New_York"):
        assert "1 July 2026, 10:05 EDT" in rendered("{{ moment|local_time }}", moment=summer)


def test_local_time_shows_nothing_for_no_time_and_escapes_what_is_not_one():
    assert rendered("[{{ moment|local_time }}]", moment=None) == "[]"
    assert rendered("{{ moment|local_time }}", moment="<b>soon</b>") == "&lt;b&gt;soon&lt;/b&gt;"
    assert rendered("{{ moment|local_time }}", moment="2026-04-31T10:00:00Z") == (
        "2026-04-31T10:00:00Z"
    )


def test_local_time_refuses_an_unknown_precision():
    with pytest.raises(TemplateSyntaxError):
        rendered('{{ moment|local_time:"hours" }}', moment=MOMENT)


def test_in_minutes_rounds_a_pause_up():
    assert rendered("{{ pause|in_minutes }}", pause=timedelta(minutes=15)) == "15"
    assert rendered("{{ pause|in_minutes }}", pause=timedelta(seconds=61)) == "2"


# --- Every account page, for an anonymous visitor ---------------------------------------


@pytest.mark.parametrize(
    "name",
    ["login", "password_reset", "password_reset_done", "register_voter", "register_candidate"],
)
def test_account_pages_render_for_an_anonymous_visitor(name):
    response = Client().get(reverse(name))
    assert response.status_code == 200
    assert re.search(rb"<h1>[^<]+</h1>", response.content)


def test_approved_accounts_see_no_approval_notice(make_user, login_as):
    voter = make_user("valerie_voter", Role.VOTER)
    assert b"awaiting approval" not in login_as(voter).get(reverse("home")).content
