"""The public pages: the election listing, what the election page tells each visitor, and
that every page anyone may open renders for an anonymous visitor."""

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from elections import services, views
from elections.models import Election, RollEntry, RollMode, Status

from .conftest import TEST_KEY_BITS

Bring = Callable[..., Election]


@pytest.fixture
def outsider(make_user) -> User:
    """An approved voter who is not on an explicit roll."""
    return make_user("olga_outsider", Role.VOTER)


@pytest.fixture
def bring(make_election, admin_user, ballot_for) -> Bring:
    """An election brought to ``phase`` through the services, with a ballot from each voter."""

    def bring_to(
        slug: str,
        phase: str,
        voters: Sequence[User] = (),
        roll: Sequence[User] = (),
        **fields: object,
    ) -> Election:
        election = make_election(slug=slug, **fields)
        for entry in roll:
            RollEntry.objects.create(election=election, voter=entry)
        if phase == "draft":
            return election
        key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
        services.open_election(election=election, actor=admin_user)
        for voter in voters:
            payload = ballot_for(election, voter, [1, 0, 0])
            services.cast_ballot(election=election, voter=voter, payload=payload)
        if phase == "open":
            return election
        services.close_election(election=election, actor=admin_user)
        if phase == "published":
            services.decrypt_tally(
                election=election, key_file=key_file, passphrase=None, actor=admin_user
            )
        election.refresh_from_db()
        return election

    return bring_to


def url(name: str, election: Election | None = None) -> str:
    if election is None:
        return reverse(f"elections:{name}")
    return reverse(f"elections:{name}", kwargs={"slug": election.slug})


def listing_section(page: str, key: str) -> str:
    match = re.search(rf'<section [^>]*id="{key}">(.*?)</section>', page, re.DOTALL)
    assert match, f"no {key} section"
    return match.group(1)


def listing_row(page: str, election: Election) -> str:
    match = re.search(rf'<tr data-election="{election.slug}">(.*?)</tr>', page, re.DOTALL)
    assert match, f"{election.slug} is not listed"
    return match.group(1)


def turnout_cell(row: str) -> str:
    match = re.search(r'class="turnout">(.*?)</td>', row, re.DOTALL)
    assert match
    return match.group(1)


# --- The listing ---------------------------------------------------------------------


def test_listing_shows_every_election_past_its_draft_to_anonymous_visitors(bring, voter, make_user):
    second_voter = make_user("vera_voter", Role.VOTER)
    draft = bring("secret-draft", "draft")
    open_ = bring("open-now", "open")
    closed = bring("closed-one", "closed", voters=[voter])
    published = bring("published-two", "published", voters=[voter, second_voter])

    response = Client().get(url("list"))
    assert response.status_code == 200
    page = response.content.decode()

    assert draft.title not in page and draft.slug not in page
    assert open_.title in listing_section(page, "open")
    assert closed.title in listing_section(page, "closed")
    assert published.title in listing_section(page, "published")

    assert turnout_cell(listing_row(page, open_)).strip() == "0 ballots"
    assert turnout_cell(listing_row(page, closed)).strip() == "1 ballot"
    assert turnout_cell(listing_row(page, published)).strip() == "2 ballots"
    assert "1 ballots" not in page


def test_listing_links_each_election_to_the_pages_its_phase_has(bring, voter):
    open_ = bring("open-now", "open")
    closed = bring("closed-one", "closed", voters=[voter])
    published = bring("published-one", "published", voters=[voter])
    page = Client().get(url("list")).content.decode()

    for election in (open_, closed, published):
        row = listing_row(page, election)
        assert f'href="{url("detail", election)}"' in row
        assert f'href="{url("board", election)}"' in row
    for election in (open_, closed):
        row = listing_row(page, election)
        for name in ("results", "verify", "record_json"):
            assert url(name, election) not in row, (election.slug, name)
    assert url("board_json", closed) in listing_row(page, closed)
    published_row = listing_row(page, published)
    for name in ("results", "verify", "record_json"):
        assert f'href="{url(name, published)}"' in published_row, name
    # The links are named for screen readers that list them out of the table.
    assert f'<span class="visually-hidden">: {published.title}</span>' in published_row
    # Every link of the listing leads to a page that exists for an anonymous visitor.
    for href in re.findall(r'href="(/elections/[^"#?]+)"', page):
        assert Client().get(href).status_code == 200, href


