"""Election definitions: the example, round trips, every refusal, and the two commands."""

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO, StringIO, TextIOWrapper
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import AuditEntry, Role, User
from elections import services
from elections.definitions import (
    DEFINITION_FORMAT,
    MAX_DEFINITION_BYTES,
    DefinitionError,
    ElectionDefinition,
    OptionDefinition,
    QuestionDefinition,
    definition_of,
    definition_to_json,
    document,
    dump_definition,
    load_definition,
    parse_definition,
)
from elections.models import Candidate, Election, Question, RollMode

EXAMPLE = Path(settings.BASE_DIR) / "docs" / "examples" / "board-election.json"


def rows() -> tuple[int, int, int, int]:
    return (
        Election.objects.count(),
        Question.objects.count(),
        Candidate.objects.count(),
        AuditEntry.objects.filter(action="elections.election.loaded").count(),
    )


def minimal(**fields: Any) -> dict[str, Any]:
    """A small valid definition: one yes/no question."""
    definition: dict[str, Any] = {
        "format": DEFINITION_FORMAT,
        "title": "Annual meeting",
        "questions": [{"title": "Adopt the budget?", "options": [{"name": "Yes"}, {"name": "No"}]}],
    }
    definition.update(fields)
    return definition


def options(count: int) -> list[dict[str, str]]:
    return [{"name": f"Option {number}"} for number in range(1, count + 1)]


def encode(definition: dict[str, Any]) -> bytes:
    return json.dumps(definition).encode()


def refused(definition: bytes | str, admin: User, **kwargs: Any) -> list[str]:
    """Load ``definition``, expect a refusal that creates nothing; the problems as lines."""
    before = rows()
    with pytest.raises(DefinitionError) as caught:
        load_definition(definition=definition, actor=admin, **kwargs)
    assert rows() == before
    return [str(problem) for problem in caught.value.problems]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def board_candidates(make_user) -> list[User]:
    """The candidate accounts the example links to."""
    return [
        make_user("ada_lovelace", Role.CANDIDATE, display_name="Ada Lovelace"),
        make_user("grace_hopper", Role.CANDIDATE, display_name="Grace Hopper"),
    ]


# --- The example of docs/election-definition.md -------------------------------------


def test_the_example_loads_as_a_board_election(db, admin_user, board_candidates):
    election = load_definition(definition=EXAMPLE.read_bytes(), actor=admin_user)

    assert election.slug == "board-2027"
    assert election.is_draft
    assert election.opens_at == datetime(2027, 3, 1, 8, tzinfo=UTC)
    assert election.closes_at == datetime(2027, 3, 8, 17, tzinfo=UTC)
    questions = services.ordered_questions(election)
    assert [q.title for q in questions][:2] == ["Chair", "Treasurer"]
    chair, treasurer, motion = questions
    assert [o.name for o in chair.options.all()] == [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Émilie du Châtelet",
    ]
    assert (chair.min_selections, chair.max_selections, chair.allow_blank) == (1, 1, False)
    assert [o.account for o in chair.options.all()] == [*board_candidates, None, None]
    assert [o.account for o in treasurer.options.all()] == [board_candidates[1], None]
    assert motion.allow_blank
    assert [o.name for o in motion.options.all()] == ["Yes", "No"]
    # Whatever loads can be opened: the ballot format accepts the questions as stored.
    assert services.ballot_problem(election) == ""


def test_the_example_dumps_back_byte_for_byte(db, admin_user, board_candidates):
    election = load_definition(definition=EXAMPLE.read_bytes(), actor=admin_user)

    assert dump_definition(election).encode() == EXAMPLE.read_bytes()


def test_the_documentation_shows_the_example_file():
    text = (EXAMPLE.parent.parent / "election-definition.md").read_text(encoding="utf-8")

    assert f"```json\n{EXAMPLE.read_text(encoding='utf-8')}```" in text


