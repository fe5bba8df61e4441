"""The background sender: single emails leave the request at once and are delivered by one thread.

These tests turn ``EMAIL_IN_BACKGROUND`` on (the other tests send at once) and use
mail backends that hold a message until the test lets it go, so what happened
before the mail server answered is observable without timing guesses.
"""

import logging
import os
import smtplib
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from accounts import background_mail, notifications, services
from accounts.models import User

pytestmark = pytest.mark.django_db

# Long enough never to be reached when the code is right; a wrong one waits it out.
HOLD_SECONDS = 5


class GatedBackend(LocmemBackend):
    """A mail server that holds each message until the test opens the gate."""

    gate = threading.Event()
    entered = threading.Event()
    opened = 0

    def open(self) -> bool:
        type(self).opened += 1
        return bool(super().open())

    def send_messages(self, messages: Sequence[Any]) -> int:
        type(self).entered.set()
        # Once the wait is over the message goes through anyway: a test that wrongly
        # waited for the server then finds it sent, and fails on that.
        type(self).gate.wait(HOLD_SECONDS)
        return int(super().send_messages(messages))


class OneMessagePerConnection(LocmemBackend):
    """A mail server that closes each connection after one message."""

    opened = 0

    def open(self) -> bool:
        type(self).opened += 1
        self.sent_here = 0
        return bool(super().open())

    def send_messages(self, messages: Sequence[Any]) -> int:
        if self.sent_here:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        self.sent_here += 1
        return int(super().send_messages(messages))


class UnreachableBackend(LocmemBackend):
    def open(self) -> bool:
        raise ConnectionRefusedError(111, "Connection refused")


class Plain:
    """An email that is not a notification: its message, or an error while making it."""

    def __init__(self, subject: str, error: Exception | None = None) -> None:
        self.subject, self.error = subject, error

    def __str__(self) -> str:
        return f"test email {self.subject}"

    def message(self) -> EmailMessage:
        if self.error is not None:
            raise self.error
        return EmailMessage(self.subject, "body", to=["someone@example.org"])

    def failed(self, error: BaseException) -> None:
        raise AssertionError(f"{self} failed: {error!r}")


@pytest.fixture(autouse=True)
def in_background(settings) -> Iterator[None]:
    settings.EMAIL_IN_BACKGROUND = True
    settings.EMAIL_BACKEND = f"{__name__}.GatedBackend"
    settings.SITE_URL = "https://vote.example.org"
    GatedBackend.gate.clear()
    GatedBackend.entered.clear()
    GatedBackend.opened = 0
    OneMessagePerConnection.opened = 0
    yield
    GatedBackend.gate.set()
    assert background_mail.drain(HOLD_SECONDS * 2), "the sender thread did not finish"


def approve(users: list[User], admin: User, capture) -> float:
    """Approve ``users`` and run what the commit triggers; return how long that took."""
    started = time.monotonic()
    with capture(execute=True):
        services.approve_accounts(users=users, actor=admin)
    return time.monotonic() - started


def test_the_approval_returns_before_the_mail_server_has_the_email(
    admin_user, pending_voter, django_capture_on_commit_callbacks
):
    took = approve([pending_voter], admin_user, django_capture_on_commit_callbacks)
    assert took < HOLD_SECONDS / 2
    assert GatedBackend.entered.wait(HOLD_SECONDS), "the sender thread never sent it"
    assert mail.outbox == []  # the server still holds it, the approval is done
    assert User.objects.get(pk=pending_voter.pk).is_approved
    GatedBackend.gate.set()
    assert background_mail.drain(HOLD_SECONDS)
    assert [message.to for message in mail.outbox] == [[pending_voter.email]]
    assert mail.outbox[0].subject == "Your account has been approved"


def test_emails_waiting_together_share_one_connection(
    admin_user, make_user, django_capture_on_commit_callbacks
):
    users = [make_user(f"waiting_{i}", approved=False) for i in range(4)]
    approve(users, admin_user, django_capture_on_commit_callbacks)
    GatedBackend.gate.set()
    assert background_mail.drain(HOLD_SECONDS)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)
    assert GatedBackend.opened == 1


