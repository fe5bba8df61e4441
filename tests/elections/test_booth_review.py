"""The booth's steps in a real browser: choose, review, encrypt, note the tracker, cast or audit.

Debian's chromium through Playwright on the live server, as in ``test_browser``.
A voter reviews the choice in words before anything is sent; Enter never casts;
the tracker the booth computed is the receipt's and the board's, and a server
that answers with another tracker is caught; a second tab cannot cast again;
an audited ballot reveals its choice and the next ballot shares nothing with it.
"""

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, Route, expect

from elections import crypto, services
from elections.models import Ballot

from .conftest import OpenElection
from .test_browser import (  # noqa: F401 (fixture)
    WATCH_CSP,
    Watched,
    browser_page,
    review_and_encrypt,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AUDITED_FORMAT = "evoting/audited-ballot/v1"


def booth_path(open_election: OpenElection) -> str:
    return f"/elections/{open_election.election.slug}/booth/"


def receipt_url(live_server, open_election: OpenElection) -> str:
    return f"{live_server.url}/elections/{open_election.election.slug}/receipt/"


def wait_until_ready(page: Page) -> None:
    """Until the booth's precomputation is done."""
    expect(page.locator("#crypto-status")).to_have_text(re.compile("^Encryption ready"))


def assert_clean(watched: Watched) -> None:
    assert watched.console_errors == []
    assert watched.page_errors == []
    assert watched.csp_violations() == []


def test_the_voter_reviews_the_choice_in_words_and_keeps_the_tracker(
    live_server,
    browser_page: Watched,  # noqa: F811
    open_election: OpenElection,
    voter,
):
    page = browser_page.page
    board_checks: list[str] = []
    page.on("request", lambda r: board_checks.append(r.url) if "check.json" in r.url else None)
    sign_in(page, live_server.url, voter, booth_path(open_election))
    wait_until_ready(page)
    # performance.now() counts from the booth page's navigation.
    print(f"\nbooth open to ready: {page.evaluate('performance.now()') / 1000:.2f}s")

    page.get_by_label("Grace", exact=True).check()
    expect(page.locator("#status-1")).to_have_text("You have chosen Grace.")
    page.get_by_role("button", name="Review my choices").click()
    expect(page.get_by_role("heading", name="2. Check your choices")).to_be_focused()
    expect(page.locator("#review-list dt")).to_have_text(["Who should be elected?"])
    expect(page.locator("#review-list dd")).to_have_text(["Grace"])
    assert page.get_by_role("button", name=re.compile("Cast")).count() == 0

    page.get_by_role("button", name="Change my choices").click()
    expect(page.get_by_role("heading", name="1. Make your choice")).to_be_focused()
    assert page.get_by_label("Grace", exact=True).is_checked()
    page.get_by_label("Alan", exact=True).check()
    expect(page.locator("#selection-status")).to_have_text("Your choice: Alan.")
    page.get_by_role("button", name="Review my choices").click()
    expect(page.locator("#review-list dd")).to_have_text(["Alan"])
    page.get_by_role("button", name="Encrypt my ballot").click()
    expect(page.get_by_role("heading", name=re.compile("note its tracker"))).to_be_focused()
    tracker = page.locator("#booth-tracker").inner_text()
    assert re.fullmatch("[0-9a-f]{64}", tracker)
    assert browser_page.cast_bodies == []  # shown before anything is sent

    started = time.perf_counter()
    page.get_by_role("button", name="Cast this encrypted ballot").click()
    page.wait_for_url(receipt_url(live_server, open_election))
    print(f"click cast to receipt: {time.perf_counter() - started:.2f}s")

    stored = Ballot.objects.get(election=open_election.election, voter=voter)
    assert stored.tracker == tracker == page.locator("#tracker").inner_text()
    # The booth asked the public board for its own tracker before showing the receipt.
    assert len(board_checks) == 1 and board_checks[0].endswith(f"?tracker={tracker}")
    board = page.request.get(board_checks[0]).json()
    assert (board["found"], board["sequence"]) == (True, stored.sequence)
    # The receipt shows the booth's own tracker beside the server's, and that they match.
    expect(page.locator("#booth-tracker")).to_have_text(tracker)
    expect(page.locator("#booth-match")).to_be_visible()
    expect(page.locator("#booth-mismatch")).to_be_hidden()
    assert "Alan" not in page.content()

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download this receipt").click()
    download = download_info.value
    assert download.suggested_filename == f"receipt-{open_election.election.slug}.txt"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert f"Tracker: {tracker}" in text and f"#{stored.sequence}" in text
    assert open_election.election.title in text and stored.chain_hash in text
    assert f"/elections/{open_election.election.slug}/check/?tracker={tracker}" in text
    assert "Alan" not in text

    expect(page.get_by_role("button", name="Print this receipt")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Print this receipt")).to_be_hidden()
    expect(page.locator("#tracker")).to_be_visible()
    page.emulate_media(media="screen")

    # Back to the booth (back button or address): the receipt and nothing else.
    page.go_back()
    page.wait_for_url(receipt_url(live_server, open_election))
    page.goto(f"{live_server.url}{booth_path(open_election)}")
    page.wait_for_url(receipt_url(live_server, open_election))
    assert Ballot.objects.filter(election=open_election.election).count() == 1
    assert_clean(browser_page)


def test_enter_on_a_choice_never_casts(
    live_server,
    browser_page: Watched,  # noqa: F811
    open_election: OpenElection,
    voter,
):
    page = browser_page.page
    sign_in(page, live_server.url, voter, booth_path(open_election))
    wait_until_ready(page)
    choice = page.get_by_label("Ada", exact=True)
    choice.focus()
    page.keyboard.press("Space")
    assert choice.is_checked()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="1. Make your choice")).to_be_visible()
    # Through the steps by keyboard; Enter on the tracker step's heading does nothing either.
    page.get_by_role("button", name="Review my choices").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="2. Check your choices")).to_be_focused()
    page.get_by_role("button", name="Encrypt my ballot").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("note its tracker"))).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert browser_page.cast_bodies == []
    assert page.url == f"{live_server.url}{booth_path(open_election)}"
    assert not Ballot.objects.filter(election=open_election.election).exists()
    assert_clean(browser_page)


