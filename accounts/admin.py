"""Admin for accounts and the audit log. Password hashes are never displayed."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from . import services
from .models import AuditEntry, Role, User


class AccountChangeForm(UserChangeForm[User]):
    """The stock change form without the password field, so no part of a hash is shown."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("password", None)


class AccountCreationForm(AdminUserCreationForm[User]):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email", "role")


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    form = AccountChangeForm
    add_form = AccountCreationForm
    list_display = ("username", "email", "public_name", "role", "is_approved", "is_active")
    list_filter = ("role", "is_approved", "is_active", "is_staff")
    search_fields = ("username", "email", "first_name", "last_name", "display_name")
    ordering = ("username",)
    actions = ["approve_selected"]
    fieldsets = (
        (None, {"fields": ("username",)}),
        (gettext_lazy("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (gettext_lazy("Role"), {"fields": ("role", "is_approved")}),
        (
            gettext_lazy("Candidate profile"),
            {"fields": ("display_name", "affiliation", "statement")},
        ),
        (
            gettext_lazy("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (gettext_lazy("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")

    @admin.action(description=gettext_lazy("Approve selected accounts"), permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = services.approve_accounts(users=queryset, actor=request.user)  # type: ignore[arg-type]
        self.message_user(
            request,
            ngettext("Approved %(count)d account.", "Approved %(count)d accounts.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        # Accounts made by an administrator are trusted: no approval step.
        if not change:
            obj.is_approved = True
        if obj.role == Role.ADMINISTRATOR:
            obj.is_approved = True
        super().save_model(request, obj, form, change)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = ("created_at", "action", "actor_name", "object_type", "object_id", "message")
    list_filter = ("action",)
    search_fields = ("action", "actor_name", "object_id", "message")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
