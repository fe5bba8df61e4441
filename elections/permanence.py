"""Published elections are permanent: nothing of theirs can be deleted, by any path.

Observers verify the published record, so the election, its candidates, ballots,
tally and results must stay. The guard is a ``pre_delete`` receiver rather than
checks in each caller, so cascades (deleting an account, a queryset delete, the
shell) are covered too. Django's ``Collector`` sends ``pre_delete`` for every
collected object before it deletes anything, and it only fast-deletes models
without receivers, so raising here leaves the database untouched.
"""

from typing import Any

from django.db.models import Model, ProtectedError
from django.db.models.signals import pre_delete

from .models import Ballot, Candidate, Election, EncryptedTally, Result, Status

GUARDED_MODELS: tuple[type[Model], ...] = (Election, Candidate, Ballot, EncryptedTally, Result)


def refuse_deleting_published(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """Raise ``ProtectedError`` if ``instance`` is, or belongs to, a published election."""
    election_id = instance.pk if isinstance(instance, Election) else instance.election_id  # type: ignore[attr-defined]
    if Election.objects.filter(pk=election_id, status=Status.PUBLISHED).exists():
        raise ProtectedError(
            "A published election and its record are permanent and cannot be deleted.",
            {instance},
        )


def connect() -> None:
    for model in GUARDED_MODELS:
        pre_delete.connect(
            refuse_deleting_published,
            sender=model,
            dispatch_uid=f"elections.permanence.{model._meta.label_lower}",
        )
