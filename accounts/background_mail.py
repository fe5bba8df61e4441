"""Single emails delivered off the request thread: one bounded queue and one sender thread.

A notification is sent once the write that causes it has committed, often while
someone waits for the answer (a voter for the 201 of their cast). Delivered there,
a slow or hanging mail server would add its latency to that answer. So the request
only puts the email on an in-memory queue (no database write, no network) and
returns; a daemon thread, started on first use in each process, takes the emails
one by one and delivers them over one connection, kept open while more are
waiting and closed as soon as the queue is empty.

What it promises, and what it does not:

- **Bounded.** At most ``EMAIL_QUEUE_SIZE`` emails wait. When the queue is full the
  email is dropped and a warning logged: a request is never made to wait for room.
- **In memory.** Emails still waiting when the process dies (killed, out of
  memory) are lost; at a normal exit the interpreter waits up to
  ``EMAIL_DRAIN_SECONDS`` for the queue to empty. Losing an email never loses what
  it was about: that was committed first.
- **One thread, one connection.** It sends as fast as one connection to the mail
  server goes. A server slower than the rate of emails fills the queue; a relay
  on the web server itself (which accepts at once and queues on disk) avoids that.
- **Whatever goes wrong with one email, the thread goes on** with the next.

With ``EMAIL_IN_BACKGROUND = False`` (the tests' setting) ``submit`` delivers at
once in the calling thread, so a test sees the email when the call returns; a
test of the background itself waits for it with ``drain``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import smtplib
import threading
from collections import deque
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connections

logger = logging.getLogger("evoting.notifications")

MAIL_ERRORS = (smtplib.SMTPException, OSError)
# One email gives up sooner than the configured EMAIL_TIMEOUT: a mail server that
# hangs would otherwise hold every email queued behind it.
SEND_TIMEOUT = 5


class Outgoing(Protocol):
    """An email waiting to be sent: built when its turn comes, told if it failed."""

    def message(self) -> EmailMessage | None:
        """The email to send now, or ``None`` if it is not to be sent after all."""

    def failed(self, error: BaseException) -> None:
        """The mail server refused or dropped it, or could not be reached."""

    def __str__(self) -> str:
        """What the log may say of it: never an address or the content."""


def _open() -> Any:
    connection = get_connection(timeout=SEND_TIMEOUT)
    connection.open()
    return connection


def _hang_up(connection: Any) -> None:
    # A server that went away first has nothing more to hear.
    with contextlib.suppress(*MAIL_ERRORS):
        connection.close()


def deliver(email: Outgoing, connection: Any = None) -> Any:
    """Send ``email`` over ``connection`` (opened if ``None``); return the connection to reuse.

    Returns ``None`` when the connection failed and was dropped. A connection that
    was kept open between emails may have been closed by the server since: the
    email is then tried once more on a new connection before it counts as failed.
    A mail error goes to ``email.failed``; any other error is logged, not raised.
    """
    try:
        message = email.message()
        if message is None:
            return connection
        reused = connection is not None
        try:
            connection = connection or _open()
            connection.send_messages([message])
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
            _hang_up(connection)
            connection = None
            connection = _open()
            connection.send_messages([message])
        return connection
    except MAIL_ERRORS as error:
        if connection is not None:
            _hang_up(connection)
        email.failed(error)
        return None
    except Exception:
        # A bug (a template that does not render, say) costs this email, not the others.
        logger.exception("%s not sent: unexpected error", email)
        if connection is not None:
            _hang_up(connection)
        return None


class BackgroundSender:
    """The queue of emails waiting for the sender thread, and that thread."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._waiting: deque[Outgoing] = deque()
        self._busy = False  # an email taken from the queue is being delivered
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._exit_hook = False

    def submit(self, email: Outgoing) -> bool:
        """Queue ``email`` for the sender thread; ``False`` (and a warning) if the queue is full."""
        with self._lock:
            self._start()
            if len(self._waiting) >= settings.EMAIL_QUEUE_SIZE:
                logger.warning("%s not sent: the queue of emails is full", email)
                return False
            self._waiting.append(email)
            self._lock.notify_all()
        return True

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every email queued so far has been handled; whether it was in time."""
        with self._lock:
            if self._pid != os.getpid():
                return True  # nothing was queued in this process (a forked child's is its parent's)
            return self._lock.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def _start(self) -> None:
        """Start the thread in this process, unless it runs; called with the lock held."""
        if self._pid != os.getpid():
            # A forked child (gunicorn with --preload) inherits the parent's queue but
            # not its thread: those emails are the parent's to send.
            self._waiting, self._thread, self._pid = deque(), None, os.getpid()
        if self._thread is not None and self._thread.is_alive():
            return
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="email-sender", daemon=True)
        self._thread.start()
        if not self._exit_hook:
            atexit.register(self._drain_at_exit)
            self._exit_hook = True

    def _drain_at_exit(self) -> None:
        if not self.drain(settings.EMAIL_DRAIN_SECONDS):
            with self._lock:
                left = len(self._waiting) + int(self._busy)
            logger.warning("%d email(s) not sent: the process exited first", left)

    def _next(self, wait: bool) -> Outgoing | None:
        """The next email; ``None`` when there is none and ``wait`` is false."""
        with self._lock:
            self._busy = False
            if not self._waiting:
                self._lock.notify_all()  # for drain: everything queued has been handled
                if not wait:
                    return None
                self._lock.wait_for(lambda: bool(self._waiting))
            self._busy = True
            return self._waiting.popleft()

    def _run(self) -> None:
        connection = None
        while True:
            email = self._next(wait=connection is None)
            try:
                if email is not None:
                    connection = deliver(email, connection)
                    continue
                # Nothing more for now: hang up rather than hold the server's connection,
                # and give back this thread's database connections, if rendering opened any.
                _hang_up(connection)
                connections.close_all()
            except Exception:
                logger.exception("the email sender failed; it goes on with the next email")
            connection = None


sender = BackgroundSender()


def submit(email: Outgoing) -> None:
    """Send ``email`` from the sender thread, or at once without ``EMAIL_IN_BACKGROUND``."""
    if settings.EMAIL_IN_BACKGROUND:
        sender.submit(email)
        return
    connection = deliver(email)
    if connection is not None:
        _hang_up(connection)


def drain(timeout: float | None = None) -> bool:
    """Wait until the emails queued so far have been handled; whether it was in time."""
    return sender.drain(timeout)
