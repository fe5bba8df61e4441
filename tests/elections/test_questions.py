"""Elections with several questions: end to end over HTTP, refusals, limits, the admin, commands.

The election of this file asks three questions: a chair (one of four), a motion
(yes or no, blank allowed) and a committee (one or two of three, blank allowed).
"""

import json
from collections.abc import Sequence
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from elections import crypto, record, services
from elections.crypto.params import MAX_QUESTIONS
from elections.models import Ballot, Candidate, Election, EncryptedTally, Question, Result, Status
from elections.verify import main as verify_main

from ..conftest import signed_in as client_for
from .conftest import TEST_KEY_BITS, add_question

THREE_QUESTIONS: list[dict[str, Any]] = [
    {"title": "Chair", "options": ("Ada", "Grace", "Alan", "Edsger")},
    {"title": "Adopt the motion?", "options": ("Yes", "No"), "allow_blank": True},
    {
        "title": "Committee",
        "options": ("Barbara", "Donald", "Leslie"),
        "min_selections": 1,
        "max_selections": 2,
        "allow_blank": True,
    },
]

# One 0/1 per slot: chair (4), motion (yes, no, blank), committee (3 + blank).
CHOICES = [
    [0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0],
    [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1],
    [1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0],
    [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1],
    [0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0],
]
EXPECTED = [
    {"title": "Chair", "blank": None, "counts": [1, 3, 0, 1]},
    {"title": "Adopt the motion?", "blank": 2, "counts": [2, 1]},
    {"title": "Committee", "blank": 2, "counts": [2, 2, 2]},
]


