"""Keys and decryption: who can decrypt, with what, when, and what never leaks."""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from phe import paillier

from accounts.models import AuditEntry, Role, User
from elections import crypto, services
from elections.crypto.encoding import int_to_hex
from elections.models import Ballot, Election, EncryptedTally, Result, Status

from .conftest import TEST_KEY_BITS

PASSPHRASE = "a long and private passphrase 7"
CHOICES = [[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]]


@dataclass
class ClosedElection:
    election: Election
    key_file: bytes
    voters: list[User]


def close_with_ballots(
    election: Election, admin: User, make_user, ballot_for, *, passphrase: str | None = None
) -> ClosedElection:
    key_file = services.generate_keys(
        election=election, actor=admin, bits=TEST_KEY_BITS, passphrase=passphrase
    )
    services.open_election(election=election, actor=admin)
    voters = []
    for number, selections in enumerate(CHOICES):
        voter = make_user(f"{election.slug}-voter-{number}", Role.VOTER)
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, selections)
        )
        voters.append(voter)
    services.close_election(election=election, actor=admin)
    return ClosedElection(election, key_file, voters)


@pytest.fixture
def closed(draft_election, admin_user, make_user, ballot_for) -> ClosedElection:
    return close_with_ballots(draft_election, admin_user, make_user, ballot_for)


def decrypt(election: Election, key_file: bytes, actor: User, passphrase: str | None = None):
    return services.decrypt_tally(
        election=election, key_file=key_file, passphrase=passphrase, actor=actor
    )


def assert_not_decrypted(election: Election) -> None:
    election.refresh_from_db()
    assert election.status == Status.CLOSED
    assert election.published_at is None
    assert not Result.objects.filter(election=election).exists()
    assert not AuditEntry.objects.filter(
        action="elections.tally.decrypted", object_id=str(election.pk)
    ).exists()


def primes_of(key_file: bytes) -> tuple[int, int]:
    document = json.loads(key_file)
    return int(document["p"], 16), int(document["q"], 16)


def secret_spellings(key_file: bytes) -> list[str]:
    """Every way the factors could be written down: hex (both cases) and decimal."""
    spellings = []
    for prime in primes_of(key_file):
        spellings += [int_to_hex(prime), int_to_hex(prime).upper(), str(prime)]
    return spellings


# --- Decrypting ------------------------------------------------------------------


def test_decrypt_publishes_the_sums_with_checkable_proofs(closed, admin_user):
    report = decrypt(closed.election, closed.key_file, admin_user)
    expected = [sum(column) for column in zip(*CHOICES, strict=True)]
    assert [c.count for c in report.counts] == expected
    assert (report.ballots, report.running_tally_matches, report.already_published) == (
        5,
        True,
        False,
    )
    election = closed.election
    election.refresh_from_db()
    assert election.status == Status.PUBLISHED
    public_key = services.election_params(election).public_key
    for result in election.results.order_by("candidate__position"):
        crypto.verify_decryption(
            public_key, int(result.ciphertext, 16), result.count, int(result.proof, 16)
        )
    assert list(
        election.results.order_by("candidate__position").values_list("count", flat=True)
    ) == (expected)


def test_decrypting_twice_gives_the_same_result_and_changes_nothing(closed, admin_user):
    first = decrypt(closed.election, closed.key_file, admin_user)
    stored = list(Result.objects.values_list("id", "count", "ciphertext", "proof"))
    again = decrypt(closed.election, closed.key_file, admin_user)
    assert [c.count for c in again.counts] == [c.count for c in first.counts]
    assert again.already_published
    assert list(Result.objects.values_list("id", "count", "ciphertext", "proof")) == stored
    entries = AuditEntry.objects.filter(action="elections.tally.decrypted").order_by("created_at")
    assert [e.data["republished"] for e in entries] == [False, True]


@pytest.mark.parametrize("phase", ["draft", "open"])
def test_no_decryption_before_the_close(phase, draft_election, admin_user, voter, ballot_for):
    key_file = services.generate_keys(election=draft_election, actor=admin_user, bits=TEST_KEY_BITS)
    if phase == "open":
        services.open_election(election=draft_election, actor=admin_user)
        services.cast_ballot(
            election=draft_election,
            voter=voter,
            payload=ballot_for(draft_election, voter, [1, 0, 0]),
        )
    with pytest.raises(services.WrongPhase):
        decrypt(draft_election, key_file, admin_user)
    draft_election.refresh_from_db()
    assert draft_election.status == phase
    assert not Result.objects.exists()
    assert not AuditEntry.objects.filter(action="elections.tally.decrypted").exists()


def test_passphrase_protected_key_decrypts_with_its_passphrase_only(
    make_election, admin_user, make_user, ballot_for
):
    guarded = close_with_ballots(
        make_election(slug="guarded"), admin_user, make_user, ballot_for, passphrase=PASSPHRASE
    )
    for wrong in ("not the passphrase", None):
        with pytest.raises(services.KeyRefused):
            decrypt(guarded.election, guarded.key_file, admin_user, passphrase=wrong)
        assert_not_decrypted(guarded.election)
    report = decrypt(guarded.election, guarded.key_file, admin_user, passphrase=PASSPHRASE)
    assert [c.count for c in report.counts] == [1, 3, 1]


