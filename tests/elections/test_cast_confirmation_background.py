"""A slow mail server never delays the voter's answer: the confirmation leaves in the background."""

import time
from collections.abc import Iterator

import pytest
from django.core import mail
from django.urls import reverse

from accounts import background_mail
from elections.models import Ballot

from ..accounts.test_background_mail import HOLD_SECONDS, GatedBackend
from .conftest import OpenElection, make_ballot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def slow_mail_server(settings) -> Iterator[None]:
    settings.EMAIL_IN_BACKGROUND = True
    settings.EMAIL_BACKEND = "tests.accounts.test_background_mail.GatedBackend"
    settings.SITE_URL = "https://vote.example.org"
    GatedBackend.gate.clear()
    GatedBackend.entered.clear()
    yield
    GatedBackend.gate.set()
    assert background_mail.drain(HOLD_SECONDS * 2)


def test_the_cast_answers_201_while_the_mail_server_still_holds_the_confirmation(
    open_election: OpenElection, voter, login_as, django_capture_on_commit_callbacks
):
    election = open_election.election
    body = make_ballot(election, voter, [0, 1, 0])
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = login_as(voter).post(
            reverse("elections:cast", kwargs={"slug": election.slug}),
            data=body,
            content_type="application/json",
        )
    took = time.monotonic() - started
    assert response.status_code == 201
    assert took < HOLD_SECONDS / 2, f"the cast waited {took:.1f}s for the mail server"
    assert Ballot.objects.filter(election=election, voter=voter).exists()
    assert GatedBackend.entered.wait(HOLD_SECONDS), "the confirmation was never sent"
    assert mail.outbox == []

    GatedBackend.gate.set()
    assert background_mail.drain(HOLD_SECONDS)
    tracker = response.json()["tracker"]
    assert [message.to for message in mail.outbox] == [[voter.email]]
    assert tracker in mail.outbox[0].body
