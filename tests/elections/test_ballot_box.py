"""The ballot box without relying on transactions: crashes, lost races and the close.

Faults are injected by letting a real competing writer act at the worst moment
(wrapping the box's own steps), never by faking what the database does.
"""

import pytest
from django.db.models import F
from django.utils import timezone

from elections import ballot_box, board, concurrency, crypto, services
from elections.models import Ballot, EncryptedTally
from tests.elections.conftest import make_ballot

pytestmark = pytest.mark.django_db


def decrypted_counts(setup):
    report = services.decrypt_tally(
        election=setup.election, key_file=setup.key_file, passphrase=None, actor=None
    )
    return [c.count for c in report.counts], report.ballots


def store_orphan(election, voter, selections):
    """Store a ballot the way a cast that died before folding it would have left it."""
    params = services.election_params(election)
    content = make_ballot(election, voter, selections)
    ballot = crypto.parse_ballot(params, content)
    tally = EncryptedTally.objects.get(election=election)
    context = services.voter_context(election, voter)
    cast_at = board.to_millis(timezone.now())
    sequence = Ballot.objects.filter(election=election).count() + 1
    previous = (
        Ballot.objects.get(election=election, sequence=sequence - 1).chain_hash
        if sequence > 1
        else tally.head_hash
    )
    tracker = crypto.ballot_tracker(ballot, params)
    return Ballot.objects.create(
        election=election,
        voter=voter,
        voter_context=context,
        sequence=sequence,
        tracker=tracker,
        content=crypto.ballot_to_json(ballot, params),
        cast_at=cast_at,
        chain_hash=board.ballot_hash(
            previous, sequence, context, board.format_cast_at(cast_at), tracker
        ),
    )


def cast(election, voter, selections):
    return services.cast_ballot(
        election=election, voter=voter, payload=make_ballot(election, voter, selections)
    )


def assert_tally_is_product_of_ballots(election):
    params = services.election_params(election)
    tally = EncryptedTally.objects.get(election=election)
    totals, count = services.product_of_ballots(election, params)
    assert [int(c, 16) for c in tally.ciphertexts] == totals
    assert tally.ballot_count == count
    last = Ballot.objects.filter(election=election).order_by("-sequence").first()
    assert last is not None and tally.head_hash == last.chain_hash


def test_ballot_left_unfolded_by_a_crash_is_folded_by_the_next_cast(open_election, make_user):
    election = open_election.election
    first, crashed, next_voter = (make_user(name) for name in ("v1", "v2", "v3"))
    cast(election, first, [1, 0, 0])
    orphan = store_orphan(election, crashed, [0, 1, 0])
    assert EncryptedTally.objects.get(election=election).ballot_count == 1

    stored = cast(election, next_voter, [0, 1, 0])
    assert (orphan.sequence, stored.sequence) == (2, 3)
    assert_tally_is_product_of_ballots(election)
    services.close_election(election=election, actor=None)
    assert decrypted_counts(open_election) == ([1, 2, 0], 3)


def test_close_folds_a_ballot_left_by_a_crash(open_election, make_user):
    election = open_election.election
    store_orphan(election, make_user("v1"), [0, 0, 1])
    services.close_election(election=election, actor=None)
    tally = EncryptedTally.objects.get(election=election)
    assert tally.is_closed and tally.ballot_count == 1
    election.refresh_from_db()
    assert election.closing_hash == board.closing_hash(tally.head_hash, 1)
    assert decrypted_counts(open_election) == ([0, 0, 1], 1)


def test_lost_compare_and_swap_is_retried(open_election, make_user, monkeypatch):
    election = open_election.election
    rival, voter = make_user("rival"), make_user("voter1")
    cast(election, rival, [1, 0, 0])
    real_cas = concurrency.compare_and_swap
    conflicts = []

    def cas_with_a_rival_first(queryset, version, **changes):
        if not conflicts:
            # Another writer moves the tally on just before our swap (a real update).
            EncryptedTally.objects.filter(election=election).update(version=version + 1)
            conflicts.append(version)
        return real_cas(queryset, version, **changes)

    monkeypatch.setattr(ballot_box, "compare_and_swap", cas_with_a_rival_first)
    stored = cast(election, voter, [0, 0, 1])
    assert conflicts, "the conflict was never provoked"
    assert stored.sequence == 2
    assert_tally_is_product_of_ballots(election)
    services.close_election(election=election, actor=None)
    assert decrypted_counts(open_election) == ([1, 0, 1], 2)