# --- Wrong keys ------------------------------------------------------------------


def key_of_another_election(closed: ClosedElection, make_election, admin_user) -> bytes:
    other = make_election(slug="elsewhere")
    return services.generate_keys(election=other, actor=admin_user, bits=TEST_KEY_BITS)


def relabelled_for_another_election(closed: ClosedElection, make_election, admin_user) -> bytes:
    document = json.loads(closed.key_file)
    document["election_id"] = "00000000-0000-0000-0000-000000000000"
    return json.dumps(document).encode()


def other_key_with_this_election_id(closed: ClosedElection, make_election, admin_user) -> bytes:
    _, private_key = crypto.generate_keypair(TEST_KEY_BITS)
    return crypto.dump_private_key(private_key, election_id=str(closed.election.pk))


def key_below_minimum_size(closed: ClosedElection, make_election, admin_user) -> bytes:
    _, private_key = paillier.generate_paillier_keypair(n_length=256)
    return crypto.dump_private_key(private_key, election_id=str(closed.election.pk))


def truncated(closed: ClosedElection, make_election, admin_user) -> bytes:
    return closed.key_file[: len(closed.key_file) // 2]


def corrupt_prime(closed: ClosedElection, make_election, admin_user) -> bytes:
    document = json.loads(closed.key_file)
    document["p"] = int_to_hex(int(document["p"], 16) + 2)
    return json.dumps(document).encode()


def garbage(closed: ClosedElection, make_election, admin_user) -> bytes:
    return b"\x00\xff" * 300


def empty(closed: ClosedElection, make_election, admin_user) -> bytes:
    return b""


def oversized(closed: ClosedElection, make_election, admin_user) -> bytes:
    return b'{"p": "' + b"1" * (2 << 20) + b'"}'


WRONG_KEYS: dict[str, Callable[[ClosedElection, Callable[..., Election], User], bytes]] = {
    f.__name__: f
    for f in (
        key_of_another_election,
        relabelled_for_another_election,
        other_key_with_this_election_id,
        key_below_minimum_size,
        truncated,
        corrupt_prime,
        garbage,
        empty,
        oversized,
    )
}


@pytest.mark.parametrize("how", sorted(WRONG_KEYS))
def test_wrong_key_is_refused_and_nothing_changes(how, closed, make_election, admin_user):
    key_file = WRONG_KEYS[how](closed, make_election, admin_user)
    tally_before = EncryptedTally.objects.values_list("ciphertexts", "version").get(
        election=closed.election
    )
    with pytest.raises(services.KeyRefused) as refused:
        decrypt(closed.election, key_file, admin_user)
    assert refused.value.status_code == 400
    assert_not_decrypted(closed.election)
    assert (
        EncryptedTally.objects.values_list("ciphertexts", "version").get(election=closed.election)
        == tally_before
    )
    message = str(refused.value)
    assert not any(secret in message for secret in secret_spellings(closed.key_file))
    # The right key still works afterwards.
    assert decrypt(closed.election, closed.key_file, admin_user).ballots == 5


def test_passphrase_given_for_an_unprotected_key_is_refused(closed, admin_user):
    with pytest.raises(services.KeyRefused):
        decrypt(closed.election, closed.key_file, admin_user, passphrase=PASSPHRASE)
    assert_not_decrypted(closed.election)


# --- Tampering with the stored data -----------------------------------------------


def swap_in_an_uncast_ballot(closed: ClosedElection, ballot_for) -> None:
    first = Ballot.objects.get(election=closed.election, sequence=1)
    # A valid ballot of the same voter that was never cast: it parses, but is not in the tally.
    forged = ballot_for(closed.election, first.voter, [0, 0, 1])
    Ballot.objects.filter(pk=first.pk).update(content=forged)


def change_the_tally(closed: ClosedElection, ballot_for) -> None:
    tally = EncryptedTally.objects.get(election=closed.election)
    params = services.election_params(closed.election)
    extra = json.loads(ballot_for(closed.election, closed.voters[0], [1, 0, 0]))["questions"][0][
        "ciphertexts"
    ]
    changed = [
        int_to_hex(int(total, 16) * int(c, 16) % params.n_square)
        for total, c in zip(tally.ciphertexts, extra, strict=True)
    ]
    EncryptedTally.objects.filter(pk=tally.pk).update(ciphertexts=changed)


def delete_a_ballot(closed: ClosedElection, ballot_for) -> None:
    Ballot.objects.filter(election=closed.election, sequence=3).delete()


def stuff_a_ballot(closed: ClosedElection, ballot_for) -> None:
    stuffer = User.objects.create_user(username="sam_stuffed", role=Role.VOTER, is_approved=True)
    payload = ballot_for(closed.election, stuffer, [1, 0, 0])
    params = services.election_params(closed.election)
    ballot = crypto.parse_ballot(params, payload)
    last = Ballot.objects.get(election=closed.election, sequence=5)
    Ballot.objects.create(
        election=closed.election,
        voter=stuffer,
        voter_context=services.voter_context(closed.election, stuffer),
        sequence=6,
        tracker=crypto.ballot_tracker(ballot, params),
        content=payload,
        cast_at=last.cast_at,
        chain_hash=last.chain_hash,
    )


def change_the_ballot_count(closed: ClosedElection, ballot_for) -> None:
    EncryptedTally.objects.filter(election=closed.election).update(ballot_count=4, counted=4)


TAMPERINGS = {
    f.__name__: f
    for f in (
        swap_in_an_uncast_ballot,
        change_the_tally,
        delete_a_ballot,
        stuff_a_ballot,
        change_the_ballot_count,
    )
}


@pytest.mark.parametrize("how", sorted(TAMPERINGS))
def test_tampered_data_is_detected_and_nothing_is_published(how, closed, admin_user, ballot_for):
    TAMPERINGS[how](closed, ballot_for)
    with pytest.raises(services.TallyMismatch):
        decrypt(closed.election, closed.key_file, admin_user)
    assert_not_decrypted(closed.election)
    assert AuditEntry.objects.filter(action="elections.tally.refused").count() == 1


def test_tampering_after_publication_is_detected_on_the_next_decryption(
    closed, admin_user, ballot_for
):
    decrypt(closed.election, closed.key_file, admin_user)
    published = list(Result.objects.values_list("id", "count"))
    change_the_tally(closed, ballot_for)
    with pytest.raises(services.TallyMismatch):
        decrypt(closed.election, closed.key_file, admin_user)
    assert list(Result.objects.values_list("id", "count")) == published


def test_unreadable_stored_ballot_is_a_refusal_not_a_crash(closed, admin_user):
    Ballot.objects.filter(election=closed.election, sequence=2).update(content='{"format": "x"}')
    with pytest.raises(services.TallyMismatch, match="ballot 2: not a well-formed ballot"):
        decrypt(closed.election, closed.key_file, admin_user)
    assert_not_decrypted(closed.election)


# --- Secrets stay out of the database, the audit log and the logs --------------------


def every_stored_text() -> str:
    """All values of all columns of all tables, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                chunks += [
                    v.hex() if isinstance(v, bytes | memoryview) else str(v)
                    for v in row
                    if v is not None
                ]
    return "\n".join(chunks)


def test_the_private_key_is_in_no_database_column(
    closed, admin_user, make_election, make_user, ballot_for
):
    guarded = close_with_ballots(
        make_election(slug="guarded"), admin_user, make_user, ballot_for, passphrase=PASSPHRASE
    )
    decrypt(closed.election, closed.key_file, admin_user)
    decrypt(guarded.election, guarded.key_file, admin_user, passphrase=PASSPHRASE)

    p, q = primes_of(closed.key_file)
    assert p * q == services.election_params(closed.election).n  # the needles are the real key
    stored = every_stored_text()
    assert closed.election.public_key in stored  # the scan does see the election's data
    for secret in secret_spellings(closed.key_file):
        assert secret not in stored
    assert PASSPHRASE not in stored
    assert guarded.key_file.decode() not in stored


def test_audit_trail_records_each_step_without_secrets(
    draft_election, admin_user, make_user, ballot_for, caplog
):
    caplog.set_level(logging.DEBUG)
    guarded = close_with_ballots(
        draft_election, admin_user, make_user, ballot_for, passphrase=PASSPHRASE
    )
    election = guarded.election
    # The key file is encrypted: read its primes the way the service does, before the reset.
    private_key = crypto.load_private_key(
        guarded.key_file,
        passphrase=PASSPHRASE,
        expected_public_key=services.election_params(election).public_key,
        election_id=str(election.pk),
    )
    decrypt(election, guarded.key_file, admin_user, passphrase=PASSPHRASE)
    with pytest.raises(services.KeyRefused):
        decrypt(election, guarded.key_file, admin_user, passphrase="wrong guess 1234")
    with pytest.raises(services.WrongPhase):
        services.reset_election(election=election, actor=admin_user)

    entries = AuditEntry.objects.filter(object_id=str(election.pk))
    assert {
        "elections.key.generated",
        "elections.election.opened",
        "elections.election.closed",
        "elections.tally.decrypted",
    } <= set(entries.values_list("action", flat=True))
    assert all(e.actor == admin_user for e in entries)
    assert entries.get(action="elections.key.generated").data == {
        "bits": TEST_KEY_BITS,
        "passphrase": True,
    }

    secrets = [PASSPHRASE, "wrong guess 1234"]
    for prime in (private_key.p, private_key.q):
        secrets += [int_to_hex(prime), int_to_hex(prime).upper(), str(prime)]
    recorded = "\n".join(f"{e.message}\n{json.dumps(e.data)}" for e in AuditEntry.objects.all())
    for secret in secrets:
        assert secret not in recorded
        assert secret not in caplog.text
