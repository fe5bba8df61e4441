"""The election's phases as the services enforce them: opening, the schedule, closing, reset."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.utils import timezone as django_timezone

from accounts.models import AuditEntry, Role, User
from elections import roll, services, verification
from elections.models import (
    Ballot,
    Election,
    EncryptedTally,
    Result,
    RollEntry,
    RollMode,
    Status,
)

from .conftest import TEST_KEY_BITS

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch) -> Callable[[datetime], None]:
    """Set the server's clock; everything reads it through django.utils.timezone.now."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(django_timezone, "now", lambda: moment)

    return set_to


def with_key(election: Election, actor: User) -> bytes:
    return services.generate_keys(election=election, actor=actor, bits=TEST_KEY_BITS)


def opened(election: Election, actor: User) -> bytes:
    key_file = with_key(election, actor)
    services.open_election(election=election, actor=actor)
    return key_file


def cast(election: Election, voter: User, ballot_for, selections=(1, 0, 0)) -> Ballot:
    return services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, list(selections))
    )


def nothing_stored(election: Election) -> None:
    assert not election.ballots.exists()
    tally = EncryptedTally.objects.filter(election=election).first()
    # Closing moves the version (it seals the box), never the count or the totals.
    assert tally is None or (tally.ballot_count, set(tally.ciphertexts)) == (0, {"1"})


# --- Opening ----------------------------------------------------------------------


def test_open_refuses_without_a_key(draft_election, admin_user):
    with pytest.raises(services.WrongPhase, match="key"):
        services.open_election(election=draft_election, actor=admin_user)
    draft_election.refresh_from_db()
    assert draft_election.status == Status.DRAFT
    assert not EncryptedTally.objects.exists()


def test_open_refuses_without_candidates(make_election, admin_user):
    election = make_election(slug="empty", candidates=())
    with_key(election, admin_user)
    with pytest.raises(services.WrongPhase, match="has no options"):
        services.open_election(election=election, actor=admin_user)
    assert Election.objects.get(pk=election.pk).status == Status.DRAFT
    no_questions = make_election(slug="no-questions", questions=[])
    with_key(no_questions, admin_user)
    with pytest.raises(services.WrongPhase, match="at least one question"):
        services.open_election(election=no_questions, actor=admin_user)
    assert Election.objects.get(pk=no_questions.pk).status == Status.DRAFT
    assert not EncryptedTally.objects.exists()


def test_open_refuses_more_choices_than_candidates(make_election, admin_user):
    election = make_election(slug="greedy", candidates=("A", "B"), max_selections=3)
    with_key(election, admin_user)
    with pytest.raises(services.WrongPhase, match="allows 3 choices but has 2 options"):
        services.open_election(election=election, actor=admin_user)
    assert Election.objects.get(pk=election.pk).status == Status.DRAFT


def test_open_refuses_an_empty_explicit_roll(make_election, admin_user, voter):
    election = make_election(slug="closed-roll", roll_mode=RollMode.EXPLICIT)
    with_key(election, admin_user)
    with pytest.raises(services.WrongPhase, match="roll"):
        services.open_election(election=election, actor=admin_user)
    RollEntry.objects.create(election=election, voter=voter)
    services.open_election(election=election, actor=admin_user)
    assert Election.objects.get(pk=election.pk).status == Status.OPEN


def test_open_starts_an_empty_tally_and_cannot_repeat(draft_election, admin_user):
    opened(draft_election, admin_user)
    tally = EncryptedTally.objects.get(election=draft_election)
    assert (tally.ballot_count, tally.version, len(tally.ciphertexts)) == (0, 0, 3)
    with pytest.raises(services.WrongPhase):
        services.open_election(election=draft_election, actor=admin_user)


# --- Nothing that defines the election changes once it is open ---------------------


def test_key_cannot_be_regenerated_after_opening(open_election, admin_user):
    election = open_election.election
    public_key = election.public_key
    with pytest.raises(services.WrongPhase):
        services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    assert Election.objects.get(pk=election.pk).public_key == public_key
    assert AuditEntry.objects.filter(action="elections.key.generated").count() == 1


