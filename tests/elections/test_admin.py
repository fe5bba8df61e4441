"""Election administration: confirmations, downloads, uploads, read-only records, refusals."""

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditEntry, Role
from elections import services
from elections.admin import ROLL_SESSION_KEY
from elections.models import (
    Ballot,
    Candidate,
    Election,
    EncryptedTally,
    Result,
    RollEntry,
    RollMode,
    Status,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:elections_election_changelist"


def act(client, name, elections, **extra):
    data = {"action": name, "_selected_action": [str(e.pk) for e in elections], **extra}
    return client.post(reverse(CHANGELIST), data)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def staff_without_rights(make_user):
    """An administrator with staff status but no model permissions."""
    return make_user("stan_staff", Role.ADMINISTRATOR, is_superuser=False)


@pytest.fixture
def voted(open_election, make_user, ballot_for):
    election = open_election.election
    for number, choice in enumerate(([1, 0, 0], [0, 0, 1], [0, 0, 1])):
        voter = make_user(f"voter_{number}")
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, choice)
        )
    return open_election


@pytest.fixture
def closed(voted):
    services.close_election(election=voted.election, actor=None)
    return voted


def all_stored_text() -> str:
    """Every text column of the rows that could leak a key, as one string."""
    parts: list[str] = []
    for model in (Ballot, Election, AuditEntry, Candidate, EncryptedTally, Result):
        for row in model.objects.values():
            parts.extend(str(value) for value in row.values())
    return "\n".join(parts)


# --- Lists and access ---------------------------------------------------------------


def test_changelist_shows_turnout_and_searches(login_as, admin_user, voted, make_election):
    make_election(slug="spring-vote")
    client = login_as(admin_user)
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "Turnout" in page and voted.election.slug in page and "spring-vote" in page
    assert '<td class="field-turnout">3</td>' in page
    found = client.get(reverse(CHANGELIST), {"q": "spring"}).content.decode()
    assert "spring-vote" in found and voted.election.slug not in found
    opened = client.get(reverse(CHANGELIST), {"status__exact": "open"}).content.decode()
    assert voted.election.slug in opened and "spring-vote" not in opened