def test_the_limits_still_hold_in_the_background(
    admin_user, pending_voter, django_capture_on_commit_callbacks
):
    GatedBackend.gate.set()
    approve([pending_voter], admin_user, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        notifications.account_approved(user=User.objects.get(pk=pending_voter.pk))
    assert background_mail.drain(HOLD_SECONDS)
    assert len(mail.outbox) == 1


def test_a_full_queue_drops_the_email_and_says_so(settings, caplog):
    settings.EMAIL_QUEUE_SIZE = 1
    background_mail.sender.submit(Plain("first"))
    assert GatedBackend.entered.wait(HOLD_SECONDS)  # the thread holds the first one
    started = time.monotonic()
    assert background_mail.sender.submit(Plain("second"))  # waits in the queue
    with caplog.at_level(logging.WARNING, logger="evoting.notifications"):
        assert not background_mail.sender.submit(Plain("third"))
    assert time.monotonic() - started < HOLD_SECONDS / 2  # dropped, not waited for
    assert "test email third not sent: the queue of emails is full" in caplog.text
    GatedBackend.gate.set()
    assert background_mail.drain(HOLD_SECONDS)
    assert [m.subject for m in mail.outbox] == ["first", "second"]


def test_an_unreachable_server_pauses_the_emails_and_the_thread_goes_on(
    settings, admin_user, make_user, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.UnreachableBackend"
    first, second, third = (make_user(f"paused_{i}", approved=False) for i in range(3))
    with caplog.at_level(logging.INFO, logger="evoting.notifications"):
        approve([first, second], admin_user, django_capture_on_commit_callbacks)
        assert background_mail.drain(HOLD_SECONDS)
    assert f"account_approved email to user {first.pk} not sent: ConnectionRefusedError" in (
        caplog.text
    )
    # The second is not tried while the server is paused.
    assert f"email to user {second.pk} not sent: the mail server failed" in caplog.text
    assert first.email not in caplog.text
    assert mail.outbox == []
    # Once the pause is over and the server back, the same thread sends again.
    cache.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    approve([third], admin_user, django_capture_on_commit_callbacks)
    assert background_mail.drain(HOLD_SECONDS)
    assert [m.to for m in mail.outbox] == [[third.email]]


def test_a_connection_the_server_closed_is_opened_again(settings, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.OneMessagePerConnection"
    with caplog.at_level(logging.WARNING, logger="evoting.notifications"):
        for number in range(3):
            background_mail.sender.submit(Plain(f"kept-{number}"))
        assert background_mail.drain(HOLD_SECONDS)
    assert sorted(m.subject for m in mail.outbox) == ["kept-0", "kept-1", "kept-2"]
    assert "not sent" not in caplog.text


def test_an_email_that_cannot_be_made_costs_only_itself(settings, caplog):
    GatedBackend.gate.set()
    with caplog.at_level(logging.ERROR, logger="evoting.notifications"):
        background_mail.sender.submit(Plain("broken", error=RuntimeError("bad template")))
        background_mail.sender.submit(Plain("fine"))
        assert background_mail.drain(HOLD_SECONDS)
    assert "test email broken not sent: unexpected error" in caplog.text
    assert [m.subject for m in mail.outbox] == ["fine"]


# Python 3.12 warns of fork() in a process with threads: this test forks on purpose.
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_process_starts_a_sender_of_its_own(settings):
    # gunicorn --preload forks workers from a process that may have sent already.
    GatedBackend.gate.set()
    background_mail.sender.submit(Plain("parent"))
    assert background_mail.drain(HOLD_SECONDS)
    mail.outbox.clear()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through its exit status)
        background_mail.sender.submit(Plain("child"))
        sent = background_mail.drain(HOLD_SECONDS) and [m.subject for m in mail.outbox]
        os._exit(0 if sent == ["child"] else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert mail.outbox == []  # the child's email was the child's


def test_without_the_setting_the_email_is_sent_before_the_call_returns(settings):
    settings.EMAIL_IN_BACKGROUND = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    background_mail.submit(Plain("at once"))
    assert [m.subject for m in mail.outbox] == ["at once"]


EXITING_PROCESS = """
    import time
    import django
    from django.conf import settings
    from django.core.mail import EmailMessage

    django.setup()
    from accounts import background_mail

    class Slow:
        def __init__(self, number):
            self.number = number
        def __str__(self):
            return f"slow email {self.number}"
        def message(self):
            time.sleep(0.2)
            return EmailMessage(f"slow {self.number}", "body", to=["someone@example.org"])
        def failed(self, error):
            raise SystemExit(f"failed: {error!r}")

    for number in range(3):
        background_mail.submit(Slow(number))
    # The interpreter exits here, with the emails still queued.
"""


@pytest.mark.slow
def test_a_process_that_exits_sends_what_it_queued_first(tmp_path: Path):
    outbox = tmp_path / "outbox"
    environment = {
        "DJANGO_SETTINGS_MODULE": "evoting.settings",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_IN_BACKGROUND": "True",
        "PATH": "/usr/bin:/bin",
    }
    script = (
        "from django.conf import settings\n"
        f"settings.EMAIL_FILE_PATH = {str(outbox)!r}\n" + textwrap.dedent(EXITING_PROCESS)
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    sent = "".join(path.read_text() for path in outbox.iterdir())
    assert all(f"Subject: slow {number}" in sent for number in range(3))
