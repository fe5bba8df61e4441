"""Candidates standing in elections: requests, decisions, the option following the profile."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AuditEntry, Role, User
from elections import services
from elections.models import CandidacyRequest, CandidacyStatus, Candidate, Election, Question
from elections.services import ballots

from .conftest import TEST_KEY_BITS

pytestmark = pytest.mark.django_db

PROFILE = {"display_name": "Carol C.", "affiliation": "Greens", "statement": "I will listen."}
NEW_PROFILE = {
    "display_name": "Carol Candidate",
    "affiliation": "Green Party",
    "statement": "I will listen, then act.",
}


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def decide_url(candidacy: CandidacyRequest, decision: str) -> str:
    return reverse("admin:elections_candidacyrequest_decide", args=[candidacy.pk, decision])


def dashboard_url(election: Election) -> str:
    return reverse("admin:elections_election_dashboard", args=[election.pk])


def confirm(client, candidacy: CandidacyRequest, decision: str) -> dict[str, str]:
    """Press Accept or Decline on the dashboard; return what the confirmation page posts."""
    page = client.post(decide_url(candidacy, decision))
    assert page.status_code == 200, messages_of(page)
    html = page.content.decode()
    assert "What will happen" in html and "Cancel, back to the dashboard" in html
    token = page.context["form"].initial["token"]
    assert f'name="token" value="{token}"' in html
    return {"post": "yes", "token": token}


def fingerprint(election: Election) -> str:
    """The parameters' fingerprint read afresh from the database, past every cache."""
    ballots._opened_shapes.cache_clear()
    ballots._params.cache_clear()
    election.refresh_from_db()
    return services.election_params(election).fingerprint


@pytest.fixture
def election(make_election) -> Election:
    """A draft with a chair to elect and a yes/no motion."""
    return make_election(
        slug="council",
        questions=[
            {"title": "Who should chair?", "options": ["Ada", "Grace"]},
            {"title": "Adopt the budget?", "options": ["Yes", "No"]},
        ],
    )


@pytest.fixture
def chair(election) -> Question:
    return election.questions.get(position=1)


@pytest.fixture
def motion(election) -> Question:
    return election.questions.get(position=2)


@pytest.fixture
def profiled(candidate) -> User:
    for field, value in PROFILE.items():
        setattr(candidate, field, value)
    candidate.save()
    return candidate


@pytest.fixture
def pending(profiled, chair) -> CandidacyRequest:
    return services.request_candidacy(candidate=profiled, question=chair)


# --- The whole flow ---------------------------------------------------------------------


