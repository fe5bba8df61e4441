"""Ballots, tallies and results (read-only: only the services write them) and roll entries."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext, gettext_lazy

from .. import roll, services
from ..forms import (
    RollEntryForm,
)
from ..models import (
    Ballot,
    EncryptedTally,
    Result,
    RollEntry,
    Status,
)
from .common import ReadOnlyAdmin, acting_user


@admin.register(Ballot)
class BallotAdmin(ReadOnlyAdmin):
    # No page shows who cast which ballot: a name beside a tracker would let anyone
    # who sees the admin link a voter to their ballot on the public board (and to
    # its ciphertexts, for whoever ever holds the key). Who voted is on the roll.
    list_display = ("sequence", "election", "tracker", "cast_at")
    list_filter = ("election",)
    search_fields = ("tracker",)
    fields = (
        "election",
        "sequence",
        "tracker",
        "cast_at",
        "voter_context",
        "content",
    )
    readonly_fields = fields


@admin.register(EncryptedTally)
class EncryptedTallyAdmin(ReadOnlyAdmin):
    list_display = (
        "election",
        "box",
        "ballot_count",
        "counted",
        "ciphertext_summary",
        "updated_at",
    )
    fields = (
        "election",
        "box",
        "ballot_count",
        "counted",
        "head_hash",
        "is_closed",
        "version",
        "updated_at",
        "per_slot",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("Encrypted totals"))
    def ciphertext_summary(self, obj: EncryptedTally) -> str:
        return ", ".join(f"{value[:12]}…" for value in obj.ciphertexts)

    @admin.display(description=gettext_lazy("Encrypted total of each option and blank (hex)"))
    def per_slot(self, obj: EncryptedTally) -> str:
        names = [
            f"{question.title}: {option.name if option is not None else gettext('blank votes')}"
            for question, option in services.ballot_slots(obj.election)
        ]
        return format_html_join(
            "",
            "<p><strong>{}</strong><br><code style='word-break: break-all'>{}</code></p>",
            zip(names, obj.ciphertexts, strict=False),
        )


@admin.register(Result)
class ResultAdmin(ReadOnlyAdmin):
    list_display = ("election", "question", "option_name", "count", "decrypted_at")
    list_filter = ("election",)
    fields = (
        "election",
        "question",
        "candidate",
        "slot",
        "count",
        "decrypted_at",
        "ciphertext",
        "proof",
    )

    @admin.display(description=gettext_lazy("Option"))
    def option_name(self, obj: Result) -> str:
        return obj.candidate.name if obj.candidate is not None else gettext("Blank votes")

    readonly_fields = fields


@admin.register(RollEntry)
class RollEntryAdmin(admin.ModelAdmin[RollEntry]):
    form = RollEntryForm
    list_display = ("voter", "election", "added_at")
    list_filter = ("election",)
    search_fields = ("voter__username", "voter__email")
    list_select_related = ("voter", "election")
    raw_id_fields = ("voter",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.election.status == Status.DRAFT)

    def save_model(self, request: HttpRequest, obj: RollEntry, form: Any, change: bool) -> None:
        try:
            entry = roll.add_to_roll(
                election=obj.election, voter=obj.voter, actor=acting_user(request)
            )
        except services.ElectionError as error:
            raise PermissionDenied(str(error)) from error
        obj.pk = entry.pk

    def delete_model(self, request: HttpRequest, obj: RollEntry) -> None:
        try:
            roll.remove_from_roll(entry=obj, actor=acting_user(request))
        except services.ElectionError as error:
            raise PermissionDenied(str(error)) from error

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RollEntry]) -> None:
        if queryset.exclude(election__status=Status.DRAFT).exists():
            raise PermissionDenied(
                gettext("The roll of an election that has opened cannot change.")
            )
        for entry in queryset.select_related("election", "voter"):
            self.delete_model(request, entry)
