"""Records exported from the database: a v2 election with questions and blank votes, a v1 one."""

import io
import json
from collections.abc import Sequence

import pytest
from django.core.management import call_command

from accounts.models import User
from elections import crypto, record, services
from elections.models import Ballot, BallotFormat, Candidate, Election, Question
from elections.verify import RECORD_FORMAT, RECORD_FORMAT_V1, Report, verify_record

KEY_BITS = 1024
# One 0/1 per slot: the chair's two options; the motion's two options and its blank.
SELECTIONS = ([1, 0, 1, 0, 0], [0, 1, 0, 0, 1], [1, 0, 0, 1, 0], [1, 0, 0, 0, 1])


@pytest.fixture(autouse=True)
def _check_in_process(settings) -> None:
    settings.TALLY_CHECK_PROCESSES = 1


def add_question(
    election: Election, title: str, names: Sequence[str], *, allow_blank: bool = False
) -> Question:
    question = Question.objects.create(
        election=election,
        position=election.questions.count() + 1,
        title=title,
        allow_blank=allow_blank,
    )
    for position, name in enumerate(names, start=1):
        Candidate.objects.create(election=election, question=question, position=position, name=name)
    return question


def cast(election: Election, voter: User, selections: list[int]) -> None:
    params = services.election_params(election)
    context = services.voter_context(election, voter)
    ballot = crypto.encrypt_ballot(params, context, selections)
    services.cast_ballot(
        election=election, voter=voter, payload=crypto.ballot_to_json(ballot, params)
    )


def publish(
    election: Election, admin: User, voters: list[User], choices: Sequence[Sequence[int]]
) -> None:
    key_file = services.generate_keys(election=election, actor=admin, bits=KEY_BITS)
    services.open_election(election=election, actor=admin)
    for voter, selections in zip(voters, choices, strict=True):
        cast(election, voter, list(selections))
    services.close_election(election=election, actor=admin)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin)


@pytest.fixture
def voters(make_user) -> list[User]:
    return [make_user(f"voter_{index}") for index in range(1, 5)]


@pytest.fixture
def published_v2(db, admin_user, voters) -> Election:
    election = Election.objects.create(slug="board-2027", title="Conseil 2027 \u00e9lu")
    add_question(election, "Pr\u00e9sidence", ["Zo\u00eb", "Grace"])
    add_question(election, "Adopter le budget\u00a0?", ["Oui", "Non"], allow_blank=True)
    publish(election, admin_user, voters, SELECTIONS)
    return election


def exported(election: Election) -> str:
    return "".join(record.stream_record(election))


def verify_text(text: str) -> Report:
    return verify_record(io.BytesIO(text.encode()))


def test_a_v2_election_exports_a_v2_record_that_verifies(published_v2):
    text = exported(published_v2)
    document = json.loads(text)
    assert document["format"] == RECORD_FORMAT
    assert "candidates" not in document
    assert document["params"]["title"] == document["election"]["title"]
    assert [(r["question"], r["option"] is None) for r in document["results"]] == [
        ("0", False),
        ("0", False),
        ("1", False),
        ("1", False),
        ("1", True),
    ]
    report = verify_text(text)
    assert report.exit_code == 0, report.summary()
    assert report.ballots == 4
    assert report.results == [("Zo\u00eb", 3), ("Grace", 1), ("Oui", 1), ("Non", 1), ("Blank", 2)]
    assert [question.title for question in report.questions or []] == [
        "Pr\u00e9sidence",
        "Adopter le budget\u00a0?",
    ]


def test_the_check_before_decryption_reads_a_v2_board(published_v2):
    report = record.verify_board(published_v2, workers=1)
    assert report.ok, report.summary()
    assert report.verified_totals is not None
    assert len(report.verified_totals) == 5


def test_verify_election_prints_the_results_per_question(published_v2):
    stdout = io.StringIO()
    call_command("verify_election", published_v2.slug, "--quiet", stdout=stdout)
    out = stdout.getvalue()
    assert "  Adopter le budget\u00a0?\n    Oui: 1\n    Non: 1\n    Blank: 2\n" in out
    assert "VERIFIED" in out


def test_a_tampered_v2_ballot_is_named(published_v2):
    ballot = Ballot.objects.get(election=published_v2, sequence=2)
    other = Ballot.objects.get(election=published_v2, sequence=3)
    Ballot.objects.filter(pk=ballot.pk).update(content=other.content)
    checks = {(f.check, f.sequence) for f in verify_text(exported(published_v2)).failures}
    assert {("tracker", 2), ("proof", 2), ("tally", None)} <= checks


def test_a_v1_election_keeps_the_v1_record(db, admin_user, voters):
    election = Election.objects.create(
        slug="council-2025", title="Council 2025", ballot_format=BallotFormat.V1
    )
    add_question(election, "Council 2025", ["Ada", "Grace", "Alan"])
    publish(election, admin_user, voters, ([1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]))
    document = json.loads(exported(election))
    assert document["format"] == RECORD_FORMAT_V1
    assert document["params"]["format"] == "evoting/election-params/v1"
    assert [c["name"] for c in document["candidates"]] == ["Ada", "Grace", "Alan"]
    assert list(document["results"][0]) == ["candidate", "count", "ciphertext", "proof"]
    report = verify_text(exported(election))
    assert report.exit_code == 0, report.summary()
    assert report.results == [("Ada", 2), ("Grace", 1), ("Alan", 1)]