def test_a_candidate_stands_from_request_to_published_result(
    login_as, admin_user, profiled, voter, make_user, election, chair, ballot_for
):
    as_candidate, as_admin = login_as(profiled), login_as(admin_user)

    # The candidate sees the draft and chooses the question.
    page = as_candidate.get(reverse("candidacies")).content.decode()
    assert election.title in page
    assert '<label for="question-1">Question</label>' in page
    assert "Who should chair?" in page and "Adopt the budget?" in page
    response = as_candidate.post(reverse("ask_to_stand"), {"question": str(chair.pk)})
    assert response.status_code == 302
    candidacy = CandidacyRequest.objects.get(candidate=profiled)
    assert candidacy.status == CandidacyStatus.PENDING and candidacy.question == chair

    # The administrator sees it on the dashboard, with Accept and Decline.
    dashboard = as_admin.get(dashboard_url(election)).content.decode()
    assert '<h2 id="h-candidacies">Candidacies</h2>' in dashboard
    assert "Carol C. (carol_candidate)" in dashboard
    assert f'action="{decide_url(candidacy, "accept")}"' in dashboard
    assert f'action="{decide_url(candidacy, "decline")}"' in dashboard

    # Accepting: the option comes from the profile, at the end of the question.
    page = as_admin.post(decide_url(candidacy, "accept")).content.decode()
    assert "I will listen." in page and "Greens" in page
    data = confirm(as_admin, candidacy, "accept")
    response = as_admin.post(decide_url(candidacy, "accept"), data, follow=True)
    assert "Accepted Carol C. as option 3 (question: Who should chair?)." in messages_of(response)
    option = Candidate.objects.get(account=profiled)
    assert (option.question, option.position) == (chair, 3)
    assert (option.name, option.affiliation, option.statement) == (
        "Carol C.",
        "Greens",
        "I will listen.",
    )
    candidacy.refresh_from_db()
    assert candidacy.status == CandidacyStatus.ACCEPTED and candidacy.option == option
    assert AuditEntry.objects.filter(action="elections.candidacy.accepted").count() == 1

    # While a draft, the option follows the profile.
    response = as_candidate.post(reverse("candidate_profile"), NEW_PROFILE, follow=True)
    assert "Your entry on 1 draft ballot now shows it." in messages_of(response)
    option.refresh_from_db()
    assert (option.name, option.affiliation, option.statement) == tuple(NEW_PROFILE.values())

    # Opened: the option and the fingerprint stay as they opened.
    key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    opened_with = fingerprint(election)
    edited = {"display_name": "Someone Else", "affiliation": "Other", "statement": "Changed."}
    assert as_candidate.post(reverse("candidate_profile"), edited).status_code == 302
    option.refresh_from_db()
    assert (option.name, option.affiliation, option.statement) == tuple(NEW_PROFILE.values())
    assert fingerprint(election) == opened_with

    # The booth and the election page show the statement.
    booth = login_as(voter).get(reverse("elections:booth", args=[election.slug])).content.decode()
    assert '<details class="statement-details" id="statement-2">' in booth
    assert "<summary>Statement" in booth and "of Carol Candidate" in booth
    assert "<p>I will listen, then act.</p>" in booth
    detail = as_candidate.get(reverse("elections:detail", args=[election.slug])).content.decode()
    assert "<h4>Carol Candidate</h4>" in detail and "I will listen, then act." in detail

    # Published: the candidate's page shows their count, highlighted.
    for number, choice in enumerate(([0, 0, 1, 1, 0], [1, 0, 0, 0, 1], [0, 0, 1, 1, 0])):
        ballot_voter = voter if number == 0 else make_user(f"voter_{number}")
        payload = ballot_for(election, ballot_voter, choice)
        services.cast_ballot(election=election, voter=ballot_voter, payload=payload)
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin_user)
    page = as_candidate.get(reverse("candidacies")).content.decode()
    assert "Your result: 2 votes." in page
    assert (
        '<tr class="own-result"><th scope="row"><mark>Carol Candidate</mark> (you)</th>'
        '<td class="num"><mark>2</mark></td></tr>'
    ) in page
    assert f'href="{reverse("elections:results", args=[election.slug])}"' in page


def test_the_admin_list_accepts_and_a_second_acceptance_changes_nothing(
    login_as, admin_user, pending
):
    client = login_as(admin_user)
    changelist = reverse("admin:elections_candidacyrequest_changelist")
    assert "carol_candidate" in client.get(changelist).content.decode()
    data = {"action": "accept_selected", "_selected_action": [str(pending.pk)]}
    page = client.post(changelist, data)
    assert page.status_code == 200 and "Accept these requests?" in page.content.decode()
    assert not Candidate.objects.filter(account=pending.candidate).exists()
    response = client.post(changelist, {**data, "post": "yes"}, follow=True)
    assert "Accepted 1 request(s)." in messages_of(response)
    response = client.post(changelist, {**data, "post": "yes"}, follow=True)
    assert any("no longer pending: it was accepted" in m for m in messages_of(response))
    assert Candidate.objects.filter(account=pending.candidate).count() == 1
    assert AuditEntry.objects.filter(action="elections.candidacy.accepted").count() == 1


def test_the_admin_list_declines_with_a_reason(login_as, admin_user, pending):
    client = login_as(admin_user)
    changelist = reverse("admin:elections_candidacyrequest_changelist")
    data = {"action": "decline_selected", "_selected_action": [str(pending.pk)]}
    page = client.post(changelist, data).content.decode()
    assert "Reason (optional)" in page
    response = client.post(changelist, {**data, "post": "yes", "reason": "Too late."}, follow=True)
    assert "Declined 1 request(s)." in messages_of(response)
    pending.refresh_from_db()
    assert (pending.status, pending.reason) == (CandidacyStatus.DECLINED, "Too late.")


# --- Refusals -----------------------------------------------------------------------


