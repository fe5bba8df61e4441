"""Phase changes that race with each other, and faults in the middle of one.

A competing administrator acts at the worst moment by wrapping a real step of the
service (never by faking what the database does); afterwards the election must be
in one consistent state that verifies.
"""

import io

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from elections import ballot_box, crypto, services
from elections.models import Ballot, Candidate, Election, EncryptedTally, Result, Status
from elections.record import stream_record
from elections.services import drafts
from elections.verify import verify_record
from tests.elections.conftest import TEST_KEY_BITS, make_ballot

pytestmark = pytest.mark.django_db


def cast(election, voter, selections):
    return services.cast_ballot(
        election=election, voter=voter, payload=make_ballot(election, voter, selections)
    )


def record_verifies(election: Election) -> bool:
    text = "".join(stream_record(election, include_unpublished=True))
    report = verify_record(io.BytesIO(text.encode()))
    return report.exit_code == 0


def test_a_key_made_while_someone_opens_the_election_is_not_stored(
    draft_election, admin_user, monkeypatch
):
    services.generate_keys(election=draft_election, actor=admin_user, bits=TEST_KEY_BITS)
    opened_key = Election.objects.get(pk=draft_election.pk).public_key
    real = crypto.generate_keypair

    def open_meanwhile(bits):
        pair = real(bits)
        services.open_election(election=Election.objects.get(pk=draft_election.pk), actor=None)
        return pair

    monkeypatch.setattr(crypto, "generate_keypair", open_meanwhile)
    with pytest.raises(services.WrongPhase):
        services.generate_keys(election=draft_election, actor=admin_user, bits=TEST_KEY_BITS)
    election = Election.objects.get(pk=draft_election.pk)
    assert election.status == Status.OPEN
    assert election.public_key == opened_key


def test_a_second_open_at_the_same_time_keeps_the_ballots_counted(
    draft_election, admin_user, voter, monkeypatch
):
    services.generate_keys(election=draft_election, actor=admin_user, bits=TEST_KEY_BITS)
    real = services.election_params
    raced = []

    def open_and_cast_meanwhile(election):
        params = real(election)
        if not raced:
            raced.append(True)
            first = Election.objects.get(pk=election.pk)
            services.open_election(election=first, actor=None)
            cast(first, voter, [1, 0, 0])
        return params

    monkeypatch.setattr(drafts, "election_params", open_and_cast_meanwhile)
    with pytest.raises(services.WrongPhase):
        services.open_election(election=draft_election, actor=admin_user)
    monkeypatch.setattr(drafts, "election_params", real)
    tally = EncryptedTally.objects.get(election=draft_election)
    assert tally.ballot_count == 1 == Ballot.objects.filter(election=draft_election).count()


def test_two_decryptions_at_once_publish_once_and_agree(open_election, voter, monkeypatch):
    election = open_election.election
    cast(election, voter, [0, 1, 0])
    services.close_election(election=election, actor=None)
    real = crypto.decrypt_with_proof
    raced = []

    def decrypt_meanwhile(private_key, ciphertext):
        if not raced:
            raced.append(True)
            services.decrypt_tally(
                election=Election.objects.get(pk=election.pk),
                key_file=open_election.key_file,
                passphrase=None,
                actor=None,
            )
        return real(private_key, ciphertext)

    monkeypatch.setattr(crypto, "decrypt_with_proof", decrypt_meanwhile)
    report = services.decrypt_tally(
        election=election, key_file=open_election.key_file, passphrase=None, actor=None
    )
    assert report.already_published
    assert [c.count for c in report.counts] == [0, 1, 0]
    assert Result.objects.filter(election=election).count() == 3
    assert Election.objects.get(pk=election.pk).status == Status.PUBLISHED


def test_a_close_interrupted_half_way_is_finished_by_closing_again(
    open_election, voter, monkeypatch
):
    election = open_election.election
    cast(election, voter, [0, 0, 1])
    real = ballot_box.close_box

    def database_goes_away(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(ballot_box, "close_box", database_goes_away)
    with pytest.raises(OperationalError):
        services.close_election(election=election, actor=None)
    election.refresh_from_db()
    assert election.status == Status.CLOSED and not election.closing_hash

    monkeypatch.setattr(ballot_box, "close_box", real)
    services.close_election(election=election, actor=None)
    election.refresh_from_db()
    assert election.closing_hash
    with pytest.raises(services.WrongPhase):
        services.close_election(election=election, actor=None)
    services.decrypt_tally(
        election=election, key_file=open_election.key_file, passphrase=None, actor=None
    )
    assert record_verifies(election)


def test_a_ballot_checked_under_the_old_key_is_not_stored_after_a_reset(
    open_election, voter, admin_user
):
    stale = open_election.election  # as a cast request loaded it, before the reset
    payload = make_ballot(stale, voter, [1, 0, 0])
    fresh = Election.objects.get(pk=stale.pk)
    services.reset_election(election=fresh, actor=admin_user)
    services.generate_keys(election=fresh, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=fresh, actor=admin_user)

    with pytest.raises(services.WrongPhase, match="reset"):
        services.cast_ballot(election=stale, voter=voter, payload=payload)
    assert not Ballot.objects.filter(election=fresh).exists()
    assert EncryptedTally.objects.get(election=fresh).ballot_count == 0


def test_an_election_the_crypto_refuses_cannot_open(make_election, admin_user):
    election = make_election(slug="crowded", candidates=[f"C{i}" for i in range(300)])
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    with pytest.raises(services.WrongPhase, match="cannot open"):
        services.open_election(election=election, actor=admin_user)
    assert Election.objects.get(pk=election.pk).status == Status.DRAFT
    assert Candidate.objects.filter(election=election).count() == 300


def test_a_busy_database_is_a_503_and_nothing_is_stored(
    open_election, voter, login_as, monkeypatch
):
    election = open_election.election
    payload = make_ballot(election, voter, [0, 1, 0])

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(ballot_box, "store_ballot", locked)
    client: Client = login_as(voter)
    response = client.post(
        reverse("elections:cast", kwargs={"slug": election.slug}),
        payload,
        content_type="application/json",
    )
    assert response.status_code == 503
    assert "not stored" in response.json()["error"]
    assert not Ballot.objects.filter(election=election).exists()
