"""Election emails: the cast confirmation, results, invitations and reminders.

Emails go through Django's real locmem backend; a failing mail server is a real
backend class that raises what smtplib raises. Emails are sent after the commit,
so tests that expect one run the on-commit callbacks they capture.
"""

import json
import smtplib
from collections.abc import Sequence
from datetime import UTC, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, Role, User
from elections import notifications, services
from elections.models import Ballot, Candidate, Election, EncryptedTally, RollEntry, RollMode

from .conftest import TEST_KEY_BITS, OpenElection, make_ballot

pytestmark = pytest.mark.django_db

SITE = "https://vote.example.org"


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise smtplib.SMTPException("451 the mail server is unavailable")


class FailsAfterOneBackend(LocmemBackend):
    """A mail server that takes one message per test, then drops the connection."""

    def send_messages(self, messages: Sequence[Any]) -> int:
        if len(mail.outbox) >= 1:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def _site(settings) -> None:
    settings.SITE_URL = SITE
    settings.EMAIL_REPEAT_WINDOW = 24 * 60 * 60


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks registered in the block (the test itself is a transaction)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def cast_url(election: Election) -> str:
    return reverse("elections:cast", kwargs={"slug": election.slug})


def cast_over_http(client, election: Election, voter: User, choice: list[int]) -> Any:
    body = make_ballot(election, voter, choice)
    return client.post(cast_url(election), data=body, content_type="application/json")