def test_an_unapproved_candidate_cannot_ask(login_as, pending_candidate, chair):
    with pytest.raises(services.NotEligible):
        services.request_candidacy(candidate=pending_candidate, question=chair)
    client = login_as(pending_candidate)
    assert client.get(reverse("candidacies")).status_code == 403
    response = client.post(reverse("ask_to_stand"), {"question": str(chair.pk)})
    assert response.status_code == 403
    assert not CandidacyRequest.objects.exists()


def test_a_voter_cannot_ask(login_as, voter, chair):
    with pytest.raises(services.NotEligible):
        services.request_candidacy(candidate=voter, question=chair)
    client = login_as(voter)
    assert client.get(reverse("candidacies")).status_code == 403
    assert client.post(reverse("ask_to_stand"), {"question": str(chair.pk)}).status_code == 403
    assert not CandidacyRequest.objects.exists()


def test_an_accepted_candidate_cannot_be_accepted_once_the_account_loses_approval(
    admin_user, pending
):
    User.objects.filter(pk=pending.candidate_id).update(is_approved=False)
    with pytest.raises(services.NotEligible):
        services.accept_candidacy(candidacy=pending, actor=admin_user)
    assert not Candidate.objects.filter(account=pending.candidate).exists()


def test_only_a_draft_takes_requests_and_decisions(
    login_as, admin_user, profiled, make_user, election, chair
):
    other = make_user("dora_candidate", Role.CANDIDATE)
    waiting = services.request_candidacy(candidate=other, question=chair)
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)

    with pytest.raises(services.WrongPhase):
        services.request_candidacy(candidate=profiled, question=chair)
    response = login_as(profiled).post(reverse("ask_to_stand"), {"question": str(chair.pk)})
    assert response.status_code == 400
    assert "not in an election open to candidacies" in response.content.decode()
    assert election.title not in login_as(profiled).get(reverse("candidacies")).content.decode()

    for decide in (
        lambda: services.accept_candidacy(candidacy=waiting, actor=admin_user),
        lambda: services.decline_candidacy(candidacy=waiting, actor=admin_user),
        lambda: services.withdraw_candidacy(candidacy=waiting, candidate=other),
    ):
        with pytest.raises(services.WrongPhase):
            decide()
    client = login_as(admin_user)
    assert decide_url(waiting, "accept") not in client.get(dashboard_url(election)).content.decode()
    response = client.post(decide_url(waiting, "accept"), follow=True)
    assert any("only while the election is a draft" in m for m in messages_of(response))
    waiting.refresh_from_db()
    assert waiting.status == CandidacyStatus.PENDING
    assert not Candidate.objects.filter(account=other).exists()


def test_a_duplicate_request_is_refused(login_as, pending, chair, motion):
    client = login_as(pending.candidate)
    response = client.post(reverse("ask_to_stand"), {"question": str(chair.pk)})
    assert response.status_code == 409
    assert "You have already asked to stand for this question." in response.content.decode()
    with pytest.raises(services.CandidacyRefused):
        services.request_candidacy(candidate=pending.candidate, question=chair)
    assert CandidacyRequest.objects.count() == 1
    # Another question of the same election is another candidacy.
    assert client.post(reverse("ask_to_stand"), {"question": str(motion.pk)}).status_code == 302
    assert CandidacyRequest.objects.count() == 2


def test_accepting_twice_from_the_dashboard_changes_nothing(login_as, admin_user, pending):
    client = login_as(admin_user)
    data = confirm(client, pending, "accept")
    client.post(decide_url(pending, "accept"), data)
    response = client.post(decide_url(pending, "accept"), data, follow=True)
    assert any("already accepted" in m for m in messages_of(response))
    # A second confirmation page is refused too, as is the service called again.
    response = client.post(decide_url(pending, "accept"), follow=True)
    assert any("already accepted" in m for m in messages_of(response))
    with pytest.raises(services.CandidacyRefused):
        services.accept_candidacy(candidacy=pending, actor=admin_user)
    assert Candidate.objects.filter(account=pending.candidate).count() == 1
    assert pending.question.options.count() == 3
    assert AuditEntry.objects.filter(action="elections.candidacy.accepted").count() == 1


