"""The one place that knows how the database makes a cast atomic.

The ballot box (``elections/ballot_box.py``) is correct with no transactions at
all: the ballot insert is the commit point, guarded by unique constraints, and the
running tally only moves by compare-and-swap on its ``version``. Transactions are
used where the database has them so that the normal path is also all-or-nothing:

- SQLite (and other SQL databases): ``django.db.transaction.atomic``. SQLite runs
  with ``transaction_mode=IMMEDIATE``, so a transaction takes the write lock when
  it begins and concurrent casts queue instead of failing.
- MongoDB: Django's ``transaction.atomic`` does nothing there, so on a replica set
  or sharded cluster ``django_mongodb_backend.transaction.atomic`` is used (it
  does not retry write conflicts itself; ``run_with_retries`` does). On a
  standalone server there are no transactions and the compare-and-swap and the
  reconciliation in the ballot box carry correctness alone.
"""

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F

T = TypeVar("T")

MAX_ATTEMPTS = 12


class WriteConflict(Exception):
    """A compare-and-swap lost a race; the whole write is retried from fresh reads."""


def _mongodb_atomic() -> Any:
    from django_mongodb_backend import transaction as mongo_transaction

    # The backend's own flag: true on a replica set or sharded cluster.
    if getattr(connection.features, "_supports_transactions", False):
        return mongo_transaction.atomic()
    return nullcontext()


@contextmanager
def atomic_write() -> Iterator[None]:
    """All the writes inside happen together or not at all, where the database can."""
    context = _mongodb_atomic() if connection.vendor == "mongodb" else transaction.atomic()
    with context:
        yield


def compare_and_swap(queryset: Any, version: int, **changes: Any) -> None:
    """Apply ``changes`` to the single row of ``queryset`` if its version is still ``version``.

    Raises ``WriteConflict`` if another writer got there first (or the row no
    longer matches the queryset's other conditions).
    """
    updated = queryset.filter(version=version).update(version=F("version") + 1, **changes)
    if updated != 1:
        raise WriteConflict


def is_transient(error: BaseException) -> bool:
    """A failure that a fresh attempt may not meet: a lost race or a busy database."""
    if isinstance(error, IntegrityError):
        return False
    if isinstance(error, WriteConflict | OperationalError):
        return True
    # MongoDB marks retryable transaction failures with an error label.
    cause = error.__cause__
    has_label = getattr(cause, "has_error_label", None)
    return bool(has_label and has_label("TransientTransactionError"))


def run_with_retries(write: Callable[[], T]) -> T:
    """Run ``write`` (which opens its own ``atomic_write``) until it commits.

    Retries transient failures with a short randomised back-off; anything else,
    including an ``IntegrityError``, is raised at once.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return write()
        except (WriteConflict, DatabaseError) as error:
            if attempt == MAX_ATTEMPTS or not is_transient(error):
                raise
            time.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311 - jitter, not secrecy
    raise AssertionError("unreachable")
