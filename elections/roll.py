"""Importing a voter roll from CSV, and adding or removing single roll entries.

The import validates the whole file before writing anything: one bad row means
nothing is imported and every bad row is reported with its line number, so the
administrator fixes the file once rather than row by row. New accounts are
created approved (the administrator vouches for them) with no usable password;
each gets an email with a link to set one through Django's password reset.
"""

from __future__ import annotations

import csv
import io
import smtplib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from accounts.audit import log_action
from accounts.models import Role, User
from accounts.notifications import recipient_language
from accounts.usernames import normalise_username

from .concurrency import atomic_write
from .models import Election, RollEntry, RollMode, Status
from .services import ElectionError, WrongPhase, require_draft

MAX_ROLL_BYTES = 5 * 1024 * 1024
REQUIRED_COLUMNS = ("username", "email")
OPTIONAL_COLUMNS = ("first_name", "last_name")
PROGRESS_EVERY = 1000
_LOOKUP_CHUNK = 500
_NAME_MAX = 150

Progress = Callable[[int], None]


class RollFileError(ElectionError):
    """The file as a whole cannot be read (too large, not UTF-8)."""


@dataclass(frozen=True)
class RowError:
    line: int  # 0 for a problem with the whole file
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class ImportReport:
    """What an import did, or (with ``dry_run``) would do. Lists hold usernames."""

    dry_run: bool
    created: list[str] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)
    already_on_roll: list[str] = field(default_factory=list)
    # Attached existing voters who cannot vote until an administrator approves them.
    unapproved: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    invited: int = 0
    mail_error: str = ""
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Row:
    line: int
    username: str
    email: str
    first_name: str
    last_name: str


def decode_roll_file(data: bytes) -> str:
    """The text of an uploaded roll file; refuses files over 5 MB or not in UTF-8."""
    if len(data) > MAX_ROLL_BYTES:
        raise RollFileError(f"The file is larger than {MAX_ROLL_BYTES // (1024 * 1024)} MB.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RollFileError(
            f"The file is not UTF-8 text (bad byte at position {error.start})."
        ) from error


def import_voters(
    *,
    election: Election,
    csv_text: str | bytes,
    actor: User | None,
    dry_run: bool,
    site_url: str = "",
    progress: Progress | None = None,
) -> ImportReport:
    """Put the voters listed in ``csv_text`` on the election's explicit roll.

    The header is ``username,email`` with optional ``first_name,last_name``.
    Raises ``WrongPhase`` unless the election is a draft. Row and file problems
    are returned in ``report.errors``, and then nothing is written. On success
    the election switches to the explicit roll and every listed voter without a
    usable password (new accounts included) is emailed a set-password link
    built on ``site_url``.
    """
    election.refresh_from_db()
    require_draft(election, "The voter roll")
    report = ImportReport(dry_run=dry_run)
    try:
        text = csv_text if isinstance(csv_text, str) else decode_roll_file(csv_text)
        if len(text.encode("utf-8")) > MAX_ROLL_BYTES:
            raise RollFileError(f"The file is larger than {MAX_ROLL_BYTES // (1024 * 1024)} MB.")
    except RollFileError as error:
        report.errors.append(RowError(0, str(error)))
        return report
    rows = _parse(text, report, progress)
    if not rows:
        return report
    # Rows that parsed are checked against the accounts even when others failed,
    # so a single report lists every problem in the file.
    existing = _classify(election, rows, report)
    if report.errors or dry_run:
        return report
    new_users = _write(election, rows, existing, report, actor)
    # Listed voters who never chose a password get a fresh link, so importing the
    # same file again is how an administrator re-sends expired invitations.
    invitees = new_users + [u for u in existing.values() if not u.has_usable_password()]
    try:
        report.invited = send_set_password_emails(invitees, site_url=site_url)
    except (OSError, smtplib.SMTPException) as error:
        report.mail_error = f"The roll was imported but the emails could not be sent: {error}"
    return report


