"""User accounts with roles, and the append-only audit log."""

import uuid
from collections.abc import Iterable
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy

from .usernames import USERNAME_KEY_MAX_LENGTH, normalise_username


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", gettext_lazy("Administrator")
    CANDIDATE = "candidate", gettext_lazy("Candidate")
    VOTER = "voter", gettext_lazy("Voter")


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

    def get_by_natural_key(self, username: str | None) -> "User":
        # Login, createsuperuser and the admin look accounts up here: match as uniqueness does.
        return self.get(username_key=normalise_username(username or ""))

    def bulk_create(self, objs: Iterable["User"], *args: Any, **kwargs: Any) -> list["User"]:
        # bulk_create skips save(), where the key is derived: derive it here too.
        users = list(objs)
        for user in users:
            user.username_key = normalise_username(user.username)
        return super().bulk_create(users, *args, **kwargs)


class User(AbstractUser):
    """An account. The role decides what it may do; self-registered accounts wait for approval.

    Primary keys are UUIDs so one set of migrations suits both SQLite and MongoDB.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username_key = models.CharField(
        gettext_lazy("username key"),
        max_length=USERNAME_KEY_MAX_LENGTH,
        unique=True,
        editable=False,
        help_text=gettext_lazy("The username normalised (NFKC) and case-folded; unique."),
    )
    role = models.CharField(
        gettext_lazy("role"), max_length=20, choices=Role.choices, default=Role.VOTER
    )
    is_approved = models.BooleanField(
        gettext_lazy("approved"),
        default=False,
        help_text=gettext_lazy(
            "Self-registered accounts can do nothing that matters until approved."
        ),
    )
    display_name = models.CharField(
        gettext_lazy("display name"),
        max_length=120,
        blank=True,
        help_text=gettext_lazy("Name shown on ballots (candidates)."),
    )
    affiliation = models.CharField(gettext_lazy("affiliation"), max_length=120, blank=True)
    statement = models.TextField(gettext_lazy("statement"), max_length=2000, blank=True)
    # The language the account last chose with the site's switcher, for the emails it
    # is sent; empty until then (they are written in LANGUAGE_CODE).
    language = models.CharField(gettext_lazy("language"), max_length=8, blank=True, editable=False)

    objects: ClassVar[AccountManager] = AccountManager()

    class Meta:
        verbose_name = gettext_lazy("user")
        verbose_name_plural = gettext_lazy("users")
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="accounts_user_role_valid"
            ),
            # Only administrators may reach the admin site, whatever else goes wrong.
            models.CheckConstraint(
                condition=Q(is_staff=False) | Q(role=Role.ADMINISTRATOR),
                name="accounts_user_staff_is_administrator",
                violation_error_message=gettext_lazy("Only administrators can have staff status."),
            ),
            models.CheckConstraint(
                condition=Q(is_superuser=False) | Q(role=Role.ADMINISTRATOR),
                name="accounts_user_superuser_is_administrator",
                violation_error_message=gettext_lazy("Only administrators can be superusers."),
            ),
        ]

    def __str__(self) -> str:
        return self.username

    def clean(self) -> None:
        super().clean()
        if not self.username:
            return  # the username field reports its own error
        key = normalise_username(self.username)
        if len(key) > USERNAME_KEY_MAX_LENGTH:
            raise ValidationError(
                {"username": gettext("This username is too long once normalised.")}
            )
        if User.objects.filter(username_key=key).exclude(pk=self.pk).exists():
            raise ValidationError(
                {"username": self.unique_error_message(User, ["username"]).messages}
            )

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The key is derived data: it must follow the username through every save path
        # (forms, create_user, update_fields saves), so it is set here and nowhere else.
        self.username_key = normalise_username(self.username)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_key"}
        super().save(*args, **kwargs)

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
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too, so the entry still says who acted if the account is deleted.
    actor_name = models.CharField(gettext_lazy("actor name"), max_length=150, blank=True)
    action = models.CharField(gettext_lazy("action"), max_length=100, db_index=True)
    object_type = models.CharField(gettext_lazy("object type"), max_length=100, blank=True)
    object_id = models.CharField(
        gettext_lazy("object id"), max_length=64, blank=True, db_index=True
    )
    message = models.CharField(gettext_lazy("message"), max_length=500, blank=True)
    data = models.JSONField(gettext_lazy("data"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = gettext_lazy("audit entry")
        verbose_name_plural = gettext_lazy("audit entries")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit entries are append-only.")