def test_a_reused_confirmation_is_refused(login_as, admin_user, pending):
    client = login_as(admin_user)
    stale = confirm(client, pending, "decline")
    fresh = confirm(client, pending, "decline")
    client.post(decide_url(pending, "decline"), fresh)
    response = client.post(decide_url(pending, "decline"), stale, follow=True)
    assert any("already declined" in m for m in messages_of(response))
    bad_token = {"post": "yes", "token": "made-up"}
    other = services.request_candidacy(candidate=pending.candidate, question=pending.question)
    response = client.post(decide_url(other, "decline"), bad_token, follow=True)
    assert any("already been used" in m for m in messages_of(response))
    other.refresh_from_db()
    assert other.status == CandidacyStatus.PENDING


def test_declining_shows_the_reason_to_the_candidate(login_as, admin_user, pending):
    client = login_as(admin_user)
    data = confirm(client, pending, "decline")
    reason = "The chair is for members only."
    response = client.post(decide_url(pending, "decline"), {**data, "reason": reason}, follow=True)
    assert "Declined the request of Carol C. (question: Who should chair?)." in messages_of(
        response
    )
    pending.refresh_from_db()
    assert (pending.status, pending.reason, pending.decided_by) == (
        CandidacyStatus.DECLINED,
        reason,
        admin_user,
    )
    assert not Candidate.objects.filter(account=pending.candidate).exists()
    page = login_as(pending.candidate).get(reverse("candidacies")).content.decode()
    assert 'data-state="declined"' in page and f"Reason: {reason}" in page
    entry = AuditEntry.objects.get(action="elections.candidacy.declined")
    assert entry.data["reason"] == reason and entry.object_id == str(pending.election_id)
    # Declined is not a live request: the candidate may ask again.
    services.request_candidacy(candidate=pending.candidate, question=pending.question)


def test_a_candidate_withdraws_a_pending_request(login_as, make_user, pending):
    client = login_as(pending.candidate)
    url = reverse("withdraw_candidacy", args=[pending.pk])
    assert f'action="{url}"' in client.get(reverse("candidacies")).content.decode()
    intruder = make_user("eve_candidate", Role.CANDIDATE)
    assert login_as(intruder).post(url).status_code == 404
    with pytest.raises(services.NotEligible):
        services.withdraw_candidacy(candidacy=pending, candidate=intruder)
    response = client.post(url, follow=True)
    assert "Your request has been withdrawn." in messages_of(response)
    pending.refresh_from_db()
    assert pending.status == CandidacyStatus.WITHDRAWN
    assert client.post(url).status_code == 409
    assert AuditEntry.objects.filter(action="elections.candidacy.withdrawn").count() == 1


def test_an_accepted_request_cannot_be_withdrawn(login_as, admin_user, pending):
    services.accept_candidacy(candidacy=pending, actor=admin_user)
    response = login_as(pending.candidate).post(reverse("withdraw_candidacy", args=[pending.pk]))
    assert response.status_code == 409
    assert "no longer pending: it was accepted" in response.content.decode()
    assert Candidate.objects.filter(account=pending.candidate).exists()


def test_staff_who_may_not_change_elections_cannot_decide(login_as, make_user, pending):
    staff = make_user("stan_staff", Role.ADMINISTRATOR, is_superuser=False)
    assert login_as(staff).post(decide_url(pending, "accept")).status_code == 403
    pending.refresh_from_db()
    assert pending.status == CandidacyStatus.PENDING


def test_the_profile_reaches_only_draft_options(admin_user, profiled, make_election, election):
    """An option added by hand follows too; one in an open election never does."""
    opened = make_election(slug="opened")
    for draft_or_open in (election, opened):
        question = draft_or_open.questions.get(position=1)
        Candidate.objects.create(
            election=draft_or_open,
            question=question,
            position=question.options.count() + 1,
            account=profiled,
            name="Old name",
        )
    services.generate_keys(election=opened, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=opened, actor=admin_user)
    opened_with = fingerprint(opened)
    assert services.refresh_candidate_options(candidate=profiled) == 1
    assert Candidate.objects.get(election=election, account=profiled).name == "Carol C."
    assert Candidate.objects.get(election=opened, account=profiled).name == "Old name"
    assert fingerprint(opened) == opened_with
    assert services.refresh_candidate_options(candidate=profiled) == 0
