"""User accounts with roles, and the append-only audit log."""

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    CANDIDATE = "candidate", "Candidate"
    VOTER = "voter", "Voter"


class AccountManager(UserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> "User":
        # Whoever createsuperuser makes runs elections: give the role to match the flags.
        extra.setdefault("role", Role.ADMINISTRATOR)
        extra.setdefault("is_approved", True)
        if extra["role"] != Role.ADMINISTRATOR:
            raise ValueError("A superuser must have the administrator role.")
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """An account. The role decides what it may do; self-registered accounts wait for approval.

    Primary keys are UUIDs so one set of migrations suits both SQLite and MongoDB.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VOTER)
    is_approved = models.BooleanField(
        "approved",
        default=False,
        help_text="Self-registered accounts can do nothing that matters until approved.",
    )
    display_name = models.CharField(
        max_length=120, blank=True, help_text="Name shown on ballots (candidates)."
    )
    affiliation = models.CharField(max_length=120, blank=True)
    statement = models.TextField(max_length=2000, blank=True)

    objects: ClassVar[AccountManager] = AccountManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="accounts_user_role_valid"
            ),
            # Only administrators may reach the admin site, whatever else goes wrong.
            models.CheckConstraint(
                condition=Q(is_staff=False) | Q(role=Role.ADMINISTRATOR),
                name="accounts_user_staff_is_administrator",
                violation_error_message="Only administrators can have staff status.",
            ),
            models.CheckConstraint(
                condition=Q(is_superuser=False) | Q(role=Role.ADMINISTRATOR),
                name="accounts_user_superuser_is_administrator",
                violation_error_message="Only administrators can be superusers.",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR

    @property
    def is_candidate(self) -> bool:
        return self.role == Role.CANDIDATE

    @property
    def is_voter(self) -> bool:
        return self.role == Role.VOTER

    @property
    def public_name(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class AuditEntry(models.Model):
    """One administrative action or state change. Rows are only ever inserted.

    Never put secrets in ``data``: the log is shown in the admin and may be published.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too, so the entry still says who acted if the account is deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit entries are append-only.")