def test_loading_writes_one_audit_entry(db, admin_user, board_candidates):
    election = load_definition(definition=EXAMPLE.read_text(), actor=admin_user)

    entry = AuditEntry.objects.get(action="elections.election.loaded")
    assert entry.actor == admin_user
    assert entry.object_id == str(election.pk)
    assert entry.data["questions"] == 3
    assert entry.data["options"] == 8
    assert entry.data["linked_accounts"] == 3
    assert len(entry.data["sha256"]) == 64


# --- Round trips ------------------------------------------------------------------


@pytest.fixture
def council(make_election, candidate) -> Election:
    """A draft with a schedule, an explicit roll, three questions and a linked account."""
    election = make_election(
        "council-2026",
        questions=[
            {"title": "Chair", "options": ["Ada", "Grace", "Alan"]},
            {
                "title": "Committee",
                "options": ["Edsger", "Barbara", "Donald", "Frances"],
                "min_selections": 0,
                "max_selections": 3,
            },
            {"title": "Adopt the motion?", "options": ["Yes", "No"], "allow_blank": True},
        ],
        description="Two seats.\nOne motion.",
        opens_at=datetime(2030, 5, 1, 7, 30, tzinfo=UTC),
        closes_at=datetime(2030, 5, 2, 18, 0, 0, 250000, tzinfo=UTC),
        roll_mode=RollMode.EXPLICIT,
    )
    Question.objects.filter(election=election, position=2).update(description="Up to three.")
    option = Candidate.objects.get(election=election, name="Grace")
    option.account, option.affiliation, option.statement = candidate, "Compiler Union", "Hi.\nMe."
    option.save()
    return election


def test_load_of_dump_recreates_an_equal_election(db, admin_user, council, candidate):
    loaded = load_definition(definition=dump_definition(council), actor=admin_user, slug="again")

    assert loaded.pk != council.pk
    assert definition_of(loaded) == replace(definition_of(council), slug="again")
    assert Candidate.objects.get(election=loaded, name="Grace").account == candidate
    assert dump_definition(loaded) == dump_definition(council).replace(
        '"slug": "council-2026"', '"slug": "again"'
    )


def test_the_original_slug_must_be_free_to_load_a_dump_again(db, admin_user, council):
    text = dump_definition(council)

    problems = refused(text, admin_user)
    assert problems == ["slug: an election with the identifier 'council-2026' already exists"]

    Election.objects.filter(pk=council.pk).delete()
    assert load_definition(definition=text, actor=admin_user).slug == "council-2026"


def test_parsing_the_dump_gives_the_stored_definition(db, council):
    assert parse_definition(dump_definition(council)) == definition_of(council)


def test_the_dump_is_pretty_and_ends_with_a_newline(db, council):
    text = dump_definition(council)

    assert text.endswith("}\n")
    assert text.startswith('{\n  "format": "evoting/election-definition/v1",\n')
    assert '"closes_at": "2030-05-02T18:00:00.250000Z"' in text


# --- Defaults and conveniences -------------------------------------------------------


def test_a_minimal_definition_takes_the_documented_defaults(db, admin_user):
    election = load_definition(definition=encode(minimal()), actor=admin_user)

    assert election.slug == "annual-meeting"
    assert (election.description, election.opens_at, election.closes_at) == ("", None, None)
    assert election.roll_mode == RollMode.ALL_APPROVED_VOTERS
    question = election.questions.get()
    assert (question.min_selections, question.max_selections, question.allow_blank) == (1, 1, False)
    assert question.description == ""
    assert [(o.affiliation, o.statement, o.account) for o in question.options.all()] == [
        ("", "", None),
        ("", "", None),
    ]


def test_a_derived_slug_is_made_unique(db, admin_user):
    first = load_definition(definition=encode(minimal()), actor=admin_user)
    second = load_definition(definition=encode(minimal()), actor=admin_user)
    third = load_definition(definition=encode(minimal(title="Ωμέγα")), actor=admin_user)

    assert (first.slug, second.slug, third.slug) == (
        "annual-meeting",
        "annual-meeting-2",
        "election",
    )


