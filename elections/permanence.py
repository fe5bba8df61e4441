"""Published elections are permanent: nothing of theirs can be deleted, by any path.

Observers verify the published record, so the election, its candidates, ballots,
tally and results must stay. The guard is a ``pre_delete`` receiver rather than
checks in each caller, so cascades (deleting an account, a queryset delete, the
shell) are covered too. Django's ``Collector`` sends ``pre_delete`` for every
collected object before it deletes anything, and it only fast-deletes models
without receivers, so raising here leaves the database untouched. Ballots, far
too many to load one by one, are guarded by their own queryset and ``delete``
instead (``models.BallotQuerySet``); no cascade reaches them, as both of their
foreign keys protect them.
"""

from typing import Any

from django.db.models import Model
from django.db.models.signals import pre_delete

from .models import (
    AuditedBallot,
    Candidate,
    Election,
    EncryptedTally,
    Question,
    Result,
    TrusteeDecryption,
    refuse_if_published,
)

GUARDED_MODELS: tuple[type[Model], ...] = (
    Election,
    AuditedBallot,
    Question,
    Candidate,
    EncryptedTally,
    Result,
    TrusteeDecryption,
)


def refuse_deleting_published(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """Raise ``ProtectedError`` if ``instance`` is, or belongs to, a published election."""
    election_id = instance.pk if isinstance(instance, Election) else instance.election_id  # type: ignore[attr-defined]
    refuse_if_published([election_id], [instance])


def connect() -> None:
    for model in GUARDED_MODELS:
        pre_delete.connect(
            refuse_deleting_published,
            sender=model,
            dispatch_uid=f"elections.permanence.{model._meta.label_lower}",
        )