def test_taken_sequence_number_is_retried(open_election, make_user, monkeypatch):
    election = open_election.election
    voter = make_user("voter1")
    real_insert = ballot_box._insert
    attempts = []

    def insert_after_a_rival(election_, tally, cast_):
        attempts.append(tally.ballot_count)
        if len(attempts) == 1:
            store_orphan(election, make_user("rival"), [0, 1, 0])
        return real_insert(election_, tally, cast_)

    monkeypatch.setattr(ballot_box, "_insert", insert_after_a_rival)
    stored = cast(election, voter, [1, 0, 0])
    assert len(attempts) >= 2
    assert Ballot.objects.filter(election=election, voter=voter).count() == 1
    assert stored.sequence == Ballot.objects.filter(election=election).count()
    assert_tally_is_product_of_ballots(election)


def test_ballot_stored_while_the_close_folds_is_counted(open_election, make_user, monkeypatch):
    election = open_election.election
    voter = make_user("late")
    real_fold = ballot_box._fold_own

    def close_first(election_, params, stored, ballot):
        # The close runs between our insert and our fold: it folds our ballot itself.
        ballot_box.close_box(election, params)
        return real_fold(election_, params, stored, ballot)

    monkeypatch.setattr(ballot_box, "_fold_own", close_first)
    stored = cast(election, voter, [1, 0, 0])
    tally = EncryptedTally.objects.get(election=election)
    assert tally.is_closed and tally.ballot_count == stored.sequence == 1
    assert_tally_is_product_of_ballots(election)


def test_ballot_stored_after_the_box_was_sealed_is_withdrawn(open_election, make_user, monkeypatch):
    election = open_election.election
    voter = make_user("late")
    real_fold = ballot_box._fold_own

    def sealed_first(election_, params, stored, ballot):
        # A close that read the tally before our insert seals it without our ballot.
        EncryptedTally.objects.filter(election=election).update(
            is_closed=True, version=F("version") + 1
        )
        return real_fold(election_, params, stored, ballot)

    monkeypatch.setattr(ballot_box, "_fold_own", sealed_first)
    with pytest.raises(services.WrongPhase):
        cast(election, voter, [1, 0, 0])
    assert not Ballot.objects.filter(election=election).exists()
    assert EncryptedTally.objects.get(election=election).ballot_count == 0


def test_retry_gives_up_on_integrity_errors_and_non_transient_failures():
    from django.db import IntegrityError

    calls = []

    def write():
        calls.append(1)
        raise IntegrityError("duplicate")

    with pytest.raises(IntegrityError):
        concurrency.run_with_retries(write)
    assert len(calls) == 1


def test_retry_stops_after_bounded_attempts():
    calls = []

    def write():
        calls.append(1)
        raise concurrency.WriteConflict

    with pytest.raises(concurrency.WriteConflict):
        concurrency.run_with_retries(write)
    assert len(calls) == concurrency.MAX_ATTEMPTS


def test_decryption_refuses_ballots_beyond_the_tally_from_before_the_close(
    open_election, make_user
):
    election = open_election.election
    cast(election, make_user("v1"), [1, 0, 0])
    services.close_election(election=election, actor=None)
    # An insider adds a ballot to the closed board and backdates it.
    orphan = store_orphan(election, make_user("v2"), [0, 1, 0])
    Ballot.objects.filter(pk=orphan.pk).update(cast_at=election.opened_at)
    with pytest.raises(services.TallyMismatch):
        decrypted_counts(open_election)
    assert Ballot.objects.filter(pk=orphan.pk).exists()