def test_roll_cannot_change_after_opening(make_election, admin_user, voter, make_user):
    newcomer = make_user("nina_new", Role.VOTER)
    election = make_election(slug="roll-locked", roll_mode=RollMode.EXPLICIT)
    entry = roll.add_to_roll(election=election, voter=voter, actor=admin_user)
    opened(election, admin_user)

    with pytest.raises(services.WrongPhase):
        roll.add_to_roll(election=election, voter=newcomer, actor=admin_user)
    with pytest.raises(services.WrongPhase):
        roll.remove_from_roll(entry=entry, actor=admin_user)
    with pytest.raises(services.WrongPhase):
        roll.import_voters(
            election=election,
            csv_text="username,email\nnina_new,nina@example.org\n",
            actor=admin_user,
            dry_run=False,
        )
    assert list(election.roll.values_list("voter__username", flat=True)) == ["victor_voter"]


@pytest.mark.parametrize("phase", [Status.OPEN, Status.CLOSED, Status.PUBLISHED])
def test_candidates_and_key_are_frozen_outside_draft(phase, draft_election):
    draft_election.status = phase
    with pytest.raises(services.WrongPhase):
        services.require_draft(draft_election, "The candidates")


# --- When ballots are accepted ----------------------------------------------------


def test_no_ballot_before_the_election_opens(draft_election, admin_user, voter, ballot_for):
    with_key(draft_election, admin_user)
    with pytest.raises(services.WrongPhase):
        cast(draft_election, voter, ballot_for)
    assert not Ballot.objects.exists()


def test_no_ballot_after_the_election_closes(open_election, admin_user, voter, ballot_for):
    election = open_election.election
    payload = ballot_for(election, voter, [1, 0, 0])
    services.close_election(election=election, actor=admin_user)
    with pytest.raises(services.WrongPhase):
        services.cast_ballot(election=election, voter=voter, payload=payload)
    nothing_stored(election)
    with pytest.raises(services.WrongPhase):
        services.close_election(election=election, actor=admin_user)


def test_a_draft_cannot_be_closed(draft_election, admin_user):
    with pytest.raises(services.WrongPhase):
        services.close_election(election=draft_election, actor=admin_user)
    assert Election.objects.get(pk=draft_election.pk).status == Status.DRAFT


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (NOON - timedelta(microseconds=1), False),
        (NOON, True),
        (NOON + timedelta(hours=1), True),
    ],
)
def test_schedule_opening_instant(
    now, accepted, clock, make_election, admin_user, voter, ballot_for
):
    election = make_election(slug="scheduled", opens_at=NOON, closes_at=NOON + timedelta(days=1))
    opened(election, admin_user)
    clock(now)
    if accepted:
        assert cast(election, voter, ballot_for).sequence == 1
    else:
        with pytest.raises(services.WrongPhase):
            cast(election, voter, ballot_for)
        nothing_stored(election)


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (NOON - timedelta(microseconds=1), True),
        (NOON, False),  # the closing instant itself is too late
        (NOON + timedelta(seconds=1), False),
    ],
)
def test_schedule_closing_instant(
    now, accepted, clock, make_election, admin_user, voter, ballot_for
):
    election = make_election(slug="deadline", closes_at=NOON)
    clock(NOON - timedelta(days=1))
    opened(election, admin_user)
    clock(now)
    if accepted:
        assert cast(election, voter, ballot_for).sequence == 1
    else:
        with pytest.raises(services.WrongPhase):
            cast(election, voter, ballot_for)
        nothing_stored(election)


def test_schedule_is_compared_in_utc(clock, make_election, admin_user, voter, ballot_for):
    paris_noon = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    election = make_election(slug="paris", closes_at=paris_noon)
    clock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    opened(election, admin_user)
    # 10:30 UTC is 12:30 in UTC+2: already closed, whatever the local reading says.
    clock(datetime(2026, 3, 1, 10, 30, tzinfo=UTC))
    with pytest.raises(services.WrongPhase):
        cast(election, voter, ballot_for)
    clock(datetime(2026, 3, 1, 9, 59, tzinfo=UTC))
    assert cast(election, voter, ballot_for).sequence == 1


