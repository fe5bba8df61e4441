"""The election dashboard in the admin: each phase's steps shown and enforced, once only."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AuditEntry, Role
from elections import services
from elections.models import Election, Result, Status

from .test_trustees import TrusteeElection, with_trustees

pytestmark = pytest.mark.django_db

STEP_NAMES = ("open", "close", "publish", "reset", "copy")
CHOICES = ([1, 0, 0], [0, 0, 1], [0, 0, 1])


def dashboard_url(election: Election) -> str:
    return reverse("admin:elections_election_dashboard", args=[election.pk])


def step_url(election: Election, step: str) -> str:
    return reverse("admin:elections_election_step", args=[election.pk, step])


def press(client, election: Election, step: str, data: dict[str, str] | None = None):
    """Post to a step and follow to the page shown next; return it and the messages it shows."""
    response = client.post(step_url(election, step), data or {}, follow=True)
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def buttons_on(client, election: Election) -> set[str]:
    """The steps the dashboard offers as buttons."""
    page = client.get(dashboard_url(election))
    assert page.status_code == 200
    html = page.content.decode()
    return {name for name in STEP_NAMES if f'action="{step_url(election, name)}"' in html}


def confirmation(client, election: Election, step: str, **typed) -> dict[str, str]:
    """Press the dashboard's button; return the confirmation form's data, as a browser sends it."""
    page = client.post(step_url(election, step))
    assert page.status_code == 200, [str(m) for m in get_messages(page.wsgi_request)]
    html = page.content.decode()
    assert "What will happen" in html and "What cannot be undone" in html
    assert "Cancel, back to the dashboard" in html
    initial = page.context["confirmation"].initial
    assert f'name="token" value="{initial["token"]}"' in html
    assert f'name="expected_status" value="{election.status}"' in html
    return {"post": "yes", **initial, **typed}


def audit_count(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


@pytest.fixture
def staff_without_rights(make_user):
    return make_user("stan_staff", Role.ADMINISTRATOR, is_superuser=False)


@pytest.fixture
def election_editor(make_user):
    """Staff, not a superuser, with the permission to change elections."""
    editor = make_user("eddie_editor", Role.ADMINISTRATOR, is_superuser=False)
    editor.user_permissions.add(Permission.objects.get(codename="change_election"))
    return editor


@pytest.fixture
def keyed(draft_election, admin_user) -> TrusteeElection:
    """A draft whose key two of three trustees made."""
    return with_trustees(draft_election, admin_user, threshold=2, trustees=3)


def cast_three(election: Election, make_user, ballot_for) -> None:
    for number, choice in enumerate(CHOICES):
        voter = make_user(f"voter_{number}")
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, choice)
        )


@pytest.fixture
def voting(keyed, admin_user, make_user, ballot_for) -> TrusteeElection:
    services.open_election(election=keyed.election, actor=admin_user)
    cast_three(keyed.election, make_user, ballot_for)
    return keyed


@pytest.fixture
def closed(voting, admin_user) -> TrusteeElection:
    services.close_election(election=voting.election, actor=admin_user)
    return voting


@pytest.fixture
def published(closed, admin_user) -> TrusteeElection:
    closed.submit(1, 2)
    services.publish_with_trustees(election=closed.election, actor=admin_user)
    return closed


# --- Each phase: what is offered, what is refused --------------------------------------


def test_a_draft_without_key_offers_only_the_copy(login_as, admin_user, draft_election):
    client = login_as(admin_user)
    assert buttons_on(client, draft_election) == {"copy"}
    html = client.get(dashboard_url(draft_election)).content.decode()
    assert "Phase:" in html and "Draft" in html
    assert "No key yet." in html
    assert "The election has no key yet: set it in the key step first." in html
    ceremony = reverse("admin:elections_election_trustee_key", args=[draft_election.pk])
    assert f'href="{ceremony}"' in html
    # Definition and roll, with links to edit them while a draft.
    assert "1 question" in html and "3 options in all." in html
    assert "Who should be elected?" in html and "All approved voters" in html
    assert reverse("admin:elections_election_import_voters", args=[draft_election.pk]) in html


def test_a_draft_without_key_is_refused_the_open_by_the_service(
    login_as, admin_user, draft_election
):
    client = login_as(admin_user)
    data = confirmation(client, draft_election, "open")
    response, notes = press(client, draft_election, "open", data)
    assert response.redirect_chain == [(dashboard_url(draft_election), 302)]
    assert notes == [
        "Open the election was refused: Generate the election's key before opening it."
    ]
    draft_election.refresh_from_db()
    assert draft_election.status == Status.DRAFT
    assert audit_count("elections.election.opened") == 0


def test_steps_of_other_phases_are_refused_before_any_confirmation(
    login_as, admin_user, draft_election
):
    client = login_as(admin_user)
    for step in ("close", "publish", "reset"):
        response, (note,) = press(client, draft_election, step)
        assert response.redirect_chain == [(dashboard_url(draft_election), 302)]
        assert "is not possible now: the election is draft." in note
    draft_election.refresh_from_db()
    assert draft_election.status == Status.DRAFT
    assert client.post(step_url(draft_election, "delete")).status_code == 404
    assert client.get(step_url(draft_election, "open")).status_code == 405


def test_a_draft_with_a_key_offers_the_opening(login_as, admin_user, keyed):
    client = login_as(admin_user)
    election = keyed.election
    assert buttons_on(client, election) == {"open", "copy"}
    html = client.get(dashboard_url(election)).content.decode()
    assert "any 2 of the 3 trustees decrypt together" in html
    assert services.public_key_fingerprint(election) in html
    assert keyed.public.fingerprint in html
    assert "Next: open the election." in html


def test_an_open_election_offers_the_close_and_shows_the_turnout(login_as, admin_user, voting):
    client = login_as(admin_user)
    election = voting.election
    assert buttons_on(client, election) == {"close", "reset", "copy"}
    html = client.get(dashboard_url(election)).content.decode()
    eligible = services.eligible_voter_count(election)
    assert f"3 of {eligible} eligible" in html
    assert "<strong>Open the election:</strong> done." in html
    assert "Ballots on the board" in html
    assert reverse("elections:board", args=[election.slug]) in html


def test_a_closed_election_offers_the_publication_and_lists_the_trustees(
    login_as, admin_user, closed
):
    closed.submit(2)
    client = login_as(admin_user)
    election = closed.election
    assert buttons_on(client, election) == {"publish", "reset", "copy"}
    html = client.get(dashboard_url(election)).content.decode()
    assert "1 of 3 trustees has submitted a partial decryption; 2 are needed." in html
    assert "Not submitted: trustee 1, trustee 3." in html
    assert election.closing_hash in html
    assert reverse("elections:trustee", args=[election.slug]) in html
    assert reverse("admin:elections_election_publish_trustees", args=[election.pk]) in html


def test_a_published_election_offers_only_the_copy(login_as, admin_user, published):
    client = login_as(admin_user)
    election = published.election
    assert buttons_on(client, election) == {"copy"}
    html = client.get(dashboard_url(election)).content.decode()
    for name in ("results", "board", "record_json"):
        assert reverse(f"elections:{name}", args=[election.slug]) in html
    _, (note,) = press(client, election, "reset")
    assert "is not possible now: the election is results published." in note
    election.refresh_from_db()
    assert election.status == Status.PUBLISHED


def test_a_closed_election_with_a_single_key_is_decrypted_on_the_command_line(
    login_as, admin_user, open_election
):
    services.close_election(election=open_election.election, actor=admin_user)
    client = login_as(admin_user)
    assert buttons_on(client, open_election.election) == {"reset", "copy"}
    html = client.get(dashboard_url(open_election.election)).content.decode()
    assert "no page of the site accepts" in html and "--key FILE" in html


# --- Each step once, through its confirmation ---------------------------------------------


def test_open_then_a_double_submit_changes_nothing(login_as, admin_user, keyed):
    client = login_as(admin_user)
    election = keyed.election
    data = confirmation(client, election, "open")
    election.refresh_from_db()
    assert election.status == Status.DRAFT  # the confirmation page changes nothing
    done, _ = press(client, election, "open", data)
    html = done.content.decode()
    assert "Opened council-2026: voters can vote now" in html and "Next: close it" in html
    election.refresh_from_db()
    assert election.status == Status.OPEN
    again, (note,) = press(client, election, "open", data)
    assert note in again.content.decode().replace("&#x27;", "'")
    assert note.startswith("Nothing was done: this confirmation was made while the election")
    assert "was draft, and it is now open" in note
    assert audit_count("elections.election.opened") == 1
    # The entry is on the dashboard, with who did it.
    html = client.get(dashboard_url(election)).content.decode()
    assert "elections.election.opened" in html and admin_user.username in html


def test_close_then_a_double_submit_changes_nothing(login_as, admin_user, voting):
    client = login_as(admin_user)
    election = voting.election
    data = confirmation(client, election, "close")
    _, (note,) = press(client, election, "close", data)
    assert note.startswith("Closed council-2026 with 3 ballot(s). Next: the trustees submit")
    election.refresh_from_db()
    closing_hash = election.closing_hash
    assert election.status == Status.CLOSED and closing_hash
    _, (note,) = press(client, election, "close", data)
    assert "was open, and it is now closed" in note
    election.refresh_from_db()
    assert election.closing_hash == closing_hash
    assert audit_count("elections.election.closed") == 1


def test_publish_needs_k_trustees_then_publishes_once(login_as, admin_user, closed):
    client = login_as(admin_user)
    election = closed.election
    closed.submit(3)
    _, (note,) = press(client, election, "publish", confirmation(client, election, "publish"))
    assert note.startswith("Publish the result was refused: Not enough partial decryptions yet")
    election.refresh_from_db()
    assert election.status == Status.CLOSED and not Result.objects.exists()
    closed.submit(1)
    data = confirmation(client, election, "publish")
    _, notes = press(client, election, "publish", data)
    assert notes == [
        "Published council-2026 from the trustees' partial decryptions: 3 ballot(s). "
        "Next: share its results page, ballot board and election record."
    ]
    election.refresh_from_db()
    assert election.status == Status.PUBLISHED
    assert [r.count for r in Result.objects.order_by("slot")] == [1, 0, 2]
    _, (note,) = press(client, election, "publish", data)
    assert "was closed, and it is now results published" in note
    assert audit_count("elections.tally.decrypted") == 1


def test_reset_asks_for_the_slug_then_resets_once(login_as, admin_user, voting):
    client = login_as(admin_user)
    election = voting.election
    data = confirmation(client, election, "reset", confirm="other")
    wrong = client.post(step_url(election, "reset"), data)
    assert wrong.status_code == 400 and b"Type council-2026 exactly to confirm." in wrong.content
    assert election.ballots.count() == 3
    data["confirm"] = election.slug
    _, (note,) = press(client, election, "reset", data)
    assert note.startswith(
        "Reset council-2026 to a draft and deleted 3 ballot(s). Next: set a new key"
    )
    election.refresh_from_db()
    assert election.status == Status.DRAFT and not election.has_key
    _, (note,) = press(client, election, "reset", data)
    assert "was open, and it is now draft" in note
    assert audit_count("elections.election.reset") == 1


def test_copy_makes_one_draft_however_often_it_is_submitted(login_as, admin_user, published):
    client = login_as(admin_user)
    election = published.election
    data = confirmation(client, election, "copy")
    done, (note,) = press(client, election, "copy", data)
    copy = Election.objects.get(slug="council-2026-copy")
    assert done.redirect_chain == [(dashboard_url(copy), 302)]
    assert note.startswith("Copied council-2026 as the new draft council-2026-copy")
    _, notes = press(client, election, "copy", data)
    assert notes == [
        "Nothing was done: this confirmation has already been used (a second click or a "
        "reload) or has expired. Start the step again if it is still needed."
    ]
    assert Election.objects.count() == 2
    assert audit_count("elections.election.copied") == 1


def test_a_confirmation_serves_only_its_own_step_and_election(
    login_as, admin_user, voting, make_election
):
    client = login_as(admin_user)
    election = voting.election
    data = confirmation(client, election, "close")
    for step in ("reset", "copy"):
        _, (note,) = press(client, election, step, {**data, "confirm": election.slug})
        assert "has already been used" in note
    other = make_election(slug="other")
    _, (note,) = press(client, other, "copy", {**data, "expected_status": "draft"})
    assert "has already been used" in note
    _, (note,) = press(client, election, "close", {"post": "yes"})
    assert "this confirmation is incomplete" in note
    election.refresh_from_db()
    assert election.status == Status.OPEN and Election.objects.count() == 2
    # The genuine confirmation still works once.
    client.post(step_url(election, "close"), data)
    election.refresh_from_db()
    assert election.status == Status.CLOSED


def test_a_page_left_open_while_someone_else_closed_the_election(login_as, admin_user, voting):
    client = login_as(admin_user)
    election = voting.election
    data = confirmation(client, election, "reset", confirm=election.slug)
    services.close_election(election=election, actor=None)
    _, (note,) = press(client, election, "reset", data)
    assert "was open, and it is now closed" in note
    election.refresh_from_db()
    assert election.status == Status.CLOSED and election.ballots.count() == 3


def test_the_services_refuse_a_step_done_twice(admin_user, published, make_election):
    """The second line of defence behind the dashboard's own check."""
    election = published.election
    with pytest.raises(services.WrongPhase):
        services.open_election(election=election, actor=admin_user)
    with pytest.raises(services.WrongPhase):
        services.close_election(election=election, actor=admin_user)
    with pytest.raises(services.WrongPhase):
        services.reset_election(election=election, actor=admin_user)
    # Publishing again is allowed and must give the same counts: only the dashboard's
    # check of the status stops a second publication from being logged.
    again = services.publish_with_trustees(election=election, actor=admin_user)
    assert again.already_published


