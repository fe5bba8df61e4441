"""Published elections are permanent: no reset, no delete by any path; copy instead."""

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.db.models.signals import pre_delete
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, Role, User
from elections import services
from elections.models import (
    Ballot,
    Candidate,
    Election,
    EncryptedTally,
    Question,
    Result,
    RollEntry,
    RollMode,
    Status,
)

from .conftest import add_question
from .test_admin import act, messages_of

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def voters(make_user) -> list[User]:
    return [make_user(f"voter_{n}") for n in range(3)]


@pytest.fixture
def published(open_election, voters, candidate, ballot_for) -> Election:
    """A published election with three ballots and a candidate account on the ballot."""
    election = open_election.election
    Candidate.objects.filter(election=election, position=1).update(account=candidate)
    for voter, choice in zip(voters, ([1, 0, 0], [0, 1, 0], [1, 0, 0]), strict=True):
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, choice)
        )
    services.close_election(election=election, actor=None)
    services.decrypt_tally(
        election=election, key_file=open_election.key_file, passphrase=None, actor=None
    )
    election.refresh_from_db()
    assert election.is_published
    return election


@pytest.fixture
def published_without_ballots(make_election, admin_user) -> Election:
    election = make_election(slug="quiet")
    key_file = services.generate_keys(election=election, actor=admin_user, bits=1024)
    services.open_election(election=election, actor=admin_user)
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin_user)
    election.refresh_from_db()
    return election


def snapshot(election: Election) -> dict[str, Any]:
    stored = Election.objects.get(pk=election.pk)
    return {
        "election": (stored.status, stored.public_key, stored.closing_hash, stored.published_at),
        "questions": list(
            stored.questions.values_list("id", "title", "min_selections", "max_selections")
        ),
        "candidates": list(
            stored.candidates.values_list("id", "question_id", "name", "account_id")
        ),
        "ballots": list(stored.ballots.values_list("id", "chain_hash")),
        "tally": list(EncryptedTally.objects.filter(election=stored).values_list("id", "version")),
        "results": list(stored.results.values_list("id", "count")),
    }


def public_pages_served(client, election: Election) -> None:
    ballot = election.ballots.first()
    for name in ("detail", "results", "board", "board_json", "record_json"):
        response = client.get(reverse(f"elections:{name}", args=[election.slug]))
        assert response.status_code == 200, name
    if ballot is not None:
        check = client.get(
            reverse("elections:check", args=[election.slug]), {"tracker": ballot.tracker}
        )
        assert check.status_code == 200


# --- Reset ------------------------------------------------------------------------


def test_service_refuses_to_reset_a_published_election(published, admin_user, client):
    before = snapshot(published)
    with pytest.raises(services.WrongPhase, match="permanent"):
        services.reset_election(election=published, actor=admin_user)
    assert snapshot(published) == before
    assert not AuditEntry.objects.filter(action="elections.election.reset").exists()
    public_pages_served(client, published)


def test_reset_racing_a_publication_is_refused_and_deletes_nothing(published, admin_user):
    before = snapshot(published)
    stale = Election.objects.get(pk=published.pk)
    stale.status = Status.CLOSED
    # The guard reads the stored status, so a stale in-memory one does not get through.
    with pytest.raises(ProtectedError), transaction.atomic():
        Ballot.objects.filter(election=stale).delete()
    assert snapshot(published) == before


def test_a_publication_landing_during_a_reset_is_not_undone(
    open_election, voters, ballot_for, admin_user
):
    election = open_election.election
    for voter in voters:
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
        )
    services.close_election(election=election, actor=admin_user)

    def publication_lands(**_: Any) -> None:
        # Another process publishes after the reset's guards have read "closed".
        Election.objects.filter(pk=election.pk).update(status=Status.PUBLISHED)

    pre_delete.connect(publication_lands, sender=EncryptedTally, dispatch_uid="lands")
    try:
        with pytest.raises(services.WrongPhase, match="permanent"):
            services.reset_election(election=election, actor=admin_user)
    finally:
        pre_delete.disconnect(dispatch_uid="lands", sender=EncryptedTally)
    election.refresh_from_db()
    assert election.status != Status.DRAFT and election.public_key
    assert election.ballots.count() == len(voters)
    assert EncryptedTally.objects.filter(election=election).exists()
    assert not AuditEntry.objects.filter(action="elections.election.reset").exists()


def test_command_refuses_to_reset_a_published_election(published, client):
    before = snapshot(published)
    with pytest.raises(CommandError, match="permanent"):
        run("reset_election", published.slug, "--yes")
    assert snapshot(published) == before
    public_pages_served(client, published)


