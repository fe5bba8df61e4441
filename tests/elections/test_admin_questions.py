"""Questions and options in the admin: inline, numbered by themselves, editable in a draft only."""

from django.urls import reverse

from accounts.models import AuditEntry
from elections import services
from elections.models import Election, Question

from .conftest import add_question


def formset(prefix: str, rows: list[dict[str, str]], initial: int) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def election_fields(election: Election, **changes: str) -> dict[str, str]:
    data = {
        "title": election.title,
        "slug": election.slug,
        "description": election.description,
        "roll_mode": election.roll_mode,
        "opens_at_0": "",
        "opens_at_1": "",
        "closes_at_0": "",
        "closes_at_1": "",
        "ballot_boxes": str(election.ballot_boxes),
    }
    data.update(changes)
    return data


def question_row(question: Question | None = None, **values: str) -> dict[str, str]:
    row = {
        "position": "",
        "title": "",
        "description": "",
        "min_selections": "1",
        "max_selections": "1",
    }
    if question is not None:
        row.update(
            id=str(question.pk),
            election=str(question.election_id),
            position=str(question.position),
            title=question.title,
            min_selections=str(question.min_selections),
            max_selections=str(question.max_selections),
        )
        if question.allow_blank:
            row["allow_blank"] = "on"
    row.update(values)
    return row


def titles(election: Election) -> list[tuple[int, str]]:
    return list(election.questions.order_by("position").values_list("position", "title"))


def test_questions_are_added_inline_and_numbered_by_themselves(
    login_as, admin_user, draft_election
):
    (existing,) = draft_election.questions.all()
    client = login_as(admin_user)
    url = reverse("admin:elections_election_change", args=[draft_election.pk])
    rows = [
        question_row(existing),
        question_row(title="Treasurer"),
        question_row(title="Adopt the motion?", allow_blank="on"),
    ]
    response = client.post(
        url, {**election_fields(draft_election), **formset("questions", rows, 1)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert titles(draft_election) == [
        (1, "Who should be elected?"),
        (2, "Treasurer"),
        (3, "Adopt the motion?"),
    ]
    assert draft_election.questions.get(position=3).allow_blank
    assert AuditEntry.objects.filter(action="elections.questions.changed").exists()


def test_questions_are_reordered_by_their_numbers(login_as, admin_user, make_election):
    election = make_election(
        "reorder",
        questions=[
            {"title": "First", "options": ("A",)},
            {"title": "Second", "options": ("B",)},
            {"title": "Third", "options": ("C",)},
        ],
    )
    first, second, third = election.questions.order_by("position")
    client = login_as(admin_user)
    url = reverse("admin:elections_election_change", args=[election.pk])
    rows = [
        question_row(first, position="3"),
        question_row(second, position="7"),
        question_row(third, position="1"),
    ]
    response = client.post(url, {**election_fields(election), **formset("questions", rows, 3)})
    assert response.status_code == 302
    assert titles(election) == [(1, "Third"), (2, "First"), (3, "Second")]


def test_options_are_edited_on_the_question_page(login_as, admin_user, draft_election, candidate):
    question = draft_election.questions.get()
    client = login_as(admin_user)
    election_page = client.get(reverse("admin:elections_election_change", args=[draft_election.pk]))
    question_url = reverse("admin:elections_question_change", args=[question.pk])
    assert question_url in election_page.content.decode()

    options = [
        {
            "id": str(option.pk),
            "question": str(question.pk),
            "position": str(option.position),
            "name": option.name,
            "affiliation": "",
            "statement": "",
            "account": "",
        }
        for option in question.options.order_by("position")
    ]
    options[0]["position"] = "9"  # Ada goes last
    options.append({"position": "", "name": "", "account": str(candidate.pk)})
    data = {
        "position": str(question.position),
        "title": question.title,
        "description": "",
        "min_selections": "1",
        "max_selections": "2",
        **formset("options", options, 3),
    }
    response = client.post(question_url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    names = list(question.options.order_by("position").values_list("position", "name"))
    assert names == [(1, "Grace"), (2, "Alan"), (3, "Ada"), (4, "Carol C.")]
    assert question.options.get(position=4).election_id == draft_election.pk
    question.refresh_from_db()
    assert question.max_selections == 2


def test_questions_and_options_are_fixed_once_the_election_opens(
    login_as, admin_user, open_election
):
    election = open_election.election
    question = election.questions.get()
    client = login_as(admin_user)
    page = client.get(reverse("admin:elections_election_change", args=[election.pk]))
    assert 'name="questions-0-title"' not in page.content.decode()
    question_url = reverse("admin:elections_question_change", args=[question.pk])
    response = client.post(
        question_url,
        {"position": "1", "title": "Changed", "min_selections": "1", "max_selections": "1"},
    )
    assert response.status_code == 403
    question.refresh_from_db()
    assert question.title == "Who should be elected?"
    # The title is in the fingerprint every proof is bound to: it is fixed too.
    response = client.post(
        reverse("admin:elections_election_change", args=[election.pk]),
        {**election_fields(election, title="Renamed"), **formset("questions", [], 0)},
    )
    election.refresh_from_db()
    assert election.title != "Renamed"


def test_a_question_that_breaks_its_rule_is_reported_when_opening(
    login_as, admin_user, make_election
):
    election = make_election("greedy", questions=[])
    add_question(election, "Greedy", ("A", "B"), max_selections=3)
    client = login_as(admin_user)
    services.generate_keys(election=election, actor=admin_user, bits=1024)
    response = client.post(
        reverse("admin:elections_election_changelist"),
        {"action": "open_selected", "_selected_action": [str(election.pk)], "post": "yes"},
        follow=True,
    )
    assert "allows 3 choices but has 2 options" in response.content.decode()
    election.refresh_from_db()
    assert election.is_draft


def test_labels_typed_decomposed_are_stored_in_nfc(login_as, admin_user, draft_election):
    question = draft_election.questions.get()
    client = login_as(admin_user)
    url = reverse("admin:elections_election_change", args=[draft_election.pk])
    decomposed = "Zoe\u0308 and the Ho\u0302tel"  # e + combining diaeresis, o + circumflex
    data = {
        **election_fields(draft_election, title="E\u0301lection"),
        **formset("questions", [question_row(question, title=decomposed)], 1),
    }
    assert client.post(url, data).status_code == 302
    draft_election.refresh_from_db()
    question.refresh_from_db()
    assert draft_election.title == "\u00c9lection"
    assert question.title == "Zo\u00eb and the H\u00f4tel"
    services.generate_keys(election=draft_election, actor=admin_user, bits=1024)
    services.open_election(election=draft_election, actor=admin_user)


def test_the_election_page_shows_the_id_the_trustees_ceremony_needs(
    login_as, admin_user, draft_election
):
    client = login_as(admin_user)
    page = client.get(reverse("admin:elections_election_change", args=[draft_election.pk]))
    assert "Election id (for the trustees" in page.content.decode()
    assert str(draft_election.pk) in page.content.decode()