def cast_over_http(election: Election, voter: User, selections: Sequence[int]) -> dict[str, Any]:
    params = services.election_params(election)
    ballot = crypto.encrypt_ballot(params, services.voter_context(election, voter), selections)
    response = client_for(voter).post(
        reverse("elections:cast", kwargs={"slug": election.slug}),
        data=crypto.ballot_to_json(ballot, params),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def three_questions(make_election, admin_user) -> tuple[Election, bytes]:
    election = make_election("board-2027", questions=THREE_QUESTIONS)
    key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    return election, key_file


@pytest.fixture
def five_voters(make_user) -> list[User]:
    return [make_user(f"voter_{number}", Role.VOTER) for number in range(len(CHOICES))]


def test_three_questions_end_to_end(three_questions, five_voters, admin_user, tmp_path, capsys):
    election, key_file = three_questions
    params = services.election_params(election)
    assert params.version == 2 and params.slot_count == 11
    booth = client_for(five_voters[0]).get(reverse("elections:booth", args=[election.slug]))
    assert booth.status_code == 200
    for title in ("Chair", "Adopt the motion?", "Committee"):
        assert title.encode() in booth.content
    assert booth.content.count(b'data-blank="1"') == 2

    trackers = [
        cast_over_http(election, voter, choice)["tracker"]
        for voter, choice in zip(five_voters, CHOICES, strict=True)
    ]
    assert EncryptedTally.objects.get(election=election).ballot_count == 5
    receipt = client_for(five_voters[1]).get(reverse("elections:receipt", args=[election.slug]))
    assert trackers[1].encode() in receipt.content

    services.close_election(election=election, actor=admin_user)
    key_path = tmp_path / "key.json"
    key_path.write_bytes(key_file)
    out = StringIO()
    call_command("tally", election.slug, "--key", str(key_path), "--json", "--quiet", stdout=out)
    document = json.loads(out.getvalue())
    assert document["election"] == election.slug and document["ballots"] == 5
    assert [
        {
            "title": question["title"],
            "blank": question["blank"],
            "counts": [option["count"] for option in question["options"]],
        }
        for question in document["questions"]
    ] == EXPECTED
    names = [[option["name"] for option in q["options"]] for q in document["questions"]]
    assert names == [list(q["options"]) for q in THREE_QUESTIONS]

    election.refresh_from_db()
    assert election.status == Status.PUBLISHED
    assert Result.objects.filter(election=election).count() == 11
    assert Result.objects.filter(election=election, candidate__isnull=True).count() == 2

    page = Client().get(reverse("elections:results", args=[election.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="question-results"') == 3
    assert html.count("<svg") == 3
    assert html.count('data-blank="1"') == 2
    assert "Blank votes" in html

    path = tmp_path / "record.json"
    path.write_text("".join(record.stream_record(election)))
    # The command-line verifier's own entry point, here with the small test key allowed.
    assert verify_main([str(path)]) == 0
    assert "Committee" in capsys.readouterr().out


def test_the_tally_command_prints_a_block_per_question(
    three_questions, five_voters, admin_user, tmp_path
):
    election, key_file = three_questions
    for voter, choice in zip(five_voters, CHOICES, strict=True):
        cast_over_http(election, voter, choice)
    services.close_election(election=election, actor=admin_user)
    key_path = tmp_path / "key.json"
    key_path.write_bytes(key_file)
    out = StringIO()
    call_command("tally", election.slug, "--key", str(key_path), "--quiet", stdout=out)
    text = out.getvalue()
    for heading in ("1. Chair", "2. Adopt the motion?", "3. Committee"):
        assert heading in text
    assert text.count("Blank votes") == 2


def ballot_document(election: Election, voter: User, selections: Sequence[int]) -> dict[str, Any]:
    params = services.election_params(election)
    ballot = crypto.encrypt_ballot(params, services.voter_context(election, voter), selections)
    return json.loads(crypto.ballot_to_json(ballot, params))


def post_document(election: Election, voter: User, document: object):
    return client_for(voter).post(
        reverse("elections:cast", kwargs={"slug": election.slug}),
        data=json.dumps(document),
        content_type="application/json",
    )


def swap_count_proofs(document: dict[str, Any]) -> None:
    first, second = document["questions"][1], document["questions"][2]
    first["count_proof"], second["count_proof"] = second["count_proof"], first["count_proof"]


def swap_option_proofs(document: dict[str, Any]) -> None:
    # Both are yes/no-shaped 0/1 proofs: only their labels tell them apart.
    first, second = document["questions"][0], document["questions"][1]
    first["selection_proofs"][0], second["selection_proofs"][0] = (
        second["selection_proofs"][0],
        first["selection_proofs"][0],
    )


def drop_a_question(document: dict[str, Any]) -> None:
    document["questions"].pop()


def as_version_one(document: dict[str, Any]) -> None:
    question = document.pop("questions")[0]
    document.update(question, format="evoting/ballot/v1")


@pytest.mark.parametrize(
    "tamper", [swap_count_proofs, swap_option_proofs, drop_a_question, as_version_one]
)
def test_a_ballot_rearranged_between_questions_is_refused_and_nothing_changes(
    three_questions, voter, tamper
):
    election, _ = three_questions
    before = list(EncryptedTally.objects.get(election=election).ciphertexts)
    document = ballot_document(election, voter, CHOICES[0])
    tamper(document)
    response = post_document(election, voter, document)
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert not Ballot.objects.filter(election=election).exists()
    assert EncryptedTally.objects.get(election=election).ciphertexts == before


def test_the_python_client_refuses_a_blank_with_a_choice(three_questions, voter):
    election, _ = three_questions
    params = services.election_params(election)
    context = services.voter_context(election, voter)
    with pytest.raises(crypto.ParameterError, match="question 2: a blank vote selects nothing"):
        crypto.encrypt_ballot(params, context, [0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0])
    with pytest.raises(crypto.ParameterError, match="question 3: select between 1 and 2"):
        crypto.encrypt_ballot(params, context, [0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0])


def test_renaming_an_option_changes_the_fingerprint(make_election, admin_user):
    election = make_election("renamed", questions=THREE_QUESTIONS)
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    before = services.election_params(election).fingerprint
    Candidate.objects.filter(election=election, name="Grace").update(name="Grace H.")
    assert services.election_params(election).fingerprint != before
    Candidate.objects.filter(election=election, name="Grace H.").update(name="Grace")
    assert services.election_params(election).fingerprint == before
    Question.objects.filter(election=election, title="Chair").update(allow_blank=True)
    assert services.election_params(election).fingerprint != before


@pytest.mark.parametrize(
    ("arrange", "message"),
    [
        (lambda e: None, "at least one question"),
        (lambda e: Question.objects.create(election=e, position=1, title="Empty"), "no options"),
        (
            lambda e: add_question(e, "Greedy", ("A", "B"), min_selections=1, max_selections=3),
            "allows 3 choices but has 2 options",
        ),
        (
            lambda e: [add_question(e, f"Q{n}", ("Yes", "No")) for n in range(MAX_QUESTIONS + 1)],
            f"1 to {MAX_QUESTIONS} questions",
        ),
        (
            lambda e: [add_question(e, f"Q{n}", [f"O{i}" for i in range(60)]) for n in range(5)],
            "at most 256",
        ),
        (lambda e: add_question(e, "Bad\x07title", ("A",)), "control characters"),
    ],
)
def test_an_election_over_the_limits_does_not_open(make_election, admin_user, arrange, message):
    election = make_election("limits", questions=[])
    arrange(election)
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    with pytest.raises(services.WrongPhase, match=message):
        services.open_election(election=election, actor=admin_user)
    election.refresh_from_db()
    assert election.status == Status.DRAFT
    assert not EncryptedTally.objects.filter(election=election).exists()


def test_a_copy_keeps_the_questions_and_their_rules(three_questions, admin_user):
    election, _ = three_questions
    copy = services.copy_as_draft(election=election, actor=admin_user)
    original = [
        (q.position, q.title, q.min_selections, q.max_selections, q.allow_blank)
        for q in services.ordered_questions(election)
    ]
    copied = [
        (q.position, q.title, q.min_selections, q.max_selections, q.allow_blank)
        for q in services.ordered_questions(copy)
    ]
    assert copied == original
    assert [c.name for c in services.ordered_candidates(copy)] == [
        c.name for c in services.ordered_candidates(election)
    ]


def test_seed_demo_asks_two_questions_and_casts_over_both(db, tmp_path):
    call_command(
        "seed_demo",
        "--voters",
        "6",
        "--cast",
        "6",
        "--bits",
        "1024",
        "--key-out",
        str(tmp_path / "demo.key"),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    election = Election.objects.get(slug="demo")
    questions = services.ordered_questions(election)
    assert [len(q.options.all()) for q in questions] == [4, 2]
    assert (questions[0].allow_blank, questions[1].allow_blank) == (False, True)
    assert EncryptedTally.objects.get(election=election).ballot_count == 6
    assert len(EncryptedTally.objects.get(election=election).ciphertexts) == 7


def test_questions_and_options_cannot_be_reordered_or_removed_once_open(three_questions):
    election, _ = three_questions
    questions = services.ordered_questions(election)
    before = services.election_params(election).fingerprint
    with pytest.raises(services.WrongPhase, match="only change while the election is a draft"):
        services.save_in_order(
            election=election, items=list(reversed(questions[1:])), removed=[questions[0]]
        )
    with pytest.raises(services.WrongPhase):
        options = list(questions[0].options.all())
        services.save_in_order(election=election, items=options[::-1], removed=[])
    assert [q.pk for q in services.ordered_questions(election)] == [q.pk for q in questions]
    assert services.election_params(election).fingerprint == before


def test_save_in_order_renumbers_from_one_and_removes(make_election):
    election = make_election("renumber", candidates=("A", "B", "C", "D"))
    question = election.questions.get()
    a, b, c, d = question.options.order_by("position")
    services.save_in_order(election=election, items=[d, b, a], removed=[c])
    assert list(question.options.order_by("position").values_list("position", "name")) == [
        (1, "D"),
        (2, "B"),
        (3, "A"),
    ]