def _parse(text: str, report: ImportReport, progress: Progress | None) -> list[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [column.strip().lower() for column in next(reader, [])]
    except csv.Error as error:
        report.errors.append(RowError(1, f"unreadable header: {error}"))
        return []
    problem = _header_problem(header)
    if problem:
        report.errors.append(RowError(1, problem))
        return []
    rows: list[_Row] = []
    seen_usernames: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for line, values in _numbered(reader, report):
        report.rows += 1
        if progress is not None and report.rows % PROGRESS_EVERY == 0:
            progress(report.rows)
        row = _check_row(line, header, values, report)
        if row is None:
            continue
        duplicate = False
        for key, seen, what in (
            (normalise_username(row.username), seen_usernames, "username"),
            (row.email.lower(), seen_emails, "email"),
        ):
            if key in seen:
                report.errors.append(RowError(line, f"duplicate {what}, first on line {seen[key]}"))
                duplicate = True
            else:
                seen[key] = line
        if not duplicate:
            rows.append(row)
    if not rows and not report.errors:
        report.errors.append(RowError(0, "The file lists no voters."))
    return rows


def _numbered(reader: Any, report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    line = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # The csv module cannot resynchronise after a malformed record.
            report.errors.append(RowError(line + 1, f"unreadable CSV: {error}; reading stopped"))
            return
        line = reader.line_num
        if values and any(value.strip() for value in values):
            yield line, values


def _header_problem(header: list[str]) -> str:
    allowed = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    expected = "the header must be username,email with optional first_name,last_name"
    if not header:
        return f"The file is empty: {expected}."
    unknown = [column for column in header if column not in allowed]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if unknown or missing or len(set(header)) != len(header):
        details = []
        if missing:
            details.append("missing " + ", ".join(missing))
        if unknown:
            details.append("unknown " + ", ".join(repr(c) for c in unknown))
        if len(set(header)) != len(header):
            details.append("a repeated column")
        return f"Wrong header ({'; '.join(details)}): {expected}."
    return ""


def _check_row(
    line: int, header: list[str], values: list[str], report: ImportReport
) -> _Row | None:
    if len(values) != len(header):
        report.errors.append(RowError(line, f"expected {len(header)} fields, found {len(values)}"))
        return None
    data = {column: value.strip() for column, value in zip(header, values, strict=True)}
    problems = _field_problems(data)
    for problem in problems:
        report.errors.append(RowError(line, problem))
    if problems:
        return None
    return _Row(
        line, data["username"], data["email"], data.get("first_name", ""), data.get("last_name", "")
    )


def _field_problems(data: dict[str, str]) -> list[str]:
    problems = [f"missing {column}" for column in REQUIRED_COLUMNS if not data[column]]
    username, email = data["username"], data["email"]
    if username:
        try:
            User.username_validator(username)
            if len(username) > _NAME_MAX:
                raise ValidationError("too long")
        except ValidationError:
            problems.append(
                f"invalid username {username[:40]!r}: use at most {_NAME_MAX} letters, "
                "digits and @ . + - _"
            )
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"invalid email address {email[:60]!r}")
    problems += [
        f"{column} is longer than {_NAME_MAX} characters"
        for column in OPTIONAL_COLUMNS
        if len(data.get(column, "")) > _NAME_MAX
    ]
    return problems


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _LOOKUP_CHUNK):
        yield values[start : start + _LOOKUP_CHUNK]


def _existing_users(rows: list[_Row]) -> tuple[dict[str, User], dict[str, User]]:
    """Accounts matching the file, by normalised username and by lowercased email."""
    by_username: dict[str, User] = {}
    by_email: dict[str, User] = {}
    for chunk in _chunks([normalise_username(row.username) for row in rows]):
        for user in User.objects.filter(username_key__in=chunk):
            by_username[user.username_key] = user
    for chunk in _chunks([row.email.lower() for row in rows]):
        for user in User.objects.annotate(key=Lower("email")).filter(key__in=chunk):
            by_email.setdefault(user.email.lower(), user)
    return by_username, by_email