def long_values(content: str) -> set[str]:
    """Every ciphertext and proof value in a stored ballot's canonical JSON."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and len(value) >= 16:
            found.add(value)

    walk(json.loads(content))
    return found


def cast(election: Election, voter: User, choice: list[int]) -> Ballot:
    return services.cast_ballot(
        election=election, voter=voter, payload=make_ballot(election, voter, choice)
    )


# --- The cast confirmation ---------------------------------------------------------------


def test_a_cast_is_confirmed_once_with_the_tracker_and_never_the_choice(
    open_election: OpenElection, voter, login_as, on_commit
):
    election = open_election.election
    with on_commit():
        response = cast_over_http(login_as(voter), election, voter, [0, 1, 0])
    assert response.status_code == 201
    tracker = response.json()["tracker"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [voter.email]
    assert election.title in message.subject
    assert tracker in message.body
    assert f"{SITE}/elections/{election.slug}/check/?tracker={tracker}" in message.body
    ballot = Ballot.objects.get(election=election, voter=voter)
    values = long_values(ballot.content)
    assert values and not any(value in message.body for value in values)
    assert not any(value in message.subject for value in values)
    for option in open_election.candidates:
        assert option.name not in message.body
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"


def test_a_refused_cast_sends_nothing(open_election: OpenElection, voter, login_as, on_commit):
    election = open_election.election
    with on_commit():
        response = login_as(voter).post(
            cast_url(election), data='{"not": "a ballot"}', content_type="application/json"
        )
    assert response.status_code == 400
    assert mail.outbox == []


def test_the_same_ballot_is_confirmed_once_per_window(
    open_election: OpenElection, voter, on_commit
):
    election = open_election.election
    ballot = cast(election, voter, [1, 0, 0])
    with on_commit():
        notifications.ballot_cast(election=election, voter=voter, ballot=ballot)
        notifications.ballot_cast(election=election, voter=voter, ballot=ballot)
    assert len(mail.outbox) == 1


def test_a_confirmation_registered_in_a_rolled_back_transaction_is_never_sent(
    open_election: OpenElection, voter, on_commit
):
    election = open_election.election
    ballot = cast(election, voter, [1, 0, 0])
    with on_commit(), pytest.raises(RuntimeError), transaction.atomic():
        notifications.ballot_cast(election=election, voter=voter, ballot=ballot)
        raise RuntimeError("the write failed")
    assert mail.outbox == []


def test_a_failing_mail_server_loses_no_ballot(
    open_election: OpenElection, voter, login_as, on_commit, settings, caplog
):
    settings.EMAIL_BACKEND = "tests.elections.test_notifications.FailingBackend"
    election = open_election.election
    with on_commit():
        response = cast_over_http(login_as(voter), election, voter, [0, 0, 1])
    assert response.status_code == 201
    assert Ballot.objects.filter(election=election, voter=voter).exists()
    tallies = EncryptedTally.objects.filter(election=election)
    assert sum(tally.ballot_count for tally in tallies) == 1
    assert "ballot_cast email" in caplog.text and "SMTPException" in caplog.text
    assert voter.email not in caplog.text and "unavailable" not in caplog.text
    # And the ballot is counted.
    admin = User.objects.get(role=Role.ADMINISTRATOR)
    services.close_election(election=election, actor=admin)
    report = services.decrypt_tally(
        election=election, key_file=open_election.key_file, passphrase=None, actor=admin
    )
    assert report.ballots == 1 and [c.count for c in report.counts] == [0, 0, 1]


def test_after_a_failure_the_mail_server_is_left_alone_for_a_while(
    open_election: OpenElection, make_user, login_as, on_commit, settings
):
    settings.EMAIL_BACKEND = "tests.elections.test_notifications.FailingBackend"
    election = open_election.election
    first, second = make_user("first_voter"), make_user("second_voter")
    with on_commit():
        assert cast_over_http(login_as(first), election, first, [1, 0, 0]).status_code == 201
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with on_commit():
        assert cast_over_http(login_as(second), election, second, [1, 0, 0]).status_code == 201
    assert mail.outbox == []  # skipped: the server failed a moment ago


# --- Results -----------------------------------------------------------------------------


@pytest.fixture
def election_with_candidate_account(make_election, admin_user, candidate) -> OpenElection:
    election = make_election(slug="board-2026")
    Candidate.objects.filter(election=election, position=1).update(account=candidate)
    key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    return OpenElection(election, key_file, services.ordered_candidates(election))


def publish(opened: OpenElection, admin: User) -> services.TallyReport:
    services.close_election(election=opened.election, actor=admin)
    return services.decrypt_tally(
        election=opened.election, key_file=opened.key_file, passphrase=None, actor=admin
    )


def test_results_go_to_voters_with_a_ballot_and_candidates_once(
    election_with_candidate_account, make_user, admin_user, candidate, on_commit
):
    election = election_with_candidate_account.election
    voters = [make_user(f"voter_{i}") for i in range(3)]
    abstainer = make_user("abstainer")
    for person in voters:
        cast(election, person, [1, 0, 0])
    with on_commit():
        publish(election_with_candidate_account, admin_user)
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted([candidate.email, *(person.email for person in voters)])
    assert abstainer.email not in recipients
    message = mail.outbox[0]
    assert election.title in message.subject
    assert f"{SITE}/elections/{election.slug}/results/" in message.body
    entry = AuditEntry.objects.get(action="elections.results.mailed")
    assert entry.data == {"sent": 4, "refused": 0, "stopped": ""}

    mail.outbox.clear()
    with on_commit():
        report = services.decrypt_tally(
            election=election,
            key_file=election_with_candidate_account.key_file,
            passphrase=None,
            actor=admin_user,
        )
        notifications.results_published(election=election, republished=False)
    assert report.already_published
    assert mail.outbox == []


def test_a_failing_mail_server_does_not_stop_publication(
    election_with_candidate_account, voter, admin_user, on_commit, settings
):
    settings.EMAIL_BACKEND = "tests.elections.test_notifications.FailingBackend"
    election = election_with_candidate_account.election
    cast(election, voter, [0, 1, 0])
    with on_commit():
        report = publish(election_with_candidate_account, admin_user)
    election.refresh_from_db()
    assert election.is_published and [c.count for c in report.counts] == [0, 1, 0]
    entry = AuditEntry.objects.get(action="elections.results.mailed")
    assert entry.data == {"sent": 0, "refused": 0, "stopped": "SMTPException"}


# --- Invitations and reminders -----------------------------------------------------------


@pytest.fixture
def roll_election(make_election, admin_user, make_user) -> tuple[Election, list[User]]:
    """An open election with an explicit roll of five voters (one without an address)."""
    election = make_election(
        slug="roll-2026",
        roll_mode=RollMode.EXPLICIT,
        closes_at=timezone.now() + timedelta(days=3),
    )
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    on_roll = [make_user(f"rolled_{i}") for i in range(5)]
    User.objects.filter(pk=on_roll[4].pk).update(email="")
    for person in on_roll:
        RollEntry.objects.create(election=election, voter=person)
    services.open_election(election=election, actor=admin_user)
    make_user("not_on_the_roll")
    return election, on_roll


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_remind_voters_dry_run_counts_and_sends_nothing(roll_election):
    election, on_roll = roll_election
    cast(election, on_roll[0], [1, 0, 0])
    out, err = run("remind_voters", election.slug, "--dry-run")
    assert mail.outbox == []
    assert "5 voter(s) on the roll." in out
    assert "5 checked: 1 have voted, 1 have no email address." in out
    assert "3 reminder(s) would be sent." in out and "Dry run: nothing was sent." in out
    assert "5 of 5 voters on the roll checked" in err
    assert not AuditEntry.objects.filter(action="elections.voters.reminded").exists()


def test_remind_voters_mails_only_non_voters_on_the_roll_once_per_window(
    roll_election, monkeypatch
):
    monkeypatch.setattr(notifications, "CHUNK_SIZE", 2)
    election, on_roll = roll_election
    cast(election, on_roll[0], [1, 0, 0])
    out, err = run("remind_voters", election.slug)
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted(person.email for person in on_roll[1:4])
    assert "3 reminder(s) sent." in out
    assert err.count("voters on the roll checked") == 3  # one line per chunk of two
    assert "5 of 5 voters on the roll checked, 3 reminder(s) sent" in err
    message = mail.outbox[0]
    assert election.title in message.subject and "not voted" in message.subject
    assert f"{SITE}/elections/{election.slug}/booth/" in message.body

    # Another process (no shared cache) within the window: nothing is sent again.
    cache.clear()
    out, _ = run("remind_voters", election.slug)
    assert len(mail.outbox) == 3
    assert "nothing was sent again" in out

    # Once the window has passed, a run reminds again.
    AuditEntry.objects.filter(action="elections.voters.reminded").update(
        created_at=timezone.now() - timedelta(days=2)
    )
    run("remind_voters", election.slug)
    assert len(mail.outbox) == 6


def test_a_run_the_mail_server_stopped_carries_on_where_it_stopped(
    roll_election, monkeypatch, settings
):
    monkeypatch.setattr(notifications, "CHUNK_SIZE", 2)
    election, on_roll = roll_election
    settings.EMAIL_BACKEND = "tests.elections.test_notifications.FailsAfterOneBackend"
    with pytest.raises(CommandError, match="SMTPServerDisconnected"):
        run("remind_voters", election.slug)
    assert len(mail.outbox) == 1
    first = mail.outbox[0].to

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    out, _ = run("remind_voters", election.slug)
    assert "Carrying on after the last voter the previous run reached." in out
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted(person.email for person in on_roll[:4])
    assert first == mail.outbox[0].to


def test_invitations_name_the_election_its_schedule_and_link(roll_election, settings):
    settings.LANGUAGE_CODE = "fr"
    election, _ = roll_election
    Election.objects.filter(pk=election.pk).update(title="Board & Council")
    election.refresh_from_db()
    out, _ = run("invite_voters", election.slug)
    assert "4 invitation(s) sent." in out
    message = mail.outbox[0]
    assert message.subject == "Vous êtes invité à voter : Board & Council"
    assert "élection « Board & Council »" in message.body
    closes = election.closes_at.astimezone(UTC)
    french_months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet"]
    french_months += ["août", "septembre", "octobre", "novembre", "décembre"]
    assert f"{closes.day} {french_months[closes.month - 1]} {closes.year}" in message.body
    assert f"{SITE}/elections/{election.slug}/" in message.body
    assert isinstance(message, EmailMultiAlternatives)
    html, kind = message.alternatives[0]
    assert isinstance(html, str)
    assert kind == "text/html" and "Board &amp; Council" in html and 'lang="fr"' in html
    run("invite_voters", election.slug)
    assert len(mail.outbox) == 4


def test_roll_commands_refuse_what_they_cannot_do(draft_election, roll_election, settings):
    with pytest.raises(CommandError, match="No election has the identifier"):
        run("remind_voters", "no-such-election")
    with pytest.raises(CommandError, match="only while the election is open"):
        run("invite_voters", draft_election.slug)
    election, _ = roll_election
    settings.SITE_URL = ""
    with pytest.raises(CommandError, match="SITE_URL"):
        run("remind_voters", election.slug)
    Election.objects.filter(pk=election.pk).update(
        opens_at=timezone.now() - timedelta(days=2), closes_at=timezone.now() - timedelta(days=1)
    )
    with pytest.raises(CommandError, match="closing time has passed"):
        run("remind_voters", election.slug, "--dry-run")
    assert mail.outbox == []
