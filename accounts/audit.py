"""Writing to the append-only audit log."""

from typing import Any

from django.db import models

from .models import AuditEntry, User


def log_action(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record ``action`` (a dotted code such as ``accounts.user.approved``).

    ``data`` must hold no secrets: no keys, passwords or plaintext choices.
    """
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        message=message[:500],
        data=data or {},
    )
