"""Emails to account holders: how every notification is rendered, limited and sent.

Each kind of email is three templates under ``templates/emails/``: ``<kind>_subject.txt``,
``<kind>.txt`` and, if it exists, ``<kind>.html``, rendered in the recipient's language
(``recipient_language``).

Three rules hold for every notification:

- **After the write.** An email is sent once the database write that causes it has
  committed (``transaction.on_commit``; at once outside a transaction), so a rolled
  back operation sends nothing.
- **Limited.** The same email about the same thing reaches the same person at most
  once per ``EMAIL_REPEAT_WINDOW``, counted in the cache before sending
  (``accounts/throttle.py``), so neither a bug nor a burst of requests makes a flood.
- **Never in the way.** A mail server that fails costs the email only: the failure is
  logged by its type and SMTP code (never the address or the content) and the
  operation that caused it stands. Single emails (``send_after_commit``) are delivered
  by a background thread (``accounts/background_mail.py``), so the request that
  caused one does not wait for the mail server; after a failure they are not tried
  again for ``SERVER_DOWN_PAUSE`` seconds, so a server that hangs holds up one email,
  not each in the queue.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import translation

from . import background_mail, throttle
from .background_mail import MAIL_ERRORS
from .models import User

logger = logging.getLogger("evoting.notifications")

SERVER_DOWN_PAUSE = 60
_SERVER_DOWN_KEY = "notifications:mail-server-down"

# What an email is about, and how many such emails one recipient may get per window.
Limit = tuple[tuple[object, ...], int]


def recipient_language(user: User) -> str:
    """The language to write to ``user`` in: the one the account chose on the site, if the
    site still offers it (``LANGUAGES``), else the site's (``LANGUAGE_CODE``)."""
    if user.language in dict(settings.LANGUAGES):
        return user.language
    return str(settings.LANGUAGE_CODE)


def site_url(path: str) -> str:
    """``path`` on the site as voters reach it (``SITE_URL``)."""
    return str(settings.SITE_URL).rstrip("/") + path


def render_email(kind: str, *, recipient: User, context: dict[str, Any]) -> EmailMultiAlternatives:
    """The email ``kind`` for ``recipient``, rendered in the recipient's language."""
    context = {"recipient": recipient, **context}
    with translation.override(recipient_language(recipient)):
        subject = render_to_string(f"emails/{kind}_subject.txt", context)
        body = render_to_string(f"emails/{kind}.txt", context)
        html = _render_if_exists(f"emails/{kind}.html", context)
    message = EmailMultiAlternatives(
        # One line whatever the template or a title holds: no header can be injected.
        " ".join(subject.split()),
        body.strip() + "\n",
        to=[recipient.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    if html is not None:
        message.attach_alternative(html, "text/html")
    return message


def _render_if_exists(name: str, context: dict[str, Any]) -> str | None:
    try:
        template = get_template(name)
    except TemplateDoesNotExist:
        return None
    return template.render(context)


def describe(error: BaseException) -> str:
    """A mail error as the log may show it: its type and SMTP code, not the addresses it names."""
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__} {code}" if code else type(error).__name__


def _server_failed(error: BaseException) -> None:
    if not isinstance(error, smtplib.SMTPRecipientsRefused):
        cache.set(_SERVER_DOWN_KEY, True, timeout=SERVER_DOWN_PAUSE)


def first_in_window(kind: str, recipient: User, about: Sequence[object], *, limit: int) -> bool:
    """Count one email ``kind`` to ``recipient`` about ``about``; whether it is within ``limit``."""
    key = ":".join(["notifications", kind, str(recipient.pk), *map(str, about)])
    return throttle.count_attempt(key, window=settings.EMAIL_REPEAT_WINDOW) <= limit


def send_after_commit(
    kind: str, *, recipient: User, context: dict[str, Any], limits: Sequence[Limit]
) -> None:
    """Email ``kind`` to ``recipient`` once the current transaction commits.

    ``limits`` are (what the email is about, how many per window): the email is
    sent only if every count, taken when it is about to be sent, is within its limit.
    It is rendered and sent by the background sender, or at once without
    ``EMAIL_IN_BACKGROUND``; the request only queues it.
    """
    if not recipient.email:
        return
    email = Notification(kind, recipient, context, tuple(limits))
    transaction.on_commit(
        lambda: background_mail.submit(email),
        robust=True,  # whatever goes wrong with an email, the operation before it stands
    )


@dataclass(frozen=True)
class Notification:
    """One email to one account, as ``background_mail`` sends it."""

    kind: str
    recipient: User
    context: dict[str, Any] = field(repr=False)
    limits: tuple[Limit, ...]

    def __str__(self) -> str:
        return f"{self.kind} email to user {self.recipient.pk}"

    def message(self) -> EmailMultiAlternatives | None:
        """The email, unless a limit or the mail server's recent failure holds it back."""
        for about, limit in self.limits:
            if not first_in_window(self.kind, self.recipient, about, limit=limit):
                logger.info("%s not sent: sent already", self)
                return None
        if cache.get(_SERVER_DOWN_KEY):
            logger.warning("%s not sent: the mail server failed", self)
            return None
        return render_email(self.kind, recipient=self.recipient, context=self.context)

    def failed(self, error: BaseException) -> None:
        _server_failed(error)
        logger.warning("%s not sent: %s", self, describe(error))


@dataclass
class Delivery:
    """What became of a series of emails sent one after another."""

    sent: int = 0
    refused: int = 0  # recipients the server refused; the others were still sent
    handled: int = 0  # messages sent or refused, in order: the rest were not tried
    stopped: str = ""  # why the server stopped the series, if it did


def send_each(messages: Iterable[EmailMultiAlternatives], *, kind: str) -> Delivery:
    """Send ``messages`` over one connection, one at a time, so each outcome is known.

    A recipient the server refuses is counted and skipped. Any other failure (the
    server cannot be reached, drops the connection, refuses the sender) stops the
    series: ``stopped`` says why and the messages after ``handled`` were not sent.
    """
    delivery = Delivery()
    try:
        with get_connection() as connection:
            for message in messages:
                try:
                    delivery.sent += int(connection.send_messages([message]) or 0)
                except smtplib.SMTPRecipientsRefused:
                    delivery.refused += 1
                delivery.handled += 1
    except MAIL_ERRORS as error:
        _server_failed(error)
        delivery.stopped = describe(error)
        logger.warning("%s emails stopped after %d sent: %s", kind, delivery.sent, delivery.stopped)
    return delivery


def account_approved(*, user: User) -> None:
    """Tell ``user`` that an administrator approved their account."""
    send_after_commit(
        "account_approved",
        recipient=user,
        context={"user": user, "login_url": site_url(reverse("login"))},
        limits=[((), 1)],
    )