# --- Who may use it ----------------------------------------------------------------------


def test_voters_are_sent_to_the_login(login_as, voter, voting):
    client = login_as(voter)
    for response in (
        client.get(dashboard_url(voting.election)),
        client.post(step_url(voting.election, "close")),
    ):
        assert response.status_code == 302 and "/login/" in response["Location"]
    voting.election.refresh_from_db()
    assert voting.election.status == Status.OPEN


def test_staff_without_the_permission_is_refused(
    login_as, admin_user, staff_without_rights, voting
):
    election = voting.election
    data = confirmation(login_as(admin_user), election, "close")
    client = login_as(staff_without_rights)
    assert client.get(dashboard_url(election)).status_code == 403
    assert client.post(step_url(election, "close")).status_code == 403
    assert client.post(step_url(election, "close"), data).status_code == 403
    election.refresh_from_db()
    assert election.status == Status.OPEN


def test_staff_with_the_change_permission_runs_the_steps(login_as, election_editor, voting):
    client = login_as(election_editor)
    election = voting.election
    client.post(step_url(election, "close"), confirmation(client, election, "close"))
    election.refresh_from_db()
    assert election.status == Status.CLOSED
    assert AuditEntry.objects.get(action="elections.election.closed").actor == election_editor


# --- Links to it --------------------------------------------------------------------------


def test_the_list_and_the_change_page_link_to_the_dashboard(login_as, admin_user, keyed):
    client = login_as(admin_user)
    election = keyed.election
    url = dashboard_url(election)
    assert url in client.get(reverse("admin:elections_election_changelist")).content.decode()
    change = client.get(reverse("admin:elections_election_change", args=[election.pk]))
    assert url in change.content.decode()