# --- A cast in flight when the election closes -------------------------------------


@pytest.fixture
def during_verification(monkeypatch) -> Callable[[Callable[[], None]], None]:
    """Run ``action`` after a cast has verified its ballot and before it writes."""

    def install(action: Callable[[], None]) -> None:
        real_verify = verification.verify_ballot

        def verify_then_act(*args: Any) -> None:
            real_verify(*args)
            action()

        monkeypatch.setattr(verification, "verify_ballot", verify_then_act)

    return install


def test_a_close_during_a_cast_refuses_the_ballot_and_stores_nothing(
    open_election, admin_user, voter, ballot_for, during_verification
):
    election = open_election.election
    during_verification(lambda: services.close_election(election=election, actor=admin_user))
    with pytest.raises(services.WrongPhase, match="closed before"):
        cast(election, voter, ballot_for)
    nothing_stored(election)
    closing = AuditEntry.objects.get(action="elections.election.closed")
    assert closing.data["ballots"] == 0


def test_the_closing_time_passing_during_a_cast_refuses_the_ballot(
    clock, make_election, admin_user, voter, ballot_for, during_verification
):
    election = make_election(slug="photo-finish", closes_at=NOON)
    clock(NOON - timedelta(hours=1))
    opened(election, admin_user)
    clock(NOON - timedelta(milliseconds=1))
    during_verification(lambda: clock(NOON))
    with pytest.raises(services.WrongPhase):
        cast(election, voter, ballot_for)
    nothing_stored(election)


def test_a_ballot_stored_before_the_close_is_counted_in_the_closing_record(
    open_election, admin_user, voter, ballot_for
):
    election = open_election.election
    cast(election, voter, ballot_for)
    services.close_election(election=election, actor=admin_user)
    election.refresh_from_db()
    assert AuditEntry.objects.get(action="elections.election.closed").data == {
        "ballots": 1,
        "counted": 1,
        "closing_hash": election.closing_hash,
    }


# --- Reset ------------------------------------------------------------------------


def fill(election: Election, admin: User, voters: list[User], ballot_for, *, publish: bool) -> None:
    key_file = opened(election, admin)
    for voter in voters:
        cast(election, voter, ballot_for)
    services.close_election(election=election, actor=admin)
    if publish:
        services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin)


def snapshot(election: Election) -> dict[str, Any]:
    election.refresh_from_db()
    tally = EncryptedTally.objects.get(election=election)
    return {
        "status": election.status,
        "public_key": election.public_key,
        "closing_hash": election.closing_hash,
        "ballots": list(election.ballots.values_list("id", "sequence", "content", "chain_hash")),
        "tally": (tally.ciphertexts, tally.ballot_count, tally.version, tally.head_hash),
        "results": list(election.results.values_list("id", "count")),
    }


def test_reset_clears_one_election_and_touches_no_other(
    make_election, admin_user, make_user, ballot_for
):
    voters = [make_user(f"reset_voter_{i}", Role.VOTER) for i in range(3)]
    target = make_election(slug="target")
    bystander = make_election(slug="bystander")
    fill(target, admin_user, voters, ballot_for, publish=False)
    fill(bystander, admin_user, voters[:2], ballot_for, publish=True)
    before = snapshot(bystander)

    removed = services.reset_election(election=target, actor=admin_user)

    assert removed == 3
    target.refresh_from_db()
    assert (target.status, target.public_key, target.closing_hash) == (Status.DRAFT, "", "")
    assert (target.opened_at, target.closed_at, target.published_at) == (None, None, None)
    assert not Ballot.objects.filter(election=target).exists()
    assert not EncryptedTally.objects.filter(election=target).exists()
    assert not Result.objects.filter(election=target).exists()
    assert target.candidates.count() == 3
    assert snapshot(bystander) == before
    entry = AuditEntry.objects.get(action="elections.election.reset")
    assert (entry.object_id, entry.actor, entry.data) == (
        str(target.pk),
        admin_user,
        {"ballots": 3},
    )

    # A reset election starts over: new key, and the same voters may vote again.
    opened(target, admin_user)
    assert cast(target, voters[0], ballot_for).sequence == 1
