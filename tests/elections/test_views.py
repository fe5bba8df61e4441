"""Election pages: the lifecycle x role matrix, and what each page shows to whom."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from elections import crypto, services
from elections.models import Ballot, Candidate, Election, RollEntry, RollMode, Status

from .conftest import TEST_KEY_BITS

PERSONAS = ["anonymous", "pending", "voter", "outsider", "candidate", "administrator"]
PHASES = ["draft", "open", "closed", "published"]
LOGIN = "login"

# page -> phase -> expected status per persona, in PERSONAS order.
# In the open phase the voter has not voted yet; once closed, the voter has one ballot.
MATRIX: dict[str, dict[str, list[int | str]]] = {
    "list": {phase: [200] * 6 for phase in PHASES},
    "detail": {
        "draft": [404, 404, 404, 404, 404, 200],
        "open": [200] * 6,
        "closed": [200] * 6,
        "published": [200] * 6,
    },
    "turnout": {
        "draft": [404] * 6,
        "open": [200] * 6,
        "closed": [200] * 6,
        "published": [200] * 6,
    },
    "booth": {
        "draft": [LOGIN, 403, 404, 404, 403, 403],
        "open": [LOGIN, 403, 200, 403, 403, 403],
        "closed": [LOGIN, 403, 409, 409, 403, 403],
        "published": [LOGIN, 403, 409, 409, 403, 403],
    },
    "cast": {phase: [405] * 6 for phase in PHASES},
    "receipt": {
        "draft": [LOGIN, 404, 404, 404, 404, 404],
        "open": [LOGIN, 404, 404, 404, 404, 404],
        "closed": [LOGIN, 404, 200, 404, 404, 404],
        "published": [LOGIN, 404, 200, 404, 404, 404],
    },
    "results": {
        "draft": [404] * 6,
        "open": [409] * 6,
        "closed": [409] * 6,
        "published": [200] * 6,
    },
}


@pytest.fixture
def outsider(make_user) -> User:
    """An approved voter who is not on the election's explicit roll."""
    return make_user("olga_outsider", Role.VOTER)


@pytest.fixture
def clients(login_as, admin_user, candidate, voter, outsider, pending_voter) -> dict[str, Client]:
    return {
        "anonymous": Client(),
        "pending": login_as(pending_voter),
        "voter": login_as(voter),
        "outsider": login_as(outsider),
        "candidate": login_as(candidate),
        "administrator": login_as(admin_user),
    }


@pytest.fixture
def election_in(
    make_election, admin_user, voter, candidate, ballot_for
) -> Callable[[str], Election]:
    """An explicit-roll election (voter on the roll, candidate standing) brought to a phase."""

    def bring(phase: str) -> Election:
        election = make_election(
            slug=f"board-{phase}",
            roll_mode=RollMode.EXPLICIT,
            description="Choose the board.",
        )
        RollEntry.objects.create(election=election, voter=voter)
        Candidate.objects.filter(election=election, position=1).update(
            account=candidate, affiliation="Greens", statement="I will listen."
        )
        if phase == "draft":
            return election
        key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
        services.open_election(election=election, actor=admin_user)
        if phase == "open":
            return election
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
        )
        services.close_election(election=election, actor=admin_user)
        if phase == "published":
            services.decrypt_tally(
                election=election, key_file=key_file, passphrase=None, actor=admin_user
            )
        election.refresh_from_db()
        return election

    return bring


def page_url(page: str, election: Election) -> str:
    if page == "list":
        return reverse("elections:list")
    return reverse(f"elections:{page}", kwargs={"slug": election.slug})


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("page", MATRIX)
def test_lifecycle_role_matrix(clients, election_in, page, phase):
    election = election_in(phase)
    url = page_url(page, election)
    for persona, expected in zip(PERSONAS, MATRIX[page][phase], strict=True):
        response = clients[persona].get(url)
        if expected == LOGIN:
            assert response.status_code == 302, persona
            assert response["Location"].startswith(reverse("login")), persona
        else:
            assert response.status_code == expected, (persona, response.status_code)


