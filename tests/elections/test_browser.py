"""A voter votes in a real browser: Debian's chromium through Playwright, on the live server.

The ballot is encrypted by the worker in the page, cast over HTTP, and counted
after the services close and decrypt the election. The booth must run under the
site's Content-Security-Policy without a single violation or console error.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from accounts.models import User
from elections import services
from elections.models import Ballot

from ..conftest import PASSWORD
from .conftest import OpenElection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

TRACKER = re.compile(r"^[0-9a-f]{64}$")

# Records violations from the page itself; Playwright injects this outside the page's CSP.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@dataclass
class Watched:
    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    cast_bodies: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        violations: list[str] = self.page.evaluate("window.__cspViolations || []")
        return violations


@pytest.fixture
def browser_page(monkeypatch) -> Iterator[Watched]:
    # Playwright's sync API keeps an asyncio loop running on this thread; Django's ORM
    # would then refuse the test's own queries, which are plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.add_init_script(WATCH_CSP)
            watched = Watched(page)
            page.on(
                "console",
                lambda m: watched.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
            page.on("request", lambda request: _record_cast(watched, request))
            yield watched
        finally:
            browser.close()


def _record_cast(watched: Watched, request: Any) -> None:
    if request.method == "POST" and request.url.endswith("/cast/"):
        watched.cast_bodies.append(request.post_data or "")


def sign_in(page: Page, base_url: str, user: User, next_path: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{next_path}")


def review_and_encrypt(page: Page) -> str:
    """From a complete choice to the tracker step: review, encrypt; the tracker shown."""
    page.get_by_role("button", name="Review my choices").click()
    page.get_by_role("button", name="Encrypt my ballot").click()
    tracker = page.locator("#booth-tracker")
    expect(tracker).to_have_text(TRACKER, timeout=30_000)
    return tracker.inner_text()


def test_a_voter_votes_in_the_browser_and_the_vote_is_counted(
    live_server, browser_page: Watched, open_election: OpenElection, voter, admin_user
):
    election = open_election.election
    page = browser_page.page
    booth_path = f"/elections/{election.slug}/booth/"
    sign_in(page, live_server.url, voter, booth_path)

    review = page.get_by_role("button", name="Review my choices")
    assert review.is_disabled()
    page.get_by_text("Encryption ready").wait_for()
    assert page.locator("#crypto-progress").evaluate("bar => bar.value === bar.max")
    assert review.is_disabled()  # ready, but nothing chosen yet
    choice = page.get_by_label("Grace", exact=True)
    assert (choice.get_attribute("name"), choice.get_attribute("data-slot")) == ("q1", "1")
    choice.check()
    expect(page.locator("#selection-status")).to_have_text("Your choice: Grace.")
    tracker = review_and_encrypt(page)
    assert browser_page.cast_bodies == []  # nothing sent before the cast button
    page.get_by_role("button", name="Cast this encrypted ballot").click()

    page.wait_for_url(f"{live_server.url}/elections/{election.slug}/receipt/")
    stored = Ballot.objects.get(election=election, voter=voter)
    assert page.locator("#tracker").inner_text() == stored.tracker == tracker
    assert browser_page.console_errors == []
    assert browser_page.page_errors == []
    assert browser_page.csp_violations() == []

    # The request carried the encrypted ballot and nothing else.
    assert len(browser_page.cast_bodies) == 1
    sent = json.loads(browser_page.cast_bodies[0])
    assert set(sent) == {"format", "questions"} and sent["format"] == "evoting/ballot/v2"
    (question,) = sent["questions"]
    assert set(question) == {"ciphertexts", "selection_proofs", "count_proof"}
    assert len(question["ciphertexts"]) == len(question["selection_proofs"]) == 3
    assert "Grace" not in browser_page.cast_bodies[0]

    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(
        election=election, key_file=open_election.key_file, passphrase=None, actor=admin_user
    )
    page.goto(f"{live_server.url}/elections/{election.slug}/results/")
    section = page.locator("section.question-results")
    assert section.count() == 1
    assert section.locator('td[data-candidate="2"]').inner_text() == "1"
    assert section.locator('td[data-candidate="1"]').inner_text() == "0"
    assert section.locator('td[data-candidate="3"]').inner_text() == "0"
    assert section.locator("td[data-blank]").count() == 0
    assert (section.locator("svg[role=img] title").text_content() or "").startswith(
        "Votes per option"
    )
    assert browser_page.csp_violations() == []


def test_the_booth_shows_a_refusal_from_the_server(
    live_server, browser_page: Watched, open_election: OpenElection, voter, admin_user
):
    election = open_election.election
    page = browser_page.page
    sign_in(page, live_server.url, voter, f"/elections/{election.slug}/booth/")
    page.get_by_text("Encryption ready").wait_for()
    page.get_by_label("Ada", exact=True).check()
    review_and_encrypt(page)
    # The election closes while the voter is in the booth.
    services.close_election(election=election, actor=admin_user)
    page.get_by_role("button", name="Cast this encrypted ballot").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "not accepting ballots" in alert.inner_text()
    assert Ballot.objects.filter(election=election).count() == 0
    assert browser_page.page_errors == []
    assert browser_page.csp_violations() == []


def test_the_election_page_updates_turnout_without_reload(
    live_server, browser_page: Watched, open_election: OpenElection, voter, ballot_for
):
    election = open_election.election
    page = browser_page.page
    page.goto(f"{live_server.url}/elections/{election.slug}/")
    ballots = page.locator('#turnout [data-field="ballots"]')
    assert ballots.inner_text() == "0"
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
    )
    # turnout.js polls every few seconds; the page is never reloaded.
    expect(ballots).to_have_text("1", timeout=15_000)
    assert page.locator("#turnout-bar").evaluate("bar => bar.value") == 1
    assert browser_page.console_errors == []
    assert browser_page.csp_violations() == []


def test_the_election_page_follows_the_board_head_without_reload(
    live_server,
    browser_page: Watched,
    open_election: OpenElection,
    voter,
    admin_user,
    ballot_for,
):
    election = open_election.election
    page = browser_page.page
    page.goto(f"{live_server.url}/elections/{election.slug}/")
    head = page.locator("#board-head")
    genesis = head.inner_text()
    assert len(genesis) == 64
    assert page.locator("#board-closing").is_hidden()
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [0, 1, 0])
    )
    ballot = Ballot.objects.get(election=election)
    expect(head).to_have_text(ballot.chain_hash, timeout=15_000)
    services.close_election(election=election, actor=admin_user)
    election.refresh_from_db()
    expect(page.locator("#board-closing")).to_have_text(election.closing_hash, timeout=15_000)
    assert page.locator("#board-closing-label").is_visible()

    page.get_by_role("link", name="See the ballot board").click()
    page.wait_for_url(f"{live_server.url}/elections/{election.slug}/board/")
    row = page.locator("#ballot-1")
    assert ballot.tracker in row.inner_text()
    assert browser_page.console_errors == []
    assert browser_page.page_errors == []
    assert browser_page.csp_violations() == []
