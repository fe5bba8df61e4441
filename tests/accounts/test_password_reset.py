"""Password-reset emails are rate-limited per address and per client, without enumeration."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connections
from django.test import Client
from django.urls import reverse

from accounts.models import Role

pytestmark = pytest.mark.django_db

SECURITY = "evoting.security"


def ask_for_reset(email: str, ip: str):
    return Client().post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def test_one_address_gets_at_most_the_limit_of_emails(settings, voter):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 3
    responses = [ask_for_reset(voter.email, f"192.0.2.{n}") for n in range(5)]
    assert len(mail.outbox) == 3
    assert all(m.to == [voter.email] for m in mail.outbox)
    assert {(r.status_code, r["Location"]) for r in responses} == {
        (302, reverse("password_reset_done"))
    }
    assert len({r.content for r in responses}) == 1
    assert len({tuple(sorted(r.cookies)) for r in responses}) == 1


def test_another_address_from_another_client_still_gets_its_email(settings, voter, make_user):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 3
    other = make_user("olga_other", Role.VOTER)
    for _ in range(5):
        ask_for_reset(voter.email, "192.0.2.1")
    sent_before = len(mail.outbox)
    response = ask_for_reset(other.email, "198.51.100.9")
    assert response.status_code == 302
    assert len(mail.outbox) == sent_before + 1
    assert mail.outbox[-1].to == [other.email]


def test_one_client_gets_at_most_its_limit_across_addresses(settings, make_user):
    settings.PASSWORD_RESET_LIMIT_PER_CLIENT = 4
    users = [make_user(f"voter_{n}", Role.VOTER) for n in range(6)]
    for user in users:
        assert ask_for_reset(user.email, "203.0.113.5").status_code == 302
    assert len(mail.outbox) == 4
    assert ask_for_reset(users[5].email, "203.0.113.6").status_code == 302
    assert len(mail.outbox) == 5


def test_the_address_limit_ignores_case_and_spacing(settings, voter):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 2
    for spelling in (voter.email, voter.email.upper(), f" {voter.email} ", voter.email):
        ask_for_reset(spelling, "192.0.2.7")
    assert len(mail.outbox) == 2


def test_unknown_addresses_are_throttled_and_answered_like_known_ones(settings, voter):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 1
    known = [ask_for_reset(voter.email, "192.0.2.1") for _ in range(2)]
    unknown = [ask_for_reset("nobody@example.org", "192.0.2.2") for _ in range(2)]
    assert len({(r.status_code, r["Location"], r.content) for r in known + unknown}) == 1
    assert len(mail.outbox) == 1


def test_a_throttled_request_is_logged_without_the_address(caplog, settings, voter):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 1
    with caplog.at_level("INFO", logger=SECURITY):
        ask_for_reset(voter.email, "192.0.2.50")
        ask_for_reset(voter.email, "192.0.2.50")
    lines = [r.getMessage() for r in caplog.records if r.name == SECURITY]
    throttled = [line for line in lines if "password reset throttled" in line]
    assert len(throttled) == 1 and "ip=192.0.2.50" in throttled[0]
    assert all(voter.email not in line and "victor_voter" not in line for line in lines)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_burst_gets_no_more_emails_than_the_limit(settings, voter):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 3
    burst = 12
    start = threading.Barrier(burst)

    def send(n: int) -> int:
        try:
            start.wait(timeout=30)
            return int(ask_for_reset(voter.email, f"192.0.2.{n}").status_code)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=burst) as pool:
        statuses = list(pool.map(send, range(burst)))
    assert statuses == [302] * burst
    assert len(mail.outbox) == 3
