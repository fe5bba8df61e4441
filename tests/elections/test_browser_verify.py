"""An observer verifies a published election in Debian's chromium, under the site's CSP.

The page streams the election's record into a Web Worker that runs the
reference verifier's checks; it must say "verified" for an honest election, show
the record's hashes, find a cast ballot's tracker at its place on the board and
not a made-up one, and name the failures of a tampered record exactly as
``python -m elections.verify`` does, on a v3 record (ballot boxes, revoting) too.
"""

import io
import json
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from elections import record, services
from elections.models import Ballot, Election
from elections.verify import Report, TrackerMatch, verify_record
from tests.verify.golden.browser_expectations import EXPECTATIONS_PATH, apply_edits

from .conftest import TEST_KEY_BITS, OpenElection
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


# Voter 1 votes three times over (their first two ballots are replaced), voter 3 twice.
REVOTES = (
    (1, [1, 0, 0]),
    (2, [0, 1, 0]),
    (1, [0, 0, 1]),
    (3, [1, 0, 0]),
    (1, [0, 1, 0]),
    (3, [0, 0, 1]),
    (4, [1, 0, 0]),
)


@pytest.fixture
def published_with_boxes(make_election, make_user, ballot_for, admin_user) -> Election:
    election = make_election("boxes-2026", ballot_boxes=3, allow_revoting=True)
    key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    election.refresh_from_db()
    voters = {number: make_user(f"revoting_voter_{number}") for number in {n for n, _ in REVOTES}}
    for number, choice in REVOTES:
        voter = voters[number]
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, choice)
        )
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin_user)
    election.refresh_from_db()
    return election


def python_report(election: Election, tracker: str | None = None) -> Report:
    text = "".join(record.stream_record(election))
    return verify_record(io.BytesIO(text.encode("ascii")), tracker=tracker)


def board_place(election: Election, tracker: str) -> tuple[str, TrackerMatch]:
    """Where the reference verifier finds the tracker, in the page's words, and its entry."""
    report = python_report(election, tracker)
    assert report.ok and report.tracker is not None and report.tracker.match is not None
    match = report.tracker.match
    place = f"On the board as ballot #{match.sequence} of box {match.box}"
    if match.position != match.sequence:
        place += f" (entry {match.position} of the record)"
    return f"{place}: tracker {tracker}.", match


def test_an_observer_verifies_an_election_with_ballot_boxes_and_revoting(
    live_server,
    browser_page: Watched,  # noqa: F811
    published_with_boxes: Election,
):
    election = published_with_boxes
    expected = python_report(election).to_dict()
    assert expected["ok"], expected["failures"]
    assert (expected["ballots"], expected["counted"]) == (7, 4)
    page = browser_page.page
    open_verify_page(page, live_server.url, election)

    verdict = page.locator("#verify-verdict")
    assert verdict.get_attribute("data-verdict") == "verified", verdict.inner_text()
    assert verdict.inner_text() == (
        "Verified: every check holds for the 7 ballots of this record. 4 of them are counted: "
        "with revoting, only each voter's last ballot is in the tally."
    )
    assert page.locator("#verify-progress").evaluate("bar => [bar.value, bar.max]") == [7, 7]
    chain = expected["chain"]
    assert chain["boxes"] == "3" and chain["head"] == chain["closing"] == election.closing_hash
    assert page.locator("#record-genesis").is_hidden()
    assert page.locator("#record-boxes").inner_text() == "3"
    assert page.locator("#record-head").inner_text() == chain["head"]
    assert page.locator("#record-closing").inner_text() == chain["closing"]
    rows = page.locator("#verified-results table tbody tr").all_inner_texts()
    assert rows == [
        f"{option['name']}\t{option['count']}" for option in expected["results"][0]["options"]
    ]
    assert rows == ["Ada\t1", "Grace\t2", "Alan\t1"]

    trackers = list(
        Ballot.objects.filter(election=election, voter__username="revoting_voter_1")
        .order_by("revision")
        .values_list("tracker", flat=True)
    )
    place, match = board_place(election, trackers[0])
    assert match.replaced_by is not None
    assert find(page, trackers[0]) == (
        f"{place} Replaced, not counted: its voter cast ballot #{match.replaced_by} later in the "
        "same box, and only a voter's last ballot counts."
    )
    place, match = board_place(election, trackers[-1])
    assert match.replaced_by is None
    assert find(page, trackers[-1]) == (
        f"{place} Counted: it is in the encrypted tally that the published results decrypt."
    )
    assert_clean(browser_page)