def test_the_slug_argument_replaces_the_file_slug(db, admin_user):
    election = load_definition(
        definition=encode(minimal(slug="in-file")), actor=admin_user, slug="chosen"
    )
    assert election.slug == "chosen"


def test_text_is_normalised_to_nfc(db, admin_user):
    decomposed = "Zoe\u0308 Mu\u0308ller"
    definition = minimal(title=f"Vote for {decomposed}")
    definition["questions"][0]["options"][0]["name"] = decomposed

    election = load_definition(definition=encode(definition), actor=admin_user)

    assert election.title == "Vote for Zoë Müller"
    assert election.candidates.filter(name="Zoë Müller").exists()
    assert "Zoë Müller" in dump_definition(election)


def test_candidate_usernames_match_as_logins_do(db, admin_user, candidate):
    definition = minimal()
    definition["questions"][0]["options"][0]["candidate"] = "CAROL_Candidate"

    election = load_definition(definition=encode(definition), actor=admin_user)

    assert election.candidates.get(position=1).account == candidate
    assert '"candidate": "carol_candidate"' in dump_definition(election)


def test_the_same_account_may_stand_in_several_questions(db, admin_user, candidate):
    definition = minimal()
    definition["questions"].append(copy.deepcopy(definition["questions"][0]))
    for question in definition["questions"]:
        question["options"][0]["candidate"] = candidate.username

    election = load_definition(definition=encode(definition), actor=admin_user)

    assert election.candidates.filter(account=candidate).count() == 2


def test_a_byte_order_mark_is_skipped(db, admin_user):
    election = load_definition(definition=b"\xef\xbb\xbf" + encode(minimal()), actor=admin_user)
    assert election.title == "Annual meeting"


def test_the_limits_themselves_are_accepted(db, admin_user):
    definition = minimal(title="T" * 200)
    definition["questions"] = [
        {"title": f"Q{number}", "options": options(64), "allow_blank": True}
        for number in range(1, 4)
    ] + [{"title": "Q4", "options": options(61)}]

    election = load_definition(definition=encode(definition), actor=admin_user)

    assert election.candidates.count() == 3 * 64 + 61  # 256 slots with the three blanks