def test_a_server_that_answers_with_another_tracker_is_caught(
    live_server,
    browser_page: Watched,  # noqa: F811
    open_election: OpenElection,
    voter,
):
    page = browser_page.page
    forged = "f" * 64

    def lie(route: Route) -> None:
        response = route.fetch()
        answer = response.json()
        answer["tracker"] = forged
        route.fulfill(response=response, json=answer)

    page.route("**/cast/", lie)
    sign_in(page, live_server.url, voter, booth_path(open_election))
    wait_until_ready(page)
    page.get_by_label("Grace", exact=True).check()
    tracker = review_and_encrypt(page)
    page.get_by_role("button", name="Cast this encrypted ballot").click()

    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    text = alert.inner_text()
    assert tracker in text and forged in text
    assert "replaced" in text and "do not vote again" in text
    assert "administrators or observers" in text
    assert page.url == f"{live_server.url}{booth_path(open_election)}"  # no receipt hides it
    assert page.get_by_role("button", name=re.compile("Cast")).count() == 0
    # The server did store the real ballot; only its answer lied.
    assert Ballot.objects.get(election=open_election.election).tracker == tracker

    # The receipt page, opened from the warning, tells the same story.
    page.get_by_role("link", name="See the receipt the server gives you").click()
    page.wait_for_url(receipt_url(live_server, open_election))
    mismatch = page.locator("#booth-mismatch")
    expect(mismatch).to_be_visible()
    assert forged in mismatch.inner_text()
    assert_clean(browser_page)