def test_admin_refuses_to_reset_a_published_election(published, login_as, admin_user):
    before = snapshot(published)
    client = login_as(admin_user)
    response = act(client, "reset_election", [published], post="yes", confirm=published.slug)
    assert response.status_code == 302
    assert any("permanent" in m for m in messages_of(response))
    assert snapshot(published) == before


@pytest.mark.parametrize("phase", ["open", "closed"])
def test_reset_of_an_open_or_closed_election_records_the_ballots_removed(
    phase, open_election, voters, ballot_for, admin_user
):
    election = open_election.election
    for voter in voters[:2]:
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
        )
    if phase == "closed":
        services.close_election(election=election, actor=admin_user)
    assert services.reset_election(election=election, actor=admin_user) == 2
    election.refresh_from_db()
    assert election.is_draft and not election.ballots.exists()
    entry = AuditEntry.objects.get(action="elections.election.reset")
    assert entry.data == {"ballots": 2}


def test_reset_deletes_ballots_in_bulk_without_loading_them(
    open_election, voters, ballot_for, admin_user
):
    # The permanence guard must not turn a reset into one query per ballot with
    # every ballot's proofs loaded first, as a pre_delete receiver on ballots would.
    election = open_election.election
    for voter in voters:
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
        )
    with CaptureQueriesContext(connection) as queries:
        assert services.reset_election(election=election, actor=admin_user) == len(voters)
    ballot_reads = [q["sql"] for q in queries if "elections_ballot" in q["sql"]]
    assert not [sql for sql in ballot_reads if '"content"' in sql]
    assert len(ballot_reads) <= 3


def test_command_reset_still_needs_yes(open_election):
    with pytest.raises(CommandError, match="--yes"):
        run("reset_election", open_election.election.slug)
    assert Election.objects.get(pk=open_election.election.pk).status == Status.OPEN


def test_admin_reset_still_needs_the_typed_slug(open_election, login_as, admin_user):
    client = login_as(admin_user)
    election = open_election.election
    wrong = act(client, "reset_election", [election], post="yes", confirm="nope")
    assert wrong.status_code == 400
    assert Election.objects.get(pk=election.pk).status == Status.OPEN


# --- Delete -----------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["published", "published_without_ballots"])
def test_orm_delete_of_a_published_election_deletes_nothing(fixture, request, client):
    election = request.getfixturevalue(fixture)
    before = snapshot(election)
    with pytest.raises(ProtectedError), transaction.atomic():
        Election.objects.get(pk=election.pk).delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        Election.objects.filter(pk=election.pk).delete()
    assert snapshot(election) == before
    public_pages_served(client, election)


@pytest.mark.parametrize("model", [Question, Candidate, Ballot, EncryptedTally, Result])
def test_parts_of_a_published_election_cannot_be_deleted(model, published):
    before = snapshot(published)
    with pytest.raises(ProtectedError), transaction.atomic():
        model.objects.filter(election=published).delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        model.objects.filter(election=published).first().delete()
    assert snapshot(published) == before


def test_deleting_a_linked_candidate_account_deletes_nothing(published, candidate):
    before = snapshot(published)
    with pytest.raises(ProtectedError), transaction.atomic():
        candidate.delete()
    assert User.objects.filter(pk=candidate.pk).exists()
    assert snapshot(published) == before


def test_deleting_a_voter_who_voted_deletes_nothing(published, voters):
    before = snapshot(published)
    with pytest.raises(ProtectedError), transaction.atomic():
        voters[0].delete()
    assert User.objects.filter(pk=voters[0].pk).exists()
    assert snapshot(published) == before


def test_admin_delete_of_a_published_election_shows_a_message(published, login_as, admin_user):
    before = snapshot(published)
    client = login_as(admin_user)
    url = reverse("admin:elections_election_delete", args=[published.pk])
    for response in (client.get(url), client.post(url, {"post": "yes"})):
        assert response.status_code == 302
        assert any("is permanent" in m for m in messages_of(response))
    assert snapshot(published) == before


def test_admin_bulk_delete_is_not_offered(published, login_as, admin_user):
    client = login_as(admin_user)
    response = act(client, "delete_selected", [published], post="yes")
    assert response.status_code in (200, 302)
    assert any("No action selected" in m for m in messages_of(response))
    assert Election.objects.filter(pk=published.pk).exists()