def test_unknown_election_is_404_everywhere(clients):
    for page in ("detail", "turnout", "results"):
        url = reverse(f"elections:{page}", kwargs={"slug": "no-such-election"})
        for persona in PERSONAS:
            assert clients[persona].get(url).status_code == 404, (page, persona)


def test_refusals_say_why(clients, election_in):
    closed = election_in("closed")
    results = clients["voter"].get(reverse("elections:results", kwargs={"slug": closed.slug}))
    assert b"not published yet" in results.content
    booth = clients["voter"].get(reverse("elections:booth", kwargs={"slug": closed.slug}))
    assert b"not accepting ballots" in booth.content
    turnout = clients["anonymous"].get(
        reverse("elections:turnout", kwargs={"slug": election_in("draft").slug})
    )
    assert turnout.json() == {"error": "There is no such election."}


# --- Lists and home ----------------------------------------------------------------------


def test_each_role_sees_its_elections_in_the_list(clients, election_in):
    draft, open_ = election_in("draft"), election_in("open")
    published = election_in("published")
    url = reverse("elections:list")
    pages = {persona: clients[persona].get(url).content.decode() for persona in PERSONAS}
    assert draft.title in pages["administrator"]
    for persona in ("anonymous", "pending", "voter", "outsider", "candidate"):
        assert draft.title not in pages[persona], persona
    assert open_.title in pages["voter"]
    assert reverse("elections:booth", kwargs={"slug": open_.slug}) in pages["voter"]
    assert open_.title in pages["candidate"]
    assert "Your candidacies" in pages["candidate"]
    # The public listing shows every election past its draft to everyone; only the
    # voter on the roll gets a way into the booth.
    for persona in ("anonymous", "pending", "outsider"):
        assert open_.title in pages[persona], persona
        assert reverse("elections:booth", kwargs={"slug": open_.slug}) not in pages[persona]
    results_link = reverse("elections:results", kwargs={"slug": published.slug})
    for persona in PERSONAS:
        assert results_link in pages[persona], persona
    assert "awaiting approval" in pages["pending"]


def test_home_and_list_show_the_same_panel_of_ones_elections(clients, election_in):
    election_in("draft")
    election_in("open")

    def panel(persona: str, name: str) -> str:
        page = clients[persona].get(reverse(name)).content.decode()
        start = page.index('<section aria-labelledby="mine-heading"')
        return page[start : page.index("</section>", start)]

    for persona in ("voter", "candidate", "administrator"):
        assert panel(persona, "home") == panel(persona, "elections:list"), persona
    assert "All elections, drafts included" in panel("administrator", "elections:list")
    assert "Elections you may vote in" in panel("voter", "home")
    assert '<section aria-labelledby="mine-heading"' not in (
        clients["anonymous"].get(reverse("elections:list")).content.decode()
    )


def test_voter_list_says_who_has_voted(clients, election_in):
    closed = election_in("closed")
    page = clients["voter"].get(reverse("elections:list")).content.decode()
    assert "Voted" in page
    assert reverse("elections:receipt", kwargs={"slug": closed.slug}) in page


def test_all_approved_voters_mode_shows_every_voter_the_election(clients, make_election, outsider):
    election = make_election(slug="everyone")
    election.status = Status.OPEN
    election.save()
    page = clients["outsider"].get(reverse("elections:list")).content.decode()
    assert election.title in page


def test_home_links_to_the_election_list_and_shows_each_role_its_elections(clients, election_in):
    open_ = election_in("open")
    list_url = reverse("elections:list")
    for persona in PERSONAS:
        assert list_url in clients[persona].get(reverse("home")).content.decode(), persona
    assert open_.title in clients["voter"].get(reverse("home")).content.decode()
    assert open_.title not in clients["outsider"].get(reverse("home")).content.decode()


# --- Detail ----------------------------------------------------------------------------


def test_detail_shows_schedule_candidates_and_turnout(clients, election_in):
    election = election_in("open")
    response = clients["anonymous"].get(reverse("elections:detail", kwargs={"slug": election.slug}))
    page = response.content.decode()
    assert election.title in page and "Choose the board." in page
    assert "Who should be elected?" in page and "Choose exactly one." in page
    assert "Ada" in page and "Greens" in page and "I will listen." in page
    assert "Schedule" in page
    assert reverse("elections:turnout", kwargs={"slug": election.slug}) in page
    assert "elections/js/turnout.js" in page
    assert "<script>" not in page  # no inline script: the CSP forbids it
    assert 'Ballots cast: <span data-field="ballots">0</span>' in page
    assert 'Eligible voters: <span data-field="eligible">1</span>' in page


