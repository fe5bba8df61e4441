"""What the election admin pages share: the acting user, uploads, result tables, read-only pages."""

from typing import Any

from django.contrib import admin
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpRequest
from django.utils.translation import gettext

from accounts.models import User

from .. import services

TEMPLATES = "admin/elections/election/"
ROLL_SESSION_KEY = "elections.roll-import"
DRAFT_ONLY_FIELDS = (
    "slug",
    "title",
    "opens_at",
    "closes_at",
    "roll_mode",
    # The board's layout and rules are fixed when it opens.
    "ballot_boxes",
    "allow_revoting",
)


class CappedMemoryUploadHandler(MemoryFileUploadHandler):
    """Keeps an upload in memory; a request over ``limit`` bytes is dropped, never spooled.

    For files that must never touch the disk (a private key) or have a known
    largest size (the trustees' files).
    """

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        self.activated = content_length <= self.limit


def acting_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # admin views run for signed-in staff only
    return user


def result_rows(report: services.TallyReport) -> list[tuple[str, str, int, str]]:
    """Question, option, votes and share of ballots for each slot of a decrypted tally."""
    rows = []
    for entry in report.counts:
        share = 100 * entry.count / report.ballots if report.ballots else 0.0
        name = entry.candidate.name if entry.candidate is not None else gettext("Blank votes")
        rows.append((entry.question.title, name, entry.count, f"{share:.1f}%"))
    return rows


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Visible to administrators, changed only by the services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
