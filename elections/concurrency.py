"""The one place that knows how the database makes a cast atomic.

A cast stores a ballot and multiplies it into the election's encrypted tally. The
two writes must happen together or not at all, and concurrent casts must neither
lose a tally update nor take the same sequence number.

On SQL databases both writes run in one transaction. SQLite is configured with
``transaction_mode=IMMEDIATE`` so the transaction takes the write lock when it
begins and concurrent casts queue instead of failing. The tally update is in any
case a compare-and-swap on ``EncryptedTally.version``, so a database whose
transactions do not serialise writers (or that has none) still cannot lose an
update: the loser of a race sees zero rows updated and retries from a fresh read.
"""

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F

T = TypeVar("T")

MAX_ATTEMPTS = 8


class WriteConflict(Exception):
    """A compare-and-swap lost a race; the whole write is retried from fresh reads."""


@contextmanager
def atomic_write() -> Iterator[None]:
    """All the writes inside happen together or not at all."""
    with transaction.atomic():
        yield


def compare_and_swap(queryset: Any, version: int, **changes: Any) -> None:
    """Apply ``changes`` to the single row of ``queryset`` if its version is still ``version``.

    Raises ``WriteConflict`` if another writer got there first.
    """
    updated = queryset.filter(version=version).update(version=F("version") + 1, **changes)
    if updated != 1:
        raise WriteConflict


def run_with_retries(write: Callable[[], T]) -> T:
    """Run ``write`` (which opens its own ``atomic_write``) until it commits.

    Retries lost compare-and-swaps and transient lock errors with a short
    randomised back-off; an ``IntegrityError`` is not transient and is re-raised.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return write()
        except IntegrityError:
            raise
        except (WriteConflict, OperationalError):
            if attempt == MAX_ATTEMPTS:
                raise
            time.sleep(random.uniform(0, 0.005 * attempt))  # noqa: S311 - jitter, not secrecy
    raise AssertionError("unreachable")