def test_detail_links_depend_on_the_visitor(clients, election_in, voter, ballot_for):
    election = election_in("open")
    url = reverse("elections:detail", kwargs={"slug": election.slug})
    booth = reverse("elections:booth", kwargs={"slug": election.slug})
    receipt = reverse("elections:receipt", kwargs={"slug": election.slug})
    assert booth in clients["voter"].get(url).content.decode()
    for persona in ("anonymous", "pending", "outsider", "candidate", "administrator"):
        assert booth not in clients[persona].get(url).content.decode(), persona
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [0, 1, 0])
    )
    page = clients["voter"].get(url).content.decode()
    assert booth not in page and receipt in page


def test_detail_shows_schedule_in_utc(clients, make_election):
    election = make_election(
        slug="scheduled",
        status=Status.OPEN,
        opens_at=datetime(2031, 5, 1, 8, 0, tzinfo=UTC),
        closes_at=datetime(2031, 5, 2, 18, 30, tzinfo=UTC),
    )
    page = (
        clients["anonymous"]
        .get(reverse("elections:detail", kwargs={"slug": election.slug}))
        .content.decode()
    )
    assert "1 May 2031, 08:00 UTC" in page and "2 May 2031, 18:30 UTC" in page


# --- Turnout --------------------------------------------------------------------------


def test_turnout_counts_ballots_and_eligible_voters_only(clients, election_in, voter, ballot_for):
    election = election_in("open")
    url = reverse("elections:turnout", kwargs={"slug": election.slug})
    counts = ("ballots", "eligible", "status")  # the board's hashes: tests/elections/test_board.py
    before = clients["anonymous"].get(url).json()
    assert {key: before[key] for key in counts} == {"ballots": 0, "eligible": 1, "status": "open"}
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [0, 0, 1])
    )
    response = clients["anonymous"].get(url)
    after = response.json()
    assert {key: after[key] for key in counts} == {"ballots": 1, "eligible": 1, "status": "open"}
    assert "no-store" in response["Cache-Control"]


# --- Booth --------------------------------------------------------------------------


def test_booth_passes_the_worker_what_it_needs(clients, election_in, voter):
    election = election_in("open")
    response = clients["voter"].get(reverse("elections:booth", kwargs={"slug": election.slug}))
    page = response.content.decode()
    assert (
        '<fieldset class="question" id="question-1" data-question="0" '
        'aria-describedby="rule-1 status-1">'
    ) in page
    assert "<legend>Who should be elected?</legend>" in page
    assert '<p id="rule-1" class="rule">Choose exactly one.</p>' in page
    assert page.count('type="radio" name="q1"') == 3 and "data-blank" not in page
    for slot in range(3):
        assert f'id="choice-{slot}" data-slot="{slot}"' in page
    assert '<p id="status-1" class="help question-status" aria-live="polite">' in page
    assert "<progress" in page and 'aria-live="polite"' in page and 'role="alert"' in page
    assert "elections/js/booth.js" in page and "csrfmiddlewaretoken" in page
    params = json.loads(_json_script(page, "booth-params"))
    candidates = services.ordered_candidates(election)
    election_params = services.election_params(election)
    assert params["params"]["election_id"] == str(election.id)
    (question,) = params["params"]["questions"]
    assert [option["id"] for option in question["options"]] == [str(c.id) for c in candidates]
    assert [option["name"] for option in question["options"]] == ["Ada", "Grace", "Alan"]
    assert params["params"]["n"] == format(election_params.n, "x")
    assert crypto.params_from_json(json.dumps(params["params"])) == election_params
    assert params["fingerprint"] == election_params.fingerprint
    assert params["slots"] == 3
    assert params["questions"] == [
        {
            "number": 1,
            "title": "Who should be elected?",
            "min_selections": 1,
            "max_selections": 1,
            "slots": [0, 1, 2],
            "blank_slot": None,
        }
    ]
    assert params["voter_context"] == services.voter_context(election, voter)
    assert params["cast_url"] == reverse("elections:cast", kwargs={"slug": election.slug})
    assert params["worker_url"].endswith("elections/js/ballot-worker.js")