def _classify(election: Election, rows: list[_Row], report: ImportReport) -> dict[str, User]:
    """Sort rows into new, attached and already listed; return the existing accounts used."""
    by_username, by_email = _existing_users(rows)
    on_roll = set(
        RollEntry.objects.filter(election=election).values_list("voter__username", flat=True)
    )
    existing: dict[str, User] = {}
    for row in rows:
        user = by_username.get(normalise_username(row.username))
        if user is None:
            owner = by_email.get(row.email.lower())
            if owner is not None:
                report.errors.append(
                    RowError(row.line, f"email address already used by account {owner.username!r}")
                )
            else:
                report.created.append(row.username)
            continue
        if user.username != row.username:
            report.errors.append(
                RowError(
                    row.line,
                    f"username differs only in case or form from account {user.username!r}",
                )
            )
        elif user.role != Role.VOTER:
            report.errors.append(
                RowError(
                    row.line, f"username {row.username!r} belongs to a non-voter ({user.role})"
                )
            )
        else:
            existing[user.username] = user
            target = report.already_on_roll if user.username in on_roll else report.attached
            target.append(user.username)
            if not user.is_approved:
                report.unapproved.append(user.username)
    return existing


def _write(
    election: Election,
    rows: list[_Row],
    existing: dict[str, User],
    report: ImportReport,
    actor: User | None,
) -> list[User]:
    created = set(report.created)
    new_users = []
    for row in rows:
        if row.username in created:
            user = User(
                username=row.username,
                email=row.email,
                first_name=row.first_name,
                last_name=row.last_name,
                role=Role.VOTER,
                is_approved=True,
            )
            user.set_unusable_password()
            new_users.append(user)
    attach = [existing[name] for name in report.attached]
    with atomic_write():
        switched = Election.objects.filter(pk=election.pk, status=Status.DRAFT).update(
            roll_mode=RollMode.EXPLICIT
        )
        if not switched:
            raise WrongPhase("The voter roll can only change while the election is a draft.")
        User.objects.bulk_create(new_users, batch_size=_LOOKUP_CHUNK)
        RollEntry.objects.bulk_create(
            (RollEntry(election=election, voter=voter) for voter in [*new_users, *attach]),
            batch_size=_LOOKUP_CHUNK,
        )
        log_action(
            actor=actor,
            action="elections.roll.imported",
            target=election,
            data={
                "created": len(new_users),
                "attached": len(attach),
                "already_on_roll": len(report.already_on_roll),
            },
        )
    election.refresh_from_db()
    return new_users


def send_set_password_emails(users: Iterable[User], *, site_url: str) -> int:
    """Email each user a one-time link to choose a password; return how many were sent.

    The link is Django's password reset link (``default_token_generator``), which
    stops working once the password is set or after ``PASSWORD_RESET_TIMEOUT``.
    """
    base = site_url.rstrip("/")
    messages = []
    for user in users:
        if not user.email:
            continue
        path = reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
        with translation.override(recipient_language(user)):
            body = render_to_string(
                "registration/password_reset_invitation_email.html",
                {"user": user, "link": base + path, "login_url": base + reverse("login")},
            )
            subject = gettext("You are on a voter roll: choose your password")
        messages.append(EmailMessage(subject, body, to=[user.email]))
    if not messages:
        return 0
    with get_connection() as connection:
        return int(connection.send_messages(messages) or 0)


def add_to_roll(*, election: Election, voter: User, actor: User | None) -> RollEntry:
    """Put one voter on the election's roll (draft only)."""
    election.refresh_from_db()
    require_draft(election, "The voter roll")
    if voter.role != Role.VOTER:
        raise ElectionError("Only voter accounts can be on a voter roll.")
    with atomic_write():
        entry, _ = RollEntry.objects.get_or_create(election=election, voter=voter)
    log_action(
        actor=actor,
        action="elections.roll.added",
        target=election,
        data={"voter": voter.username},
    )
    return entry


def remove_from_roll(*, entry: RollEntry, actor: User | None) -> None:
    """Take one voter off the roll (draft only)."""
    election = entry.election
    election.refresh_from_db()
    require_draft(election, "The voter roll")
    username = entry.voter.username
    entry.delete()
    log_action(
        actor=actor,
        action="elections.roll.removed",
        target=election,
        data={"voter": username},
    )