def test_listing_shows_the_schedule_with_the_zone_and_the_phase_in_words(make_election):
    now = timezone.now()
    upcoming = make_election(
        slug="upcoming",
        status=Status.OPEN,
        opens_at=datetime(2031, 5, 1, 8, 0, tzinfo=UTC),
        closes_at=datetime(2031, 5, 2, 18, 30, tzinfo=UTC),
    )
    ended = make_election(
        slug="ended",
        status=Status.OPEN,
        opens_at=now - timedelta(days=2),
        closes_at=now - timedelta(days=1),
    )
    page = Client().get(url("list")).content.decode()
    row = listing_row(page, upcoming)
    assert '<time datetime="2031-05-01T08:00:00Z">1 May 2031, 08:00 UTC</time>' in row
    assert '<time datetime="2031-05-02T18:30:00Z">2 May 2031, 18:30 UTC</time>' in row
    assert "Opens soon" in row
    assert "Voting ended" in listing_row(page, ended)


def test_listing_costs_the_same_queries_for_three_elections_or_twenty(
    make_election, voter, login_as, django_assert_max_num_queries, django_assert_num_queries
):
    def add(count: int, start: int) -> None:
        for number in range(start, start + count):
            status = (Status.OPEN, Status.CLOSED, Status.PUBLISHED)[number % 3]
            make_election(
                slug=f"election-{number}",
                status=status,
                published_at=timezone.now() if status == Status.PUBLISHED else None,
            )

    def count_queries(client: Client) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("list")).status_code == 200
        return len(captured)

    anonymous, signed_in = Client(), login_as(voter)
    add(3, 0)  # one of each phase, so that every section has rows to show
    few = {"anonymous": count_queries(anonymous), "voter": count_queries(signed_in)}
    add(17, 3)
    with django_assert_num_queries(few["anonymous"]):
        anonymous.get(url("list"))
    with django_assert_max_num_queries(few["voter"]):
        page = signed_in.get(url("list")).content.decode()
    assert page.count("<tr data-election=") == 20
    with django_assert_max_num_queries(6):
        Client().get(url("list"))


def test_published_results_are_listed_a_page_at_a_time(make_election, monkeypatch):
    monkeypatch.setattr(views, "PUBLISHED_PER_PAGE", 2)
    for day in range(1, 4):
        make_election(
            slug=f"published-{day}",
            status=Status.PUBLISHED,
            published_at=datetime(2030, 1, day, tzinfo=UTC),
        )
    first = Client().get(url("list")).content.decode()
    assert "published-3" in first and "published-2" in first and "published-1" not in first
    assert "Page 1 of 2" in first and 'href="?page=2#published"' in first
    second = Client().get(url("list") + "?page=2").content.decode()
    assert "published-1" in second and "published-3" not in second
    assert Client().get(url("list") + "?page=99").status_code == 200


def test_home_page_points_to_the_listing(db):
    page = Client().get(reverse("home")).content.decode()
    assert f'href="{url("list")}"' in page
    assert "See every election" in page


# --- What the election page tells each visitor --------------------------------------


@pytest.fixture
def on_roll(bring, voter) -> Election:
    """An open election whose explicit roll holds only the voter."""
    return bring("roll-only", "open", roll=[voter], roll_mode=RollMode.EXPLICIT)


def voting_panel(client: Client, election: Election) -> str:
    response = client.get(url("detail", election))
    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(r'<section [^>]*id="voting"[^>]*>(.*?)</section>', page, re.DOTALL)
    assert match
    return match.group(0)


def test_an_anonymous_visitor_is_told_to_sign_in_and_comes_back_after(on_roll):
    panel = voting_panel(Client(), on_roll)
    login = f"{reverse('login')}?next=%2Felections%2F{on_roll.slug}%2F"
    assert "Sign in to vote" in panel and f'href="{login}"' in panel
    assert url("booth", on_roll) not in panel
    assert "<noscript>" in panel and "needs JavaScript" in panel
    response = Client().get(login)
    assert response.status_code == 200
    assert f'name="next" value="/elections/{on_roll.slug}/"' in response.content.decode()


def test_a_pending_account_is_told_it_waits_for_approval(on_roll, pending_voter, login_as):
    panel = voting_panel(login_as(pending_voter), on_roll)
    assert "You cannot vote yet" in panel
    assert "waiting for an administrator's approval" in panel
    assert url("booth", on_roll) not in panel and "Sign in to vote" not in panel


def test_an_approved_voter_off_the_roll_is_told_so(on_roll, outsider, login_as):
    panel = voting_panel(login_as(outsider), on_roll)
    assert "You are not on the voter roll of this election" in panel
    assert url("booth", on_roll) not in panel


def test_candidates_and_administrators_are_told_only_voters_vote(
    on_roll, candidate, admin_user, login_as
):
    candidate_panel = voting_panel(login_as(candidate), on_roll)
    assert "candidate account, and only voter accounts can vote" in candidate_panel
    admin_panel = voting_panel(login_as(admin_user), on_roll)
    assert "administrator account, and only voter accounts can vote" in admin_panel
    for panel in (candidate_panel, admin_panel):
        assert url("booth", on_roll) not in panel


