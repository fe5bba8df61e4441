"""A record exported from the database for an election decrypted by two of its three trustees."""

import pytest
from django.utils import timezone

from accounts.models import User
from elections import record, services
from elections.crypto.threshold import KeyShare, deal
from elections.models import (
    Candidate,
    Election,
    EncryptedTally,
    Result,
    Status,
    TrusteeDecryption,
)
from elections.trustee import EncryptedTally as TrusteeTally
from elections.trustee import (
    TrusteePublicKey,
    combine_tally,
    dump_partial,
    dump_public_key,
    make_public_key,
    partially_decrypt_tally,
)
from elections.verify import RECORD_FORMAT

from .golden.regenerate import randbits_from
from .test_export_v2 import SELECTIONS, add_question, cast, exported, verify_text

DECRYPTING = (2, 3)


@pytest.fixture(autouse=True)
def _check_in_process(settings) -> None:
    settings.TALLY_CHECK_PROCESSES = 1


@pytest.fixture
def voters(make_user) -> list[User]:
    return [make_user(f"voter_{index}") for index in range(1, 5)]


@pytest.fixture
def closed_with_trustees(
    db, admin_user, voters
) -> tuple[Election, TrusteePublicKey, list[KeyShare]]:
    election = Election.objects.create(slug="garants-2027", title="Conseil 2027")
    add_question(election, "Pr\u00e9sidence", ["Zo\u00eb", "Grace"])
    add_question(election, "Adopter le budget\u00a0?", ["Oui", "Non"], allow_blank=True)
    key, shares = deal(1024, 2, 3, randbits=randbits_from("export with trustees"))
    public = make_public_key(str(election.id), key)
    election.trustee_key = dump_public_key(public).decode("ascii")
    election.public_key = public.public_key_json()
    election.save(update_fields=["trustee_key", "public_key"])
    services.open_election(election=election, actor=admin_user)
    for voter, selections in zip(voters, SELECTIONS, strict=True):
        cast(election, voter, selections)
    services.close_election(election=election, actor=admin_user)
    election.refresh_from_db()
    return election, public, shares


def publish_by_trustees(
    election: Election, public: TrusteePublicKey, shares: list[KeyShare]
) -> None:
    """Store what the trustees' decryption stores: their partials, the results, the status."""
    stored = EncryptedTally.objects.get(election=election)
    params = services.election_params(election)
    tally = TrusteeTally(
        params,
        stored.ballot_count,
        election.closing_hash,
        tuple(int(value, 16) for value in stored.ciphertexts),
    )
    partial_files = [
        partially_decrypt_tally(
            public, shares[index - 1], tally, randbits=randbits_from(str(index))
        )
        for index in reversed(DECRYPTING)
    ]
    for partial_file in partial_files:
        TrusteeDecryption.objects.create(
            election=election,
            trustee=partial_file.trustee,
            content=dump_partial(partial_file).decode("ascii"),
        )
    counts = combine_tally(public, tally, partial_files)
    slot = 0
    for question in services.ordered_questions(election):
        options = list(Candidate.objects.filter(question=question).order_by("position"))
        for candidate in [*options, *([None] if question.allow_blank else [])]:
            Result.objects.create(
                election=election,
                question=question,
                candidate=candidate,
                slot=slot,
                count=counts[slot],
                ciphertext=stored.ciphertexts[slot],
                proof="",
            )
            slot += 1
    Election.objects.filter(pk=election.pk).update(
        status=Status.PUBLISHED, published_at=timezone.now()
    )


def test_the_closed_board_verifies_before_the_trustees_decrypt(closed_with_trustees):
    election, _, _ = closed_with_trustees
    text = exported_unpublished(election)
    assert '"results":null,\n"partial_decryptions":null}\n' in text
    report = record.verify_board(election)
    assert report.exit_code == 0, report.summary()
    assert report.verified_totals is not None
    assert report.trustees is not None and report.trustees.decrypted_by == ()


def exported_unpublished(election: Election) -> str:
    return "".join(record.stream_record(election, include_unpublished=True))


def test_the_published_record_carries_the_trustees_and_verifies(closed_with_trustees):
    election, public, shares = closed_with_trustees
    publish_by_trustees(election, public, shares)
    text = exported(election)
    lines = text.split("\n")
    assert lines[0] == f'{{"format":"{RECORD_FORMAT}",'
    assert lines[3] == f'"trustees":{election.trustee_key},'
    stored = list(TrusteeDecryption.objects.filter(election=election).order_by("trustee"))
    assert text.endswith(
        f'"partial_decryptions":[\n{stored[0].content},\n{stored[1].content}\n]}}\n'
    )
    report = verify_text(text)
    assert report.exit_code == 0, report.summary()
    assert report.trustees is not None and report.trustees.decrypted_by == DECRYPTING
    assert report.results == [("Zo\u00eb", 3), ("Grace", 1), ("Oui", 1), ("Non", 1), ("Blank", 2)]
    assert '"proof":null' in text and '"proof":""' not in text


def test_a_stored_partial_decryption_altered_afterwards_is_named(closed_with_trustees):
    election, public, shares = closed_with_trustees
    publish_by_trustees(election, public, shares)
    row = TrusteeDecryption.objects.get(election=election, trustee=2)
    TrusteeDecryption.objects.filter(pk=row.pk).update(
        content=row.content.replace('"trustee":"2"', '"trustee":"1"')
    )
    report = verify_text(exported(election))
    assert report.exit_code == 1
    assert any(
        failure.check == "partial" and "trustee 1" in failure.message for failure in report.failures
    ), report.summary()
