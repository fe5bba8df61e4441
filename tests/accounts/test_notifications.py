"""The approval email: sent once after the approval is stored, never in its way."""

from collections.abc import Sequence
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.urls import reverse

from accounts import notifications, services
from accounts.models import User

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    """A mail server that cannot be reached."""

    def open(self) -> bool:
        raise ConnectionRefusedError(111, "Connection refused")

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise AssertionError("never reached: open() fails first")


@pytest.fixture(autouse=True)
def _site(settings) -> None:
    settings.SITE_URL = "https://vote.example.org"


def approve_in_admin(client, user: User) -> Any:
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "approve_selected", "_selected_action": [str(user.pk)]},
        follow=True,
    )


def test_an_approved_account_is_told_once(
    login_as, admin_user, pending_voter, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = approve_in_admin(login_as(admin_user), pending_voter)
    assert b"Approved 1 account." in response.content
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [pending_voter.email]
    assert message.subject == "Your account has been approved"
    assert pending_voter.username in message.body
    assert "https://vote.example.org/accounts/login/" in message.body

    # Approving again changes nothing and sends nothing; nor does a second notification.
    with django_capture_on_commit_callbacks(execute=True):
        approve_in_admin(login_as(admin_user), pending_voter)
        notifications.account_approved(user=User.objects.get(pk=pending_voter.pk))
    assert len(mail.outbox) == 1


def test_nothing_is_sent_for_an_approval_that_is_rolled_back(
    admin_user, pending_candidate, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.approve_accounts(users=[pending_candidate], actor=admin_user)
        raise RuntimeError("a later write failed")
    assert not User.objects.get(pk=pending_candidate.pk).is_approved
    assert mail.outbox == []


def test_the_email_is_sent_only_after_the_commit(
    admin_user, pending_voter, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        services.approve_accounts(users=[pending_voter], actor=admin_user)
        assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert [message.to for message in mail.outbox] == [[pending_voter.email]]


def test_an_account_without_an_address_is_approved_without_email(
    admin_user, make_user, django_capture_on_commit_callbacks
):
    silent = make_user("sam_silent", approved=False)
    User.objects.filter(pk=silent.pk).update(email="")
    silent.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.approve_accounts(users=[silent], actor=admin_user) == 1
    assert mail.outbox == []


def test_an_unreachable_mail_server_does_not_stop_approvals(
    login_as,
    admin_user,
    pending_voter,
    pending_candidate,
    settings,
    caplog,
    django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = "tests.accounts.test_notifications.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        users = User.objects.filter(pk__in=[pending_voter.pk, pending_candidate.pk])
        response = login_as(admin_user).post(
            reverse("admin:accounts_user_changelist"),
            {"action": "approve_selected", "_selected_action": [str(u.pk) for u in users]},
            follow=True,
        )
    assert b"Approved 2 accounts." in response.content
    assert (
        User.objects.filter(pk__in=[pending_voter.pk, pending_candidate.pk])
        .filter(is_approved=True)
        .count()
        == 2
    )
    assert "account_approved email" in caplog.text and "ConnectionRefusedError" in caplog.text
    assert "@" not in caplog.text