def test_an_eligible_voter_is_sent_to_the_booth_and_warned_about_javascript(
    on_roll, voter, login_as, ballot_for
):
    panel = voting_panel(login_as(voter), on_roll)
    assert f'href="{url("booth", on_roll)}"' in panel and "Vote now" in panel
    assert "<noscript>" in panel
    assert "encrypts your ballot in your browser" in panel
    services.cast_ballot(
        election=on_roll, voter=voter, payload=ballot_for(on_roll, voter, [0, 1, 0])
    )
    voted = voting_panel(login_as(voter), on_roll)
    assert "You have voted in this election" in voted
    assert f'href="{url("receipt", on_roll)}"' in voted and url("booth", on_roll) not in voted


def test_where_revoting_is_allowed_a_voter_is_offered_to_replace_the_ballot(bring, voter, login_as):
    election = bring("revote", "open", voters=[voter], allow_revoting=True)
    panel = voting_panel(login_as(voter), election)
    assert "You have voted in this election" in panel
    assert f'href="{url("booth", election)}"' in panel and "Replace your ballot" in panel
    services.close_election(election=election, actor=None)
    closed = voting_panel(login_as(voter), election)
    assert url("booth", election) not in closed and "Replace your ballot" not in closed


def test_before_and_after_the_schedule_the_page_says_when(on_roll, voter, login_as):
    opens = timezone.now() + timedelta(days=1)
    Election.objects.filter(pk=on_roll.pk).update(opens_at=opens)
    upcoming = voting_panel(login_as(voter), on_roll)
    assert "Voting opens on" in upcoming and url("booth", on_roll) not in upcoming
    assert f'<time datetime="{opens.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z">' in upcoming
    Election.objects.filter(pk=on_roll.pk).update(
        opens_at=timezone.now() - timedelta(days=2), closes_at=timezone.now() - timedelta(days=1)
    )
    ended = voting_panel(login_as(voter), on_roll)
    assert "Voting ended on" in ended and url("booth", on_roll) not in ended
    assert "<noscript>" not in ended


def test_the_booth_says_plainly_that_it_needs_javascript(on_roll, voter, login_as):
    page = login_as(voter).get(url("booth", on_roll)).content.decode()
    notice = re.search(r"<noscript>(.*?)</noscript>", page, re.DOTALL)
    assert notice
    assert "needs JavaScript" in notice.group(1)
    assert "encrypts your ballot in your browser" in notice.group(1)


def test_a_pending_voter_at_the_booth_gets_an_explanation_not_a_bare_forbidden(
    on_roll, pending_voter, login_as
):
    response = login_as(pending_voter).get(url("booth", on_roll))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your account is awaiting approval" in page
    assert "a voter account that an administrator has not approved yet" in page
    assert "<h1>Forbidden</h1>" not in page


def test_the_receipt_and_board_show_the_cast_time_with_its_zone(on_roll, voter, ballot_for):
    ballot = services.cast_ballot(
        election=on_roll, voter=voter, payload=ballot_for(on_roll, voter, [1, 0, 0])
    )
    cast_at = ballot.cast_at.astimezone(UTC)
    iso = cast_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{cast_at.microsecond // 1000:03d}Z"
    shown = f"{cast_at.day} {cast_at:%B %Y, %H:%M:%S} UTC"
    client = Client()
    client.force_login(voter)
    pages = {
        "receipt": client.get(url("receipt", on_roll)),
        "board": Client().get(url("board", on_roll)),
        "check": Client().get(url("check", on_roll) + f"?tracker={ballot.tracker}"),
    }
    for name, response in pages.items():
        assert f'<time datetime="{iso}">{shown}</time>' in response.content.decode(), name


# --- Every public page, for an anonymous visitor ------------------------------------


def test_every_public_page_renders_for_an_anonymous_visitor(bring, voter):
    elections = {
        "open": bring("open-now", "open", voters=[voter]),
        "closed": bring("closed-one", "closed", voters=[voter]),
        "published": bring("published-one", "published", voters=[voter]),
    }
    pages = [reverse(name) for name in ("home", "login", "password_reset", "register_voter")]
    pages += [reverse("register_candidate"), url("list")]
    per_phase = {
        "open": ["detail", "board", "check", "audit"],
        "closed": ["detail", "board", "check", "audit"],
        "published": ["detail", "board", "check", "audit", "results", "verify"],
    }
    for phase, names in per_phase.items():
        pages += [url(name, elections[phase]) for name in names]
    for page in pages:
        response = Client().get(page)
        assert response.status_code == 200, page
        assert b"<h1>" in response.content, page
    # Every page about an election that has opened says when, in the one format.
    for election in elections.values():
        detail = Client().get(url("detail", election)).content.decode()
        assert re.search(r'<time datetime="[0-9T:-]+Z">\d+ \w+ \d{4}, \d\d:\d\d UTC</time>', detail)