def test_a_second_tab_cannot_cast_after_the_first_voted(
    live_server,
    browser_page: Watched,  # noqa: F811
    open_election: OpenElection,
    voter,
):
    first = browser_page.page
    sign_in(first, live_server.url, voter, booth_path(open_election))
    # Another window of the same session: same cookies, its own sessionStorage.
    browser = first.context.browser
    assert browser is not None
    other_window = browser.new_context()
    other_window.add_cookies(first.context.cookies())  # type: ignore[arg-type]
    second = other_window.new_page()
    second.add_init_script(WATCH_CSP)
    second_errors: list[str] = []
    second.on("pageerror", lambda error: second_errors.append(str(error)))
    second.goto(f"{live_server.url}{booth_path(open_election)}")
    wait_until_ready(second)
    second.get_by_label("Alan", exact=True).check()
    other_tracker = review_and_encrypt(second)

    wait_until_ready(first)
    first.get_by_label("Grace", exact=True).check()
    tracker = review_and_encrypt(first)
    first.get_by_role("button", name="Cast this encrypted ballot").click()
    first.wait_for_url(receipt_url(live_server, open_election))

    second.get_by_role("button", name="Cast this encrypted ballot").click()
    expect(second.get_by_role("heading", name="You have already voted")).to_be_visible()
    assert second.get_by_role("button", name=re.compile("Cast")).count() == 0
    ballot = Ballot.objects.get(election=open_election.election)
    assert ballot.tracker == tracker != other_tracker
    second.get_by_role("link", name="See your receipt").click()
    second.wait_for_url(receipt_url(live_server, open_election))
    assert second.locator("#tracker").inner_text() == tracker
    # This tab's own ballot was refused: it keeps no tracker to compare.
    expect(second.locator("#booth-none")).to_be_visible()
    assert second_errors == []
    assert second.evaluate("window.__cspViolations") == []
    other_window.close()
    assert_clean(browser_page)


def test_a_tab_coming_back_after_a_vote_elsewhere_shows_the_receipt(
    live_server,
    browser_page: Watched,  # noqa: F811
    open_election: OpenElection,
    voter,
    ballot_for,
):
    page = browser_page.page
    sign_in(page, live_server.url, voter, booth_path(open_election))
    wait_until_ready(page)
    election = open_election.election
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
    )
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.get_by_role("heading", name="You have already voted")).to_be_focused()
    assert page.get_by_role("button").filter(has_text=re.compile("Review|Cast")).count() == 0
    expect(page.get_by_role("link", name="See your receipt")).to_be_visible()
    assert_clean(browser_page)


def _numbers(document: Any) -> set[str]:
    """Every long hex number anywhere in a JSON document (ciphertexts, proofs, randomness)."""
    if isinstance(document, dict):
        return set().union(*(_numbers(value) for value in document.values()))
    if isinstance(document, list):
        return set().union(*(_numbers(value) for value in document))
    if isinstance(document, str) and len(document) >= 32:
        return {document}
    return set()


