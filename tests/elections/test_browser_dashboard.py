"""The election dashboard in Debian's chromium: an election run from draft to published.

Each step is pressed, confirmed and reported as a person would see it; a double
click on a confirmation does the step once. The pages must keep their headings in
order, give every button and field a name, and run under the site's
Content-Security-Policy without a violation. Screenshots go to SHOTS for review.
"""

import tempfile
from itertools import pairwise
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import AuditEntry
from elections import services
from elections.models import Election, Status

from .test_browser import Watched, browser_page  # noqa: F401 (fixture)
from .test_browser_trustees import admin_sign_in
from .test_trustees import TrusteeElection, with_trustees

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(tempfile.gettempdir()) / "dashboard-shots"
CHOICES = ([1, 0, 0], [0, 0, 1], [0, 0, 1])

# Heading levels in document order, and every button or field without a name.
OUTLINE = "() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])"
UNNAMED = """() => [...document.querySelectorAll('#content :is(button, input, select)')]
  .filter(e => e.type !== 'hidden')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !(e.textContent || '').trim() && !(e.value || '').trim())
  .map(e => e.outerHTML)"""


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def check_page(watched: Watched, failed: list[str]) -> None:
    page = watched.page
    levels = page.evaluate(OUTLINE)
    assert levels and levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in pairwise(levels)), levels
    assert page.evaluate(UNNAMED) == []
    assert watched.csp_violations() == []
    # The browser asks for /favicon.ico, which the admin does not serve; nothing else may fail.
    assert failed == [] and watched.page_errors == []
    assert [e for e in watched.console_errors if not e.startswith("Failed to load resource")] == []


def confirm_step(watched: Watched, failed: list[str], button: str, name: str) -> None:
    page = watched.page
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", name="What cannot be undone")).to_be_visible()
    check_page(watched, failed)
    shot(page, name)


@pytest.fixture
def keyed(make_election, admin_user) -> TrusteeElection:
    return with_trustees(make_election("council-2026"), admin_user, threshold=2, trustees=3)


def test_an_election_run_from_its_dashboard(
    live_server,
    browser_page: Watched,  # noqa: F811
    admin_user,
    keyed,
    make_user,
    ballot_for,
):
    page = browser_page.page
    failed: list[str] = []
    page.on(
        "response",
        lambda r: failed.append(r.url) if r.status >= 400 and "/favicon.ico" not in r.url else None,
    )
    election = keyed.election
    path = f"/admin/elections/election/{election.pk}/dashboard/"
    admin_sign_in(page, live_server.url, admin_user, path)
    expect(page.get_by_text("Next: open the election.")).to_be_visible()
    check_page(browser_page, failed)
    shot(page, "1-draft-with-key")

    confirm_step(browser_page, failed, "Open the election…", "2-confirm-open")
    # A double click on the confirmation: the step is done once.
    page.get_by_role("button", name="Confirm: Open the election").dblclick()
    page.wait_for_url(f"{live_server.url}{path}")
    expect(page.locator(".messagelist")).to_contain_text("council-2026")
    election.refresh_from_db()
    assert election.status == Status.OPEN
    assert AuditEntry.objects.filter(action="elections.election.opened").count() == 1
    shot(page, "3-opened")

    for number, choice in enumerate(CHOICES):
        voter = make_user(f"voter_{number}")
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, choice)
        )
    page.goto(live_server.url + path)
    expect(page.get_by_text("Voters who voted")).to_be_visible()
    shot(page, "4-open-with-ballots")

    confirm_step(browser_page, failed, "Reset to a draft…", "5-confirm-reset")
    expect(page.get_by_label("Type the election's identifier to confirm")).to_be_visible()
    page.get_by_role("link", name="Cancel, back to the dashboard").click()
    page.wait_for_url(f"{live_server.url}{path}")

    confirm_step(browser_page, failed, "Close the election…", "6-confirm-close")
    page.get_by_role("button", name="Confirm: Close the election").click()
    expect(page.locator(".messagelist")).to_contain_text("Closed council-2026 with 3 ballot(s)")
    election.refresh_from_db()
    keyed.submit(2)
    page.goto(live_server.url + path)
    check_page(browser_page, failed)
    shot(page, "7-closed-one-partial")

    confirm_step(browser_page, failed, "Publish the result…", "8-confirm-publish")
    page.get_by_role("button", name="Confirm: Publish the result").click()
    expect(page.locator(".messagelist")).to_contain_text("Not enough partial decryptions yet")
    shot(page, "9-publish-refused")

    keyed.submit(3)
    confirm_step(browser_page, failed, "Publish the result…", "10-confirm-publish-again")
    page.get_by_role("button", name="Confirm: Publish the result").click()
    expect(page.locator(".messagelist")).to_contain_text("Published council-2026")
    election.refresh_from_db()
    assert election.status == Status.PUBLISHED
    check_page(browser_page, failed)
    shot(page, "11-published")

    page.set_viewport_size({"width": 420, "height": 900})
    shot(page, "12-published-narrow")
    page.locator("#step-audit").screenshot(path=str(SHOTS / "13-audit-narrow.png"))
    assert Election.objects.count() == 1