def test_voters_and_candidates_cannot_reach_the_admin(login_as, voter, candidate, draft_election):
    urls = [
        reverse(CHANGELIST),
        reverse("admin:elections_election_trustee_key", args=[draft_election.pk]),
        reverse("admin:elections_election_import_voters", args=[draft_election.pk]),
        reverse("admin:elections_ballot_changelist"),
    ]
    for user in (voter, candidate):
        client = login_as(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 302 and "/login/" in response["Location"]
        act(client, "open_selected", [draft_election], post="yes")
    draft_election.refresh_from_db()
    assert draft_election.status == Status.DRAFT


def test_staff_without_permissions_is_refused(login_as, staff_without_rights, closed):
    client = login_as(staff_without_rights)
    election = closed.election
    assert client.get(reverse(CHANGELIST)).status_code == 403
    for name in ("trustee_key", "partial", "publish_trustees", "import_voters"):
        url = reverse(f"admin:elections_election_{name}", args=[election.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {}).status_code == 403
    assert act(client, "reset_election", [election], post="yes").status_code == 403
    election.refresh_from_db()
    assert election.status == Status.CLOSED


# --- Open and close ---------------------------------------------------------------


def test_open_asks_for_confirmation_then_opens(login_as, admin_user, make_election):
    ready = make_election(slug="ready")
    services.generate_keys(election=ready, actor=admin_user, bits=1024)
    keyless = make_election(slug="keyless")
    client = login_as(admin_user)
    response = act(client, "open_selected", [ready, keyless])
    assert response.status_code == 200 and b"Open elections?" in response.content
    ready.refresh_from_db()
    assert ready.status == Status.DRAFT
    response = act(client, "open_selected", [ready, keyless], post="yes")
    assert response.status_code == 302
    notes = messages_of(response)
    assert "Opened 1 election." in notes
    assert any("keyless: Generate the election's key" in note for note in notes)
    ready.refresh_from_db()
    keyless.refresh_from_db()
    assert ready.status == Status.OPEN and keyless.status == Status.DRAFT
    entry = AuditEntry.objects.get(action="elections.election.opened")
    assert entry.actor == admin_user and entry.object_id == str(ready.pk)


def test_close_asks_for_confirmation_then_closes(login_as, admin_user, voted):
    client = login_as(admin_user)
    assert b"Close elections?" in act(client, "close_selected", [voted.election]).content
    response = act(client, "close_selected", [voted.election], post="yes")
    assert "Closed 1 election." in messages_of(response)
    voted.election.refresh_from_db()
    assert voted.election.status == Status.CLOSED
    assert AuditEntry.objects.filter(action="elections.election.closed").count() == 1


# --- Keys ---------------------------------------------------------------


def test_generate_keys_leads_to_the_ceremony_page_and_makes_no_key(
    login_as, admin_user, draft_election
):
    client = login_as(admin_user)
    ceremony = reverse("admin:elections_election_trustee_key", args=[draft_election.pk])
    for post in ({}, {"post": "yes", "bits": "1024"}):
        response = act(client, "generate_keys", [draft_election], **post)
        assert response.status_code == 302 and response["Location"] == ceremony
    draft_election.refresh_from_db()
    assert not draft_election.has_key and not draft_election.trustee_key
    page = client.get(ceremony).content.decode()
    assert 'id="ceremony"' in page and f'data-election-id="{draft_election.pk}"' in page
    assert "elections/js/ceremony-worker.js" in page and "elections/js/ceremony.js" in page
    assert "The shares never leave this browser" in page
    # The sizes offered are the site's: none below its minimum.
    assert '<option value="1024"' in page and '<option value="3072" selected>' in page


def test_generate_keys_refuses_open_elections_and_needs_one(
    login_as, admin_user, open_election, make_election
):
    client = login_as(admin_user)
    response = act(client, "generate_keys", [open_election.election], post="yes")
    assert response.status_code == 302
    assert "Keys can only be generated for a draft." in messages_of(response)
    elections = [make_election(slug="one"), make_election(slug="two")]
    response = act(client, "generate_keys", elections, post="yes")
    assert "Select exactly one election for this action." in messages_of(response)


# --- Decrypt ---------------------------------------------------------------


def test_no_admin_page_takes_a_private_key(login_as, admin_user, closed):
    """A single-key election is decrypted on the command line only, where its key file is."""
    client = login_as(admin_user)
    response = act(client, "decrypt_and_publish", [closed.election], post="yes")
    assert response.status_code == 302
    assert "no page of the site accepts" in " ".join(messages_of(response))
    assert client.post(
        f"/admin/elections/election/{closed.election.pk}/decrypt/",
        {"key_file": SimpleUploadedFile("k.json", closed.key_file)},
    ).status_code in (302, 404)
    closed.election.refresh_from_db()
    assert closed.election.status == Status.CLOSED
    assert not Result.objects.exists()
    # Its change page offers no decryption, and shows.
    page = client.get(f"/admin/elections/election/{closed.election.pk}/change/")
    assert page.status_code == 200
    assert b"Decrypt and publish" not in page.content


# --- Reset ---------------------------------------------------------------


def test_reset_requires_typing_the_slug(login_as, admin_user, voted, make_election):
    other = make_election(slug="other")
    client = login_as(admin_user)
    page = act(client, "reset_election", [voted.election])
    assert page.status_code == 200 and b"permanently deletes its 3 ballots" in page.content
    wrong = act(client, "reset_election", [voted.election], post="yes", confirm="other")
    assert wrong.status_code == 400
    assert Ballot.objects.filter(election=voted.election).count() == 3
    response = act(
        client, "reset_election", [voted.election], post="yes", confirm=voted.election.slug
    )
    assert response.status_code == 302
    assert f"Reset 1 election ({voted.election.slug}); deleted 3 ballots." in messages_of(response)
    voted.election.refresh_from_db()
    assert voted.election.status == Status.DRAFT and not Ballot.objects.exists()
    other.refresh_from_db()
    assert other.status == Status.DRAFT and other.candidates.count() == 3
    assert AuditEntry.objects.get(action="elections.election.reset").actor == admin_user


# --- Editing an election ---------------------------------------------------------------


def inline_data(parent, rows, prefix, fk):
    """The formset of an inline of ``parent`` (``fk`` names the foreign key to it)."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(sum(1 for r in rows if "id" in r)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
        data[f"{prefix}-{index}-{fk}"] = str(parent.pk)
    return data


def question_fields(question, **changes):
    data = {
        "position": str(question.position),
        "title": question.title,
        "description": question.description,
        "min_selections": str(question.min_selections),
        "max_selections": str(question.max_selections),
    }
    if question.allow_blank:
        data["allow_blank"] = "on"
    data.update(changes)
    return data


def existing_questions(election):
    return [
        {"id": str(q.pk), **question_fields(q)} for q in election.questions.order_by("position")
    ]


def election_data(election, questions=None, **changes):
    """The election page's form: its fields and its questions inline."""
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
    if election.allow_revoting:
        data["allow_revoting"] = "on"
    data.update(changes)
    rows = existing_questions(election) if questions is None else questions
    return {**data, **inline_data(election, rows, "questions", "election")}


def existing_options(question):
    return [
        {"id": str(c.pk), "position": str(c.position), "name": c.name, "account": ""}
        for c in question.options.order_by("position")
    ]


def question_data(question, options, **changes):
    """The question page's form: its fields and its options inline."""
    return {
        **question_fields(question, **changes),
        **inline_data(question, options, "options", "question"),
    }


def question_url(question) -> str:
    return reverse("admin:elections_question_change", args=[question.pk])


def test_candidate_linked_to_an_account_takes_its_public_name(
    login_as, admin_user, draft_election, candidate, pending_candidate
):
    client = login_as(admin_user)
    question = draft_election.questions.get()
    url = question_url(question)
    rows = [*existing_options(question), {"position": "4", "name": "", "account": ""}]
    refused = client.post(url, question_data(question, rows))
    assert refused.status_code == 200 and b"Give a name or link" in refused.content
    rows[-1]["account"] = str(pending_candidate.pk)
    refused = client.post(url, question_data(question, rows))
    assert b"Select a valid choice" in refused.content  # unapproved candidates are not offered
    assert question.options.count() == 3
    rows[-1]["account"] = str(candidate.pk)
    response = client.post(url, question_data(question, rows))
    assert response.status_code == 302
    added = question.options.get(position=4)
    assert added.name == "Carol C." and added.account == candidate
    assert added.election == draft_election
    assert AuditEntry.objects.filter(action="elections.questions.changed").exists()


def test_candidate_positions_start_at_one(login_as, admin_user, draft_election):
    client = login_as(admin_user)
    question = draft_election.questions.get()
    rows = [*existing_options(question), {"position": "0", "name": "Zed", "account": ""}]
    refused = client.post(question_url(question), question_data(question, rows))
    assert refused.status_code == 200
    assert b"greater than or equal to 1" in refused.content
    assert not draft_election.candidates.filter(name="Zed").exists()
    # The same for a question added on the election's page.
    url = reverse("admin:elections_election_change", args=[draft_election.pk])
    rows = [*existing_questions(draft_election), {"position": "0", "title": "Treasurer"}]
    rows[-1] |= {"description": "", "min_selections": "1", "max_selections": "1"}
    refused = client.post(url, election_data(draft_election, questions=rows))
    assert refused.status_code == 200
    assert b"greater than or equal to 1" in refused.content
    assert not draft_election.questions.filter(title="Treasurer").exists()


def test_only_the_description_changes_once_open(login_as, admin_user, open_election):
    election = open_election.election
    fingerprint = services.election_params(election).fingerprint
    question = election.questions.get()
    client = login_as(admin_user)
    url = reverse("admin:elections_election_change", args=[election.pk])
    page = client.get(url).content.decode()
    assert 'name="description"' in page
    assert 'name="slug"' not in page and 'name="title"' not in page
    assert (
        'name="questions-0-title"' not in page and 'name="questions-0-max_selections"' not in page
    )
    questions = existing_questions(election)
    questions[0] |= {"title": "Changed", "max_selections": "3"}
    data = election_data(
        election, questions, title="New title", slug="new-slug", description="New description"
    )
    response = client.post(url, data)
    assert response.status_code == 302
    election.refresh_from_db()
    assert election.description == "New description"
    assert election.title == "Election council-2026" and election.slug == "council-2026"
    question.refresh_from_db()
    assert (question.title, question.max_selections) == ("Who should be elected?", 1)
    # The question's own page is read-only too: its options stay as they were.
    options = existing_options(question)
    options[0]["name"] = "Changed"
    refused = client.post(question_url(question), question_data(question, options, title="New"))
    assert refused.status_code == 403
    assert question.options.get(position=1).name == "Ada"
    assert services.election_params(Election.objects.get(pk=election.pk)).fingerprint == (
        fingerprint
    )


def test_a_draft_election_can_be_deleted_but_not_an_opened_one(
    login_as, admin_user, open_election, make_election
):
    draft = make_election(slug="scrap")
    client = login_as(admin_user)
    opened = reverse("admin:elections_election_delete", args=[open_election.election.pk])
    assert client.post(opened, {"post": "yes"}).status_code == 403
    response = client.post(
        reverse("admin:elections_election_delete", args=[draft.pk]), {"post": "yes"}
    )
    assert response.status_code == 302 and not Election.objects.filter(pk=draft.pk).exists()
    assert Election.objects.filter(pk=open_election.election.pk).exists()


# --- Roll import ---------------------------------------------------------------


def import_url(election) -> str:
    return reverse("admin:elections_election_import_voters", args=[election.pk])


def csv_upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("roll.csv", text.encode(), content_type="text/csv")


def test_roll_upload_preview_then_confirm(login_as, admin_user, draft_election, voter):
    client = login_as(admin_user)
    url = import_url(draft_election)
    assert client.get(url).status_code == 200
    text = f"username,email\nnew_one,new.one@example.org\n{voter.username},{voter.email}\n"
    preview = client.post(url, {"csv_file": csv_upload(text)})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "1 new voter account would be created" in page and "new_one" in page
    assert "Import these voters" in page
    assert not draft_election.roll.exists() and not mail.outbox
    digest = client.session[ROLL_SESSION_KEY]["digest"]
    response = client.post(url, {"confirm": digest})
    assert response.status_code == 302
    assert set(draft_election.roll.values_list("voter__username", flat=True)) == {
        "new_one",
        voter.username,
    }
    draft_election.refresh_from_db()
    assert draft_election.roll_mode == RollMode.EXPLICIT
    assert len(mail.outbox) == 1 and "http://testserver/accounts/password/reset/" in (
        mail.outbox[0].body
    )
    assert ROLL_SESSION_KEY not in client.session
    # The same confirmation cannot be replayed.
    assert client.post(url, {"confirm": digest}).status_code == 400


def test_roll_upload_with_errors_lists_them_all_and_offers_no_import(
    login_as, admin_user, draft_election, candidate
):
    client = login_as(admin_user)
    text = f"username,email\nok,ok@example.org\nbad,bad\n{candidate.username},c@example.org\n"
    response = client.post(import_url(draft_election), {"csv_file": csv_upload(text)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "2 errors" in page and "line 3: invalid email" in page and "line 4:" in page
    assert "Import these voters" not in page
    assert client.post(import_url(draft_election), {"confirm": "anything"}).status_code == 400
    assert not draft_election.roll.exists()


def test_roll_upload_refused_once_open(login_as, admin_user, open_election):
    client = login_as(admin_user)
    response = client.post(
        import_url(open_election.election), {"csv_file": csv_upload("username,email\na,a@b.org\n")}
    )
    assert response.status_code == 409 and b"draft" in response.content


# --- Read-only records ---------------------------------------------------------------


def test_ballot_admin_is_read_only(login_as, admin_user, voted):
    client = login_as(admin_user)
    ballot = Ballot.objects.filter(election=voted.election).first()
    assert ballot is not None
    listing = client.get(reverse("admin:elections_ballot_changelist")).content.decode()
    assert ballot.tracker in listing and ballot.voter.username not in listing
    change = reverse("admin:elections_ballot_change", args=[ballot.pk])
    detail = client.get(change)
    page = detail.content.decode()
    # No admin page puts a voter beside their ballot or tracker.
    assert detail.status_code == 200 and ballot.tracker in page
    assert ballot.voter.username not in page and ballot.voter.email not in page
    assert client.post(change, {"tracker": "0" * 64}).status_code == 403
    delete = reverse("admin:elections_ballot_delete", args=[ballot.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:elections_ballot_add")).status_code == 403
    assert Ballot.objects.get(pk=ballot.pk).tracker == ballot.tracker


def test_tally_and_result_admins_are_read_only(login_as, admin_user, closed):
    services.decrypt_tally(
        election=closed.election, key_file=closed.key_file, passphrase=None, actor=admin_user
    )
    client = login_as(admin_user)
    tally = EncryptedTally.objects.get(election=closed.election)
    listing = client.get(reverse("admin:elections_encryptedtally_changelist")).content.decode()
    assert tally.ciphertexts[0][:12] in listing and tally.ciphertexts[0] not in listing
    change = reverse("admin:elections_encryptedtally_change", args=[tally.pk])
    detail = client.get(change).content.decode()
    assert all(value in detail for value in tally.ciphertexts) and "Alan" in detail
    assert client.post(change, {"ballot_count": "0"}).status_code == 403
    result = Result.objects.first()
    assert result is not None
    for name, pk in (("encryptedtally", tally.pk), ("result", result.pk)):
        delete = reverse(f"admin:elections_{name}_delete", args=[pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
    assert (
        client.post(
            reverse("admin:elections_result_change", args=[result.pk]), {"count": "99"}
        ).status_code
        == 403
    )
    assert Result.objects.get(pk=result.pk).count == result.count


def test_roll_entries_are_added_only_to_drafts(
    login_as, admin_user, draft_election, voter, candidate, make_election
):
    opened = make_election(slug="opened")
    services.generate_keys(election=opened, actor=admin_user, bits=1024)
    services.open_election(election=opened, actor=admin_user)
    client = login_as(admin_user)
    add = reverse("admin:elections_rollentry_add")
    response = client.post(add, {"election": str(draft_election.pk), "voter": str(voter.pk)})
    assert response.status_code == 302
    entry = RollEntry.objects.get(election=draft_election, voter=voter)
    assert AuditEntry.objects.filter(action="elections.roll.added").exists()
    for election, user in ((opened, voter), (draft_election, candidate)):
        refused = client.post(add, {"election": str(election.pk), "voter": str(user.pk)})
        assert refused.status_code == 200 and b"Select a valid choice" in refused.content
    assert RollEntry.objects.count() == 1
    locked = RollEntry.objects.create(election=opened, voter=candidate)
    delete = reverse("admin:elections_rollentry_delete", args=[locked.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = client.post(
        reverse("admin:elections_rollentry_changelist"),
        {"action": "delete_selected", "_selected_action": [str(locked.pk)], "post": "yes"},
    )
    assert bulk.status_code == 403 and RollEntry.objects.filter(pk=locked.pk).exists()
    delete = reverse("admin:elections_rollentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not RollEntry.objects.filter(pk=entry.pk).exists()


def test_the_ceremony_is_offered_only_for_a_draft(login_as, admin_user, open_election):
    client = login_as(admin_user)
    url = reverse("admin:elections_election_trustee_key", args=[open_election.election.pk])
    page = client.get(url).content.decode()
    assert "no longer a draft" in page and 'id="ceremony"' not in page
