"""The election record from the database: export, its format, and the verify_election command."""

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role
from elections import crypto, record, services
from elections.crypto.encoding import int_to_hex
from elections.models import Ballot, BallotFormat, Election, EncryptedTally, Result, RollEntry
from elections.verify import ChunkReader, Report, verify_record
from tests.verify.golden import regenerate as golden

SELECTIONS = ([1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0])


@pytest.fixture(scope="module", autouse=True)
def _stop_workers() -> Iterator[None]:
    yield
    crypto.shutdown_workers()


@pytest.fixture
def voters(make_user):
    return [make_user(f"voter_{index}") for index in range(len(SELECTIONS))]


@pytest.fixture
def voted(open_election, voters, ballot_for):
    """The open election with five ballots cast through the services."""
    election = open_election.election
    for voter, selection in zip(voters, SELECTIONS, strict=True):
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, selection)
        )
    return open_election


@pytest.fixture
def published(voted, admin_user):
    election = voted.election
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(
        election=election, key_file=voted.key_file, passphrase=None, actor=admin_user
    )
    return election


def exported(election, **options) -> str:
    return "".join(record.stream_record(election, **options))


def verify_text(text: str) -> Report:
    return verify_record(io.BytesIO(text.encode()))


def shape(value: Any) -> Any:
    """Keys in order and value types, with arrays item by item: the format without the data."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def test_a_published_record_verifies(published):
    report = verify_text(exported(published))
    assert report.exit_code == 0, report.summary()
    assert report.ballots == 5
    assert report.results == [("Ada", 3), ("Grace", 1), ("Alan", 1)]


def golden_questions_v2() -> list[dict[str, Any]]:
    """The questions of the golden v2 record, for ``make_election``."""
    return [
        {
            "title": title,
            "options": [name for _, name, _ in options],
            "min_selections": low,
            "max_selections": high,
            "allow_blank": blank,
        }
        for title, _, low, high, blank, options in golden.QUESTIONS_V2
    ]


GOLDEN_ELECTIONS = {
    # format: (golden file, questions, ballots, eligible voters)
    BallotFormat.V1: (
        golden.GOLDEN_PATH,
        [{"title": "Council", "options": ("Ada", "Grace", "Alan")}],
        golden.CHOICES,
        golden.ELIGIBLE,
    ),
    BallotFormat.V2: (
        golden.GOLDEN_V2_PATH,
        golden_questions_v2(),
        golden.CHOICES_V2,
        golden.ELIGIBLE_V2,
    ),
}


@pytest.mark.parametrize("version", GOLDEN_ELECTIONS, ids=lambda version: f"v{version}")
def test_the_exporter_writes_the_golden_format(
    version, make_election, make_user, admin_user, ballot_for
):
    path, questions, choices, eligible = GOLDEN_ELECTIONS[version]
    election = make_election(slug=f"golden-v{version}", questions=questions)
    Election.objects.filter(pk=election.pk).update(ballot_format=version)
    election.refresh_from_db()
    key_file = services.generate_keys(election=election, actor=admin_user, bits=1024)
    services.open_election(election=election, actor=admin_user)
    # Like the golden election: so many eligible voters, fewer of whom voted.
    voters = [make_user(f"golden_voter_{index}") for index in range(eligible)]
    for voter, selection in zip(voters, choices, strict=False):
        payload = ballot_for(election, voter, list(selection))
        services.cast_ballot(election=election, voter=voter, payload=payload)
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin_user)
    ours = json.loads(exported(election))
    golden_record = json.loads(path.read_text(encoding="ascii"))
    assert shape(ours) == shape(golden_record)
    assert list(ours) == list(golden_record)
    assert ours["voter_roll"]["eligible"] == int_to_hex(eligible)


def test_the_record_is_public_only_once_published(voted, admin_user):
    election = voted.election
    with pytest.raises(record.RecordNotPublic):
        record.stream_record(election)
    services.close_election(election=election, actor=admin_user)
    with pytest.raises(record.RecordNotPublic) as refused:
        record.stream_record(election)
    assert refused.value.status_code == 409
    assert verify_text(exported(election, include_unpublished=True)).exit_code == 0


def test_a_draft_has_no_record(make_election):
    draft = make_election(slug="draft-only")
    with pytest.raises(services.WrongPhase):
        record.stream_record(draft, include_unpublished=True)


def test_an_open_election_gives_a_partial_record(voted):
    report = verify_text(exported(voted.election, include_unpublished=True))
    assert report.exit_code == 0, report.summary()
    assert any("partial" in warning for warning in report.warnings)
    assert report.results is None


def test_the_voter_roll_commitment_covers_the_eligible_voters(published, make_user):
    make_user("pending_one", approved=False)
    make_user("a_candidate", Role.CANDIDATE)
    section = record.voter_roll_section(published)
    assert int(section["eligible"], 16) == services.eligible_voter_count(published)
    assert section["mode"] == "all"
    later = make_user("late_voter")
    changed = record.voter_roll_section(published)
    assert changed["commitment"] != section["commitment"]
    assert services.voter_context(published, later)  # the new voter is now part of it


def test_an_explicit_roll_counts_only_its_voters(make_election, voters, admin_user):
    election = make_election(slug="explicit-roll", roll_mode="explicit")
    RollEntry.objects.create(election=election, voter=voters[0])
    RollEntry.objects.create(election=election, voter=voters[1])
    section = record.voter_roll_section(election)
    assert section == {
        "mode": "explicit",
        "eligible": "2",
        "commitment": section["commitment"],
    }
    assert services.eligible_voter_count(election) == 2


def test_export_record_command_writes_a_verifiable_file(published, tmp_path):
    out = tmp_path / "record.json"
    stdout = io.StringIO()
    call_command("export_record", published.slug, out=str(out), stdout=stdout)
    assert "Wrote the record" in stdout.getvalue()
    with out.open("rb") as handle:
        report = verify_record(handle)
    assert report.exit_code == 0, report.summary()
    assert not list(tmp_path.glob(".*part"))


def test_export_record_warns_that_an_open_record_is_partial(voted, tmp_path):
    stderr = io.StringIO()
    out = tmp_path / "partial.json"
    call_command("export_record", voted.election.slug, out=str(out), stderr=stderr)
    assert "partial" in stderr.getvalue()
    assert json.loads(out.read_text())["results"] is None


def test_export_record_refuses_drafts_unknown_elections_and_bad_paths(
    make_election, published, tmp_path
):
    draft = make_election(slug="still-a-draft")
    with pytest.raises(CommandError, match="draft"):
        call_command("export_record", draft.slug, out=str(tmp_path / "x.json"))
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(CommandError, match="No election"):
        call_command("export_record", "nope", out=str(tmp_path / "x.json"))
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("export_record", published.slug, out=str(tmp_path / "missing" / "x.json"))


def test_verify_election_command_accepts_an_honest_election(published):
    stdout = io.StringIO()
    call_command("verify_election", published.slug, "--quiet", stdout=stdout)
    assert "VERIFIED" in stdout.getvalue()
    json_out = io.StringIO()
    call_command("verify_election", published.slug, "--quiet", "--json", stdout=json_out)
    assert json.loads(json_out.getvalue())["ok"] is True


def _verify_fails(election) -> dict[str, Any]:
    stdout = io.StringIO()
    with pytest.raises(CommandError, match="does not verify"):
        call_command("verify_election", election.slug, "--quiet", "--json", stdout=stdout)
    return json.loads(stdout.getvalue())


def test_verify_election_names_a_tampered_ballot(published):
    ballot = Ballot.objects.get(election=published, sequence=2)
    other = Ballot.objects.get(election=published, sequence=3)
    Ballot.objects.filter(pk=ballot.pk).update(content=other.content)
    report = _verify_fails(published)
    checks = {(f["check"], f["sequence"]) for f in report["failures"]}
    assert {("tracker", 2), ("proof", 2), ("tally", None)} <= checks


def test_verify_election_names_a_deleted_ballot(published):
    # Tampering with the database itself: the permanence guard refuses an ORM delete.
    ballots = Ballot.objects.filter(election=published, sequence=4)
    ballots._raw_delete(ballots.db)
    checks = {(f["check"], f["sequence"]) for f in _verify_fails(published)["failures"]}
    assert {("sequence", 5), ("chain", 5), ("tally", None)} <= checks


def test_verify_election_names_a_changed_tally_and_result(published):
    tally = EncryptedTally.objects.get(election=published)
    tally.ciphertexts = [tally.ciphertexts[1], tally.ciphertexts[0], tally.ciphertexts[2]]
    tally.save()
    Result.objects.filter(election=published, count=1).update(count=2)
    checks = {f["check"] for f in _verify_fails(published)["failures"]}
    assert {"tally", "decryption", "results"} <= checks


def test_verify_election_names_an_unreadable_stored_ballot(published):
    Ballot.objects.filter(election=published, sequence=1).update(content="{not json")
    checks = {(f["check"], f["sequence"]) for f in _verify_fails(published)["failures"]}
    assert ("ballot", 1) in checks


def test_verify_election_refuses_a_draft_and_bad_options(make_election, published):
    draft = make_election(slug="still-a-draft")
    with pytest.raises(CommandError, match="draft"):
        call_command("verify_election", draft.slug)
    with pytest.raises(CommandError, match="workers"):
        call_command("verify_election", published.slug, "--workers", "0")


def test_the_record_is_streamed_in_chunks(published):
    chunks = record.stream_record(published)
    assert isinstance(chunks, Iterator)
    pieces = list(chunks)
    assert len(pieces) > 5
    reader = ChunkReader(iter(pieces))
    assert reader.read(10) == b'{"format":'