def test_a_draft_can_still_be_deleted(draft_election, login_as, admin_user):
    client = login_as(admin_user)
    url = reverse("admin:elections_election_delete", args=[draft_election.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Election.objects.filter(pk=draft_election.pk).exists()
    assert not Candidate.objects.filter(election_id=draft_election.pk).exists()


# --- Copy as a new draft ------------------------------------------------------------


def test_copy_creates_a_draft_with_the_same_rules_candidates_and_roll(
    published, admin_user, voters
):
    Election.objects.filter(pk=published.pk).update(
        description="Council", roll_mode=RollMode.EXPLICIT
    )
    Question.objects.filter(election=published).update(
        description="Pick up to two", max_selections=2, allow_blank=True
    )
    add_question(published, "Adopt the motion?", ("Yes", "No"), min_selections=0)
    RollEntry.objects.bulk_create(RollEntry(election=published, voter=v) for v in voters)
    before = snapshot(published)

    copy = services.copy_as_draft(election=published, actor=admin_user)

    assert copy.pk != published.pk and copy.slug == f"{published.slug}-copy"
    assert copy.title == f"{published.title} (copy)" and copy.description == "Council"
    assert (copy.status, copy.public_key, copy.closing_hash) == (Status.DRAFT, "", "")
    assert copy.roll_mode == "explicit"
    rules = ("position", "title", "description", "min_selections", "max_selections", "allow_blank")
    assert list(copy.questions.order_by("position").values_list(*rules)) == [
        (1, "Who should be elected?", "Pick up to two", 1, 2, True),
        (2, "Adopt the motion?", "", 0, 1, False),
    ]
    assert list(copy.questions.values_list(*rules)) == list(published.questions.values_list(*rules))
    fields = ("question__position", "position", "name", "affiliation", "statement", "account_id")
    assert list(copy.candidates.values_list(*fields)) == list(
        published.candidates.values_list(*fields)
    )
    assert copy.candidates.count() == 5
    assert not copy.candidates.exclude(question__election=copy).exists()
    assert set(copy.roll.values_list("voter_id", flat=True)) == {v.pk for v in voters}
    assert not copy.ballots.exists() and not copy.results.exists()
    assert not EncryptedTally.objects.filter(election=copy).exists()
    assert snapshot(published) == before
    entry = AuditEntry.objects.get(action="elections.election.copied")
    assert (entry.object_id, entry.actor) == (str(copy.pk), admin_user)
    assert entry.data["source"] == published.slug
    assert (entry.data["questions"], entry.data["candidates"]) == (2, 5)


def test_copy_clears_a_past_schedule_and_keeps_a_future_one(make_election, admin_user):
    now = timezone.now()
    past = make_election(
        slug="past", opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1)
    )
    mixed = make_election(
        slug="mixed", opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=1)
    )
    future = make_election(
        slug="future", opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2)
    )
    assert (services.copy_as_draft(election=past, actor=admin_user).opens_at, None) == (None, None)
    copied = services.copy_as_draft(election=past, actor=admin_user)
    assert (copied.opens_at, copied.closes_at) == (None, None)
    assert copied.slug == "past-copy-2"
    copied = services.copy_as_draft(election=mixed, actor=admin_user)
    assert (copied.opens_at, copied.closes_at) == (None, mixed.closes_at)
    copied = services.copy_as_draft(election=future, actor=admin_user)
    assert (copied.opens_at, copied.closes_at) == (future.opens_at, future.closes_at)


def test_copy_command_with_a_chosen_slug(published):
    output = run("copy_election", published.slug, "--slug", "council-2027")
    assert "council-2027" in output
    copy = Election.objects.get(slug="council-2027")
    assert copy.is_draft and copy.candidates.count() == 3
    with pytest.raises(CommandError, match="already exists"):
        run("copy_election", published.slug, "--slug", "council-2027")
    for bad in ("council 2027", "../admin", "x" * 200, ""):
        with pytest.raises(CommandError, match="identifier"):
            run("copy_election", published.slug, "--slug", bad)
    assert Election.objects.count() == 2


def test_copy_admin_action(published, login_as, admin_user):
    client = login_as(admin_user)
    response = act(client, "copy_as_draft", [published])
    assert response.status_code == 302
    copy = Election.objects.get(slug=f"{published.slug}-copy")
    assert f"Copied {published.slug} as the draft {copy.slug}" in messages_of(response)[0]
    assert copy.is_draft


def test_copy_is_refused_to_staff_without_rights(published, login_as, make_user):
    staff = make_user("stan_staff", Role.ADMINISTRATOR, is_superuser=False)
    client = login_as(staff)
    act(client, "copy_as_draft", [published])
    assert Election.objects.count() == 1
