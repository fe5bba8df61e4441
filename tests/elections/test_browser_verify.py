"""An observer verifies a published election in Debian's chromium, under the site's CSP.

The page streams the election's record into a Web Worker that runs the
reference verifier's checks; it must say "verified" for an honest election, show
the record's hashes, find a cast ballot's tracker at its place on the board and
not a made-up one, and name the failures of a tampered record exactly as
``python -m elections.verify`` does.
"""

import json
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from elections import record, services
from elections.models import Ballot, Election
from tests.verify.golden.browser_expectations import EXPECTATIONS_PATH, apply_edits

from .conftest import OpenElection
from .test_browser import Watched, browser_page  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHOICES = ([1, 0, 0], [0, 1, 0], [1, 0, 0])
VERDICT_TIMEOUT = 60_000


@pytest.fixture
def published(open_election: OpenElection, make_user, ballot_for, admin_user) -> Election:
    election = open_election.election
    for number, choice in enumerate(CHOICES, start=1):
        voter = make_user(f"verified_voter_{number}")
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, choice)
        )
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(
        election=election, key_file=open_election.key_file, passphrase=None, actor=admin_user
    )
    return election


def open_verify_page(page: Page, base_url: str, election: Election) -> None:
    page.goto(f"{base_url}/elections/{election.slug}/verify/")
    verdict = page.locator("#verify-verdict")
    expect(verdict).not_to_have_attribute("data-verdict", "", timeout=VERDICT_TIMEOUT)


def find(page: Page, tracker: str) -> str:
    result = page.locator("#tracker-result")
    page.get_by_role("textbox", name="Tracker").fill(tracker)
    page.get_by_role("button", name="Find").click()
    expect(result).not_to_have_text("")
    return result.inner_text()


def assert_clean(watched: Watched) -> None:
    assert watched.console_errors == []
    assert watched.page_errors == []
    assert watched.csp_violations() == []


def test_an_observer_verifies_a_published_election_in_the_browser(
    live_server,
    browser_page: Watched,  # noqa: F811
    published: Election,
):
    page = browser_page.page
    open_verify_page(page, live_server.url, published)

    verdict = page.locator("#verify-verdict")
    assert verdict.get_attribute("data-verdict") == "verified", verdict.inner_text()
    assert verdict.inner_text().startswith("Verified: every check holds for the 3 ballots")
    assert page.locator("#verify-progress").evaluate("bar => [bar.value, bar.max]") == [3, 3]
    assert page.locator("#verify-failures").is_hidden()

    chain = json.loads("".join(record.stream_record(published)))["chain"]
    assert page.locator("#record-genesis").inner_text() == chain["genesis"]
    assert page.locator("#record-head").inner_text() == chain["head"]
    assert page.locator("#record-closing").inner_text() == chain["closing"]
    assert chain["closing"] == published.closing_hash

    results = page.locator("#verified-results table")
    assert results.count() == 1
    assert results.locator("tbody tr").all_inner_texts() == ["Ada\t2", "Grace\t1", "Alan\t0"]

    second = Ballot.objects.get(election=published, sequence=2)
    spaced = " ".join(second.tracker[i : i + 8] for i in range(0, 64, 8)).upper()
    assert find(page, spaced) == (
        f"On the board as ballot #2: tracker {second.tracker}. "
        "Counted: it is in the encrypted tally that the published results decrypt."
    )
    made_up = "0123456789abcdef" * 4
    assert find(page, made_up).startswith(
        f"Not on the board: no ballot of this record has the tracker {made_up}"
    )
    assert "only the digits 0-9" in find(page, "not a tracker")
    assert_clean(browser_page)


def failing_case() -> dict[str, Any]:
    expectations = json.loads(EXPECTATIONS_PATH.read_text(encoding="ascii"))
    (case,) = [c for c in expectations["cases"] if c["name"] == "v2 swapped option names"]
    return case


def test_a_tampered_record_is_named_as_the_reference_verifier_names_it(
    live_server,
    browser_page: Watched,  # noqa: F811
    published: Election,
):
    case = failing_case()
    body = apply_edits(case["base"], case["edits"])

    def serve_tampered(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=body)

    page = browser_page.page
    page.route("**/record.json", serve_tampered)
    open_verify_page(page, live_server.url, published)

    assert page.locator("#verify-verdict").get_attribute("data-verdict") == "failed"
    expected = case["report"]
    assert page.locator("#verify-verdict").inner_text() == (
        f"Failed: {expected['failure_count']} checks failed."
    )
    shown = page.locator("#verify-failure-list li").all_inner_texts()
    assert sorted(shown) == sorted(describe(failure) for failure in expected["failures"])
    assert page.locator("#record-head").inner_text() == expected["chain"]["head"]
    assert_clean(browser_page)


def describe(failure: dict[str, Any]) -> str:
    """A failure as the reference verifier's text report words it (report.Failure)."""
    where = f"ballot {failure['sequence']}: " if failure["sequence"] is not None else ""
    return f"[{failure['check']}] {where}{failure['message']}"