def test_the_size_cap_never_refuses_a_definition_within_the_limits():
    # Every text at its longest, in characters of four UTF-8 bytes.
    def text(length: int, number: int = 0) -> str:
        return f"{number:03}" + "\U0001f5f3" * (length - 3)

    longest = ElectionDefinition(
        slug="s" * 64,
        title=text(200),
        description=text(5000),
        opens_at=datetime(2030, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        closes_at=datetime(2030, 1, 2, 0, 0, 0, 1, tzinfo=UTC),
        questions=tuple(
            QuestionDefinition(
                title=text(200, q),
                description=text(2000, q),
                max_selections=12,
                options=tuple(
                    OptionDefinition(text(120, o), text(120), text(2000), "u" * 150)
                    for o in range(13 if q < 16 else 12)
                ),
            )
            for q in range(20)  # 16 x 13 + 4 x 12 = 256 slots
        ),
    )
    dumped = definition_to_json(longest).encode()

    assert len(dumped) < 3_000_000 < MAX_DEFINITION_BYTES, len(dumped)
    assert parse_definition(dumped) == longest


def test_the_size_constants_match_the_model_fields():
    def max_length(model: Any, name: str) -> Any:
        return model._meta.get_field(name).max_length

    assert max_length(Election, "description") == document.MAX_ELECTION_DESCRIPTION_LENGTH
    assert max_length(Candidate, "statement") == document.MAX_STATEMENT_LENGTH
    assert max_length(Election, "slug") == document.MAX_SLUG_LENGTH
    assert max_length(User, "username") == document.MAX_USERNAME_LENGTH


# --- Refusals: each names the path, and nothing is created ------------------------


def _question(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        definition["questions"][0].update(fields)

    return change


def _option(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        definition["questions"][0]["options"][0].update(fields)

    return change


def _top(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        definition.update(fields)

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        del definition[key]

    return change


def _many_questions(count: int, per_question: int) -> Callable[[dict[str, Any]], None]:
    def change(definition: dict[str, Any]) -> None:
        definition["questions"] = [
            {"title": f"Q{number}", "options": options(per_question)} for number in range(count)
        ]

    return change


BAD_DEFINITIONS = {
    "a number for a string": (_top(title=5), "title: expected a string, got the number 5"),
    "null for a string": (_option(name=None), "questions[0].options[0].name: expected a string"),
    "a float bound": (
        _question(max_selections=1.0),
        "questions[0].max_selections: expected an integer, got the number 1.0",
    ),
    "an exponent bound": (
        _question(min_selections=1e0),
        "questions[0].min_selections: expected an integer, got the number 1.0",
    ),
    "a boolean bound": (
        _question(min_selections=True),
        "questions[0].min_selections: expected an integer, got true",
    ),
    "a string bound": (
        _question(max_selections="1"),
        "questions[0].max_selections: expected an integer, got the string '1'",
    ),
    "a number for a boolean": (
        _question(allow_blank=1),
        "questions[0].allow_blank: expected true or false, got the number 1",
    ),
    "min above max": (
        _question(min_selections=2, max_selections=1),
        "questions[0].min_selections: 2 is more than max_selections (1)",
    ),
    "max above the options": (
        _question(max_selections=3),
        "questions[0].max_selections: 3, but the question has 2 option(s)",
    ),
    "max zero": (
        _question(min_selections=0, max_selections=0),
        "questions[0].max_selections: must be at least 1, not 0",
    ),
    "negative min": (
        _question(min_selections=-1),
        "questions[0].min_selections: must be at least 0, not -1",
    ),
    "an unknown key": (
        _question(titel="Budget"),
        "questions[0]: unknown key 'titel' (did you mean 'title'?)",
    ),
    "an unknown top-level key": (_top(voters=["x"]), "file: unknown key 'voters'"),
    "a missing title": (_drop("title"), "title: is required"),
    "a missing format": (_drop("format"), "format: is required"),
    "a blank title": (_top(title="   "), "title: must not be empty"),
    "a long title": (_top(title="x" * 201), "title: at most 200 characters"),
    "no questions": (_top(questions=[]), "questions: an election needs at least one question"),
    "questions not an array": (_top(questions={}), "questions: expected an array, got an object"),
    "empty options": (
        _question(options=[]),
        "questions[0].options: a question needs at least one option",
    ),
    "an option not an object": (
        _question(options=["Yes", {"name": "No"}]),
        "questions[0].options[0]: expected an object, got the string 'Yes'",
    ),
    "too many questions": (_many_questions(21, 2), "questions: 21 questions; at most 20"),
    "too many options": (
        _question(options=options(65)),
        "questions[0].options: 65 options; at most 64",
    ),
    "too many slots": (
        _many_questions(5, 60),
        "questions: 300 options and blank votes in all; at most 256",
    ),
    "closing before opening": (
        _top(opens_at="2030-05-02T10:00:00+02:00", closes_at="2030-05-02T07:59:59Z"),
        "closes_at: must be later than opens_at",
    ),
    "closing when opening": (
        _top(opens_at="2030-05-02T10:00:00+02:00", closes_at="2030-05-02T08:00:00Z"),
        "closes_at: must be later than opens_at",
    ),
    "a time without zone": (
        _top(opens_at="2030-05-02T10:00:00"),
        "opens_at: '2030-05-02T10:00:00' has no time zone",
    ),
    "a date that is no date": (
        _top(closes_at="next Tuesday"),
        "closes_at: 'next Tuesday' is not an ISO 8601 date and time",
    ),
    "a time as a number": (_top(opens_at=1893456000), "opens_at: expected a date and time"),
    "an unknown roll mode": (
        _top(roll_mode="everyone"),
        "roll_mode: must be 'all' or 'explicit', not the string 'everyone'",
    ),
    "a slug with spaces": (_top(slug="board 2027"), "slug: 'board 2027' is not an identifier"),
    "a long slug": (_top(slug="b" * 65), "slug: at most 64 characters"),
    "a control character in a label": (
        _option(name="Ada\u0007"),
        "questions[0].options[0].name: control characters and lone surrogates are not allowed",
    ),
    "a tab in a title": (
        _question(title="Budget\t2027"),
        "questions[0].title: control characters and lone surrogates are not allowed",
    ),
    "a line feed in a name": (
        _option(name="Ada\nLovelace"),
        "questions[0].options[0].name: control characters and lone surrogates are not allowed",
    ),
    "a lone surrogate": (
        _option(affiliation="\ud800"),
        "questions[0].options[0].affiliation: control characters and lone surrogates",
    ),
    "a long statement": (
        _option(statement="s" * 2001),
        "questions[0].options[0].statement: at most 2000 characters",
    ),
    "two identical options": (
        _question(options=[{"name": "Yes"}, {"name": "Yes"}]),
        "questions[0].options[1]: same name and affiliation as options[0]",
    ),
    "a number for a username": (
        _option(candidate=7),
        "questions[0].options[0].candidate: expected a username",
    ),
    "another format": (
        _top(format="evoting/election-definition/v2"),
        "format: the string 'evoting/election-definition/v2' is not a format this site reads",
    ),
}


@pytest.mark.parametrize("change, expected", BAD_DEFINITIONS.values(), ids=BAD_DEFINITIONS)
def test_a_bad_definition_is_refused_with_its_path(db, admin_user, change, expected):
    definition = minimal()
    change(definition)

    problems = refused(encode(definition), admin_user)

    assert any(line.startswith(expected) for line in problems), problems


BAD_FILES = {
    "not JSON": (
        b'{"title": "x",}',
        "file: not valid JSON: Expecting property name enclosed in double quotes "
        "(line 1, column 15)",
    ),
    "not UTF-8": (b'{"title": "Caf\xe9"}', "file: not UTF-8 text (byte 14, line 1)"),
    "not an object": (b'["title"]', "file: expected an object, got an array"),
    "empty": (b"", "file: not valid JSON: Expecting value (line 1, column 1)"),
    "NaN": (
        encode(minimal()).replace(b'"Annual meeting"', b"NaN"),
        "title: expected a string, got the number NaN",
    ),
    "a 5,000-digit number": (
        encode(minimal()).replace(
            b'"title": "Adopt', b'"max_selections": 1%s, "title": "Adopt' % (b"0" * 4999)
        ),
        "questions[0].max_selections: expected an integer, got the number 10000000000000000000...",
    ),
    "nested too deeply": (b"[" * 100_000, "file: not valid JSON: nested too deeply"),
    "a duplicate key": (
        encode(minimal()).replace(b'"title": "Annual meeting"', b'"title": "A", "title": "B"'),
        "file: the key 'title' appears more than once",
    ),
    "over the size cap": (
        encode(minimal(description=" " * MAX_DEFINITION_BYTES)),
        "file: larger than 4 MiB",
    ),
}


@pytest.mark.parametrize("raw, expected", BAD_FILES.values(), ids=BAD_FILES)
def test_a_bad_file_is_refused_with_a_clear_message(db, admin_user, raw, expected):
    assert expected in refused(raw, admin_user)


def test_text_over_the_size_cap_is_refused_before_decoding(db, admin_user):
    # Two bytes per character in UTF-8: under the cap in characters, over it in bytes.
    text = json.dumps(minimal(description="é" * (MAX_DEFINITION_BYTES // 2)), ensure_ascii=False)

    assert refused(text, admin_user) == ["file: larger than 4 MiB"]


def test_a_duplicate_slug_is_refused(db, admin_user, draft_election):
    problems = refused(encode(minimal(slug=draft_election.slug)), admin_user)
    assert problems == ["slug: an election with the identifier 'council-2026' already exists"]


def test_a_taken_or_invalid_slug_argument_is_refused(db, admin_user, draft_election):
    assert refused(encode(minimal()), admin_user, slug=draft_election.slug) == [
        "slug: an election with the identifier 'council-2026' already exists"
    ]
    assert refused(encode(minimal()), admin_user, slug="no/slashes") == [
        "slug: 'no/slashes' is not an identifier: use letters, digits, hyphens, underscores"
    ]


@pytest.mark.parametrize(
    "persona, expected",
    [
        (None, "no account has the username 'nobody'"),
        ("pending_candidate", "the candidate account 'peter_pending' is not approved yet"),
        ("voter", "the account 'victor_voter' is not a candidate (its role is voter)"),
        ("admin_user", "the account 'alice_admin' is not a candidate (its role is administrator)"),
    ],
)
def test_a_candidate_link_must_name_an_approved_candidate(
    db, request, admin_user, persona, expected
):
    username = request.getfixturevalue(persona).username if persona else "nobody"

    problems = refused(encode(minimal(questions=[linked_question(username)])), admin_user)

    assert problems == [f"questions[0].options[0].candidate: {expected}"]


def linked_question(*usernames: str) -> dict[str, Any]:
    return {
        "title": "Chair",
        "options": [
            {"name": f"Candidate {number}", "candidate": username}
            for number, username in enumerate(usernames)
        ],
    }


def test_an_account_is_linked_once_per_question(db, admin_user, candidate):
    question = linked_question(candidate.username, candidate.username.upper())

    problems = refused(encode(minimal(questions=[question])), admin_user)

    assert problems == [
        "questions[0].options[1].candidate: already linked to options[0] of this question"
    ]


def test_every_problem_is_listed_at_once(db, admin_user, draft_election, voter):
    definition = minimal(slug=draft_election.slug, opens_at="tomorrow", colour="blue")
    del definition["title"]
    definition["questions"].append(
        {
            "title": "Committee",
            "min_selections": 2.5,
            "max_selections": 5,
            "options": [{"name": "A", "candidate": "ghost"}, {"name": "B\u0000"}],
        }
    )
    definition["questions"][0]["options"][1]["candidate"] = voter.username

    problems = refused(encode(definition), admin_user)

    assert problems == [
        "file: unknown key 'colour'",
        "title: is required",
        "opens_at: 'tomorrow' is not an ISO 8601 date and time such as \"2027-03-01T09:00:00Z\"",
        "questions[1].min_selections: expected an integer, got the number 2.5",
        "questions[1].options[1].name: control characters and lone surrogates are not allowed",
        "questions[1].max_selections: 5, but the question has 2 option(s)",
        "slug: an election with the identifier 'council-2026' already exists",
        "questions[0].options[1].candidate: "
        "the account 'victor_voter' is not a candidate (its role is voter)",
        "questions[1].options[0].candidate: no account has the username 'ghost'",
    ]


def test_a_flood_of_problems_is_counted_beyond_the_first_hundred(db, admin_user):
    definition = minimal()
    definition["questions"][0]["options"] = [1] * 250

    with pytest.raises(DefinitionError) as caught:
        load_definition(definition=encode(definition), actor=admin_user)

    assert len(caught.value.problems) == 100
    assert caught.value.unlisted == 151  # 250 options not objects, and too many of them
    assert str(caught.value).endswith("... and 151 more.")


def test_messages_escape_what_cannot_be_printed(db, admin_user):
    definition = minimal()
    definition["\u0007\ud800"] = 1

    assert refused(encode(definition), admin_user) == ["file: unknown key '\\x07\\ud800'"]


# --- Commands ---------------------------------------------------------------------


def test_load_election_prints_the_slug_and_a_summary(db, tmp_path, board_candidates):
    path = tmp_path / "board.json"
    path.write_bytes(EXAMPLE.read_bytes())

    output = run("load_election", str(path))

    assert output.splitlines() == [
        "Created the draft 'board-2027': 3 question(s), 8 option(s).",
        "  1. Chair: 4 options, choose 1",
        "  2. Treasurer: 2 options, choose 1",
        "  3. Do you adopt the motion to amend article 7 of the statutes?: 2 options, choose 1, "
        "blank allowed",
    ]
    assert Election.objects.get(slug="board-2027").questions.count() == 3


def test_load_election_takes_a_slug_and_says_when_the_roll_is_empty(db, tmp_path):
    path = tmp_path / "meeting.json"
    path.write_bytes(encode(minimal(roll_mode="explicit")))

    output = run("load_election", str(path), "--slug", "meeting")

    assert output.splitlines()[:2] == [
        "Created the draft 'meeting': 1 question(s), 2 option(s).",
        "  1. Adopt the budget?: 2 options, choose 1",
    ]
    assert "explicit and empty" in output


def test_load_election_reads_standard_input(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", TextIOWrapper(BytesIO(encode(minimal()))))

    assert run("load_election", "-").startswith("Created the draft 'annual-meeting'")


def test_load_election_lists_every_problem_one_per_line(db, tmp_path):
    definition = minimal(title=7)
    definition["questions"][0]["max_selections"] = 0
    path = tmp_path / "bad.json"
    path.write_bytes(encode(definition))

    with pytest.raises(CommandError) as caught:
        run("load_election", str(path))

    assert str(caught.value).splitlines() == [
        f"{path} was refused; nothing was created.",
        "  title: expected a string, got the number 7",
        "  questions[0].max_selections: must be at least 1, not 0",
    ]
    assert Election.objects.count() == 0


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"\xff\xfe{}", "  file: not UTF-8 text (byte 0, line 1)"),
        (b"{", "  file: not valid JSON: Expecting property name enclosed in double quotes"),
        (b" " * (MAX_DEFINITION_BYTES + 10), "  file: larger than 4 MiB"),
    ],
)
def test_load_election_refuses_a_file_that_is_no_definition(db, tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_bytes(content)

    with pytest.raises(CommandError) as caught:
        run("load_election", str(path))

    assert str(caught.value).splitlines()[1].startswith(expected)


def test_load_election_refuses_a_missing_file_and_a_taken_slug(db, tmp_path, draft_election):
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.json: No such file"):
        run("load_election", str(tmp_path / "missing.json"))
    path = tmp_path / "meeting.json"
    path.write_bytes(encode(minimal()))
    with pytest.raises(CommandError, match="'council-2026' already exists"):
        run("load_election", str(path), "--slug", draft_election.slug)


def test_dump_election_writes_the_definition_to_stdout(db, council):
    assert run("dump_election", council.slug) == dump_definition(council)


def test_dump_election_writes_a_file_that_loads_again(db, council, tmp_path):
    path = tmp_path / "council.json"

    output = run("dump_election", council.slug, "--out", str(path))

    assert output.startswith(f"Wrote the definition of 'council-2026' to {path}")
    assert path.read_text(encoding="utf-8") == dump_definition(council)
    run("load_election", str(path), "--slug", "council-2031")
    loaded = Election.objects.get(slug="council-2031")
    assert definition_of(loaded) == replace(definition_of(council), slug="council-2031")


def test_dump_election_refuses_an_unknown_election(db):
    with pytest.raises(CommandError, match="No election has the identifier 'nope'"):
        run("dump_election", "nope")