def test_an_audited_ballot_reveals_its_choice_and_the_next_ballot_starts_afresh(
    live_server,
    browser_page: Watched,  # noqa: F811
    open_election: OpenElection,
    voter,
):
    page = browser_page.page
    audits: list[Request] = []
    page.on(
        "request",
        lambda r: audits.append(r) if r.method == "POST" and r.url.endswith("/audit/") else None,
    )
    sign_in(page, live_server.url, voter, booth_path(open_election))
    wait_until_ready(page)
    page.get_by_label("Ada", exact=True).check()
    audited_tracker = review_and_encrypt(page)

    page.get_by_role(
        "button", name="Audit this ballot instead (reveals it; you then vote again)"
    ).click()
    expect(page.get_by_role("heading", name="Audit this ballot?")).to_be_focused()
    warning = page.locator('[data-step="audit"]').inner_text()
    for told in ("published with its choices", "never counted", "can tell that it was yours"):
        assert told in warning
    assert "other than your real ones" in warning
    started = time.perf_counter()
    page.get_by_role("button", name="Reveal and audit this ballot").click()
    expect(page.get_by_role("heading", name="Your ballot was audited, not cast")).to_be_focused()
    expect(page.locator("#audited-choices dd")).to_have_text(["Ada"])
    expect(page.locator("#audited-tracker")).to_have_text(audited_tracker)
    wait_until_ready(page)
    print(f"\naudit to ready again: {time.perf_counter() - started:.2f}s")
    outcome = page.locator("#audited-published, #audited-unpublished").filter(visible=True)
    expect(outcome).to_have_count(1)
    link = page.locator("#audited-link")
    published = page.locator("#audited-published").is_visible()
    link_href = link.get_attribute("href") if published else None
    unpublished = page.locator("#audited-unpublished").inner_text()

    # The audited ballot is gone; choosing again goes through every step again.
    expect(page.get_by_role("heading", name="1. Make your choice")).to_be_visible()
    page.get_by_label("Grace", exact=True).check()
    cast_tracker = review_and_encrypt(page)
    assert cast_tracker != audited_tracker
    page.get_by_role("button", name="Cast this encrypted ballot").click()
    page.wait_for_url(receipt_url(live_server, open_election))
    stored = Ballot.objects.get(election=open_election.election)
    assert stored.tracker == cast_tracker

    (audit,) = audits
    assert audit.headers["content-type"] == "application/json"
    assert audit.headers["x-csrftoken"]
    body = audit.post_data or ""
    document = json.loads(body)
    assert document["format"] == AUDITED_FORMAT and document["tracker"] == audited_tracker
    params = services.election_params(open_election.election)
    opened = crypto.check_audited_ballot(params, body)
    assert opened.chosen_slots() == [0]  # Ada, as chosen: the booth encrypted the choice
    (cast_body,) = browser_page.cast_bodies
    cast_ballot = json.loads(cast_body)
    audited_ciphertexts = set(document["ballot"]["questions"][0]["ciphertexts"])
    assert audited_ciphertexts.isdisjoint(cast_ballot["questions"][0]["ciphertexts"])
    # Fresh randomness: no number of the cast ballot appears anywhere in the audited one.
    assert _numbers(cast_ballot).isdisjoint(_numbers(document))

    # Published by the server: a link to the public list of audited ballots.
    slug = open_election.election.slug
    assert published, unpublished
    assert link_href == f"/elections/{slug}/audit/#audit-{audited_tracker}"
    assert_clean(browser_page)


def test_an_audit_the_server_refuses_still_starts_afresh(
    live_server,
    browser_page: Watched,  # noqa: F811
    open_election: OpenElection,
    voter,
):
    page = browser_page.page
    page.route(
        "**/audit/",
        lambda route: route.fulfill(status=400, json={"error": "This audited ballot is refused."}),
    )
    sign_in(page, live_server.url, voter, booth_path(open_election))
    wait_until_ready(page)
    page.get_by_label("Alan", exact=True).check()
    review_and_encrypt(page)
    page.get_by_role("button", name=re.compile("^Audit this ballot instead")).click()
    page.get_by_role("button", name="Reveal and audit this ballot").click()
    expect(page.locator("#audited-unpublished")).to_contain_text("This audited ballot is refused.")
    expect(page.locator("#audited-published")).to_be_hidden()
    expect(page.locator("#audited-choices dd")).to_have_text(["Alan"])
    wait_until_ready(page)
    page.get_by_label("Ada", exact=True).check()
    tracker = review_and_encrypt(page)
    page.get_by_role("button", name="Cast this encrypted ballot").click()
    page.wait_for_url(receipt_url(live_server, open_election))
    assert Ballot.objects.get(election=open_election.election).tracker == tracker
    assert browser_page.page_errors == [] and browser_page.csp_violations() == []