def _json_script(page: str, element_id: str) -> str:
    start = page.index(f'<script id="{element_id}" type="application/json">')
    start = page.index(">", start) + 1
    return page[start : page.index("</script>", start)]


def test_booth_uses_checkboxes_for_several_choices(clients, make_election, admin_user):
    election = make_election(slug="multi", min_selections=1, max_selections=2)
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    page = clients["voter"].get(reverse("elections:booth", kwargs={"slug": election.slug}))
    assert "Choose between 1 and 2." in page.content.decode()
    assert 'type="checkbox"' in page.content.decode()


def test_booth_sends_a_voter_who_voted_to_the_receipt(clients, election_in, voter, ballot_for):
    election = election_in("open")
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
    )
    response = clients["voter"].get(reverse("elections:booth", kwargs={"slug": election.slug}))
    assert response.status_code == 302
    assert response["Location"] == reverse("elections:receipt", kwargs={"slug": election.slug})


def test_booth_refuses_outside_the_schedule(clients, election_in):
    election = election_in("open")
    url = reverse("elections:booth", kwargs={"slug": election.slug})
    Election.objects.filter(pk=election.pk).update(opens_at=timezone.now() + timedelta(hours=1))
    assert clients["voter"].get(url).status_code == 409
    Election.objects.filter(pk=election.pk).update(
        opens_at=timezone.now() - timedelta(hours=2), closes_at=timezone.now() - timedelta(hours=1)
    )
    assert clients["voter"].get(url).status_code == 409


# --- Receipt ------------------------------------------------------------------------


def test_receipt_shows_tracker_sequence_and_time_but_never_the_choice(clients, election_in):
    election = election_in("closed")
    ballot = Ballot.objects.get(election=election)
    page = clients["voter"].get(reverse("elections:receipt", kwargs={"slug": election.slug}))
    text = page.content.decode()
    assert ballot.tracker in text and f"#{ballot.sequence}" in text and "UTC" in text
    assert ballot.content not in text
    for name in ("Ada", "Grace", "Alan"):
        assert name not in text


def test_nobody_else_sees_a_voters_receipt(clients, election_in):
    election = election_in("closed")
    ballot = Ballot.objects.get(election=election)
    url = reverse("elections:receipt", kwargs={"slug": election.slug})
    for persona in ("pending", "outsider", "candidate", "administrator"):
        response = clients[persona].get(url)
        assert response.status_code == 404
        assert ballot.tracker not in response.content.decode()


# --- Results ------------------------------------------------------------------------


def test_results_show_chart_and_table(clients, election_in):
    election = election_in("published")
    page = (
        clients["anonymous"]
        .get(reverse("elections:results", kwargs={"slug": election.slug}))
        .content.decode()
    )
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and 'role="img"' in page
    assert '<section class="question-results" aria-labelledby="results-heading-1"' in page
    assert '<title id="chart-title-1">Votes per option: Who should be elected?</title>' in page
    assert '<desc id="chart-desc-1">' in page
    assert "Ada: 1 vote (100.0% of ballots)" in page
    assert "Grace: 0 votes (0.0% of ballots)" in page
    assert '<td class="num" data-candidate="1">1</td>' in page
    assert '<td class="num" data-candidate="2">0</td>' in page
    assert "1 ballot counted of 1 eligible voters: turnout 100.0%" in page
    assert "<script" not in page


def test_results_before_publication_say_so(clients, election_in):
    election = election_in("open")
    response = clients["candidate"].get(
        reverse("elections:results", kwargs={"slug": election.slug})
    )
    assert response.status_code == 409
    assert b"not published yet" in response.content


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_pages_refuse_writes(clients, election_in, method):
    election = election_in("published")
    for page in ("detail", "results", "turnout", "receipt", "booth"):
        url = reverse(f"elections:{page}", kwargs={"slug": election.slug})
        response = getattr(clients["voter"], method)(url)
        assert response.status_code in (403, 405), (page, response.status_code)
