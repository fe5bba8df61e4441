"""A candidate hears of every decision on their request to stand, whichever page took it."""

import smtplib
from collections.abc import Sequence
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from accounts.models import User
from elections import services
from elections.models import CandidacyRequest, CandidacyStatus, Candidate, Election

from .test_candidacies import confirm, decide_url

pytestmark = pytest.mark.django_db

SITE = "https://vote.example.org"


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture(autouse=True)
def _site(settings) -> None:
    settings.SITE_URL = SITE


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def election(make_election) -> Election:
    return make_election(slug="council", questions=[{"title": "Who chairs?", "options": ["Ada"]}])


@pytest.fixture
def pending(candidate: User, election: Election) -> CandidacyRequest:
    return services.request_candidacy(candidate=candidate, question=election.questions.get())


CHANGELIST = "admin:elections_candidacyrequest_changelist"


def only_email_to(user: User) -> mail.EmailMessage:
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    message = mail.outbox[0]
    assert message.to == [user.email]
    return message


def test_accepting_on_the_dashboard_emails_the_candidate(
    login_as, admin_user, candidate, pending, on_commit
):
    client = login_as(admin_user)
    data = confirm(client, pending, "accept")
    assert not mail.outbox
    with on_commit():
        client.post(decide_url(pending, "accept"), data)
    message = only_email_to(candidate)
    assert message.subject == "You stand in the election: Election council"
    assert 'accepted your request to stand in the election "Election council"' in message.body
    assert '"Who chairs?"' in message.body
    assert f"{SITE}{reverse('candidacies')}" in message.body


def test_accepting_from_the_admin_list_emails_the_candidate(
    login_as, admin_user, candidate, pending, on_commit
):
    client = login_as(admin_user)
    data = {"action": "accept_selected", "_selected_action": [str(pending.pk)], "post": "yes"}
    with on_commit():
        client.post(reverse(CHANGELIST), data)
    assert Candidate.objects.filter(account=candidate).count() == 1
    assert "You stand in the election" in only_email_to(candidate).subject


def test_declining_from_either_page_emails_the_reason(
    login_as, admin_user, candidate, election, pending, on_commit
):
    client = login_as(admin_user)
    data = {
        "action": "decline_selected",
        "_selected_action": [str(pending.pk)],
        "post": "yes",
        "reason": "The list is closed.",
    }
    with on_commit():
        client.post(reverse(CHANGELIST), data)
    message = only_email_to(candidate)
    assert message.subject == "Your request to stand was declined: Election council"
    assert "The reason given:\nThe list is closed." in message.body

    # Asked again, declined on the dashboard without a reason.
    mail.outbox.clear()
    again = services.request_candidacy(candidate=candidate, question=election.questions.get())
    confirmed = confirm(client, again, "decline")
    with on_commit():
        client.post(decide_url(again, "decline"), confirmed)
    message = only_email_to(candidate)
    assert "declined your request" in message.body and "The reason given" not in message.body


def test_the_email_is_in_the_candidates_language(
    login_as, admin_user, candidate, pending, on_commit
):
    candidate.language = "de"
    candidate.save(update_fields=["language"])
    with on_commit():
        services.accept_candidacy(candidacy=pending, actor=admin_user)
    message = only_email_to(candidate)
    assert message.subject.startswith("Sie kandidieren")
    assert "Election council" in message.subject


def test_a_second_decision_sends_nothing_more(admin_user, candidate, pending, on_commit):
    with on_commit():
        services.accept_candidacy(candidacy=pending, actor=admin_user)
    with on_commit(), pytest.raises(services.ElectionError):
        services.accept_candidacy(candidacy=pending, actor=admin_user)
    with on_commit(), pytest.raises(services.ElectionError):
        services.decline_candidacy(candidacy=pending, actor=admin_user)
    only_email_to(candidate)


def test_a_failing_mail_server_leaves_the_decision_standing(
    settings, admin_user, candidate, pending, on_commit
):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    with on_commit():
        services.accept_candidacy(candidacy=pending, actor=admin_user)
    pending.refresh_from_db()
    assert pending.status == CandidacyStatus.ACCEPTED
    assert Candidate.objects.filter(account=candidate).count() == 1


def test_the_change_form_cannot_decide_a_request(login_as, admin_user, pending, on_commit):
    # A request's page is read-only: the decisions go through the service, which emails.
    client = login_as(admin_user)
    url = reverse("admin:elections_candidacyrequest_change", args=[pending.pk])
    page = client.get(url).content.decode()
    assert 'name="status"' not in page
    with on_commit():
        response = client.post(url, {"status": CandidacyStatus.ACCEPTED})
    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == CandidacyStatus.PENDING
    assert not mail.outbox
