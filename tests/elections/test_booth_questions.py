"""Three questions in a real browser: booth, receipt, close, tally, results, record, verifier.

Debian's chromium through Playwright on the live server, as in ``test_browser``.
The voter answers a chair question, votes blank on a motion and picks two of
three committee members; the booth must hold back the review until every
question is answered within its rule, name every answer, and keep a blank vote exclusive.
"""

import json

import pytest
from playwright.sync_api import expect

from elections import record, services
from elections.models import Ballot
from elections.verify import main as verify_main

from .conftest import TEST_KEY_BITS
from .test_browser import Watched, browser_page, sign_in  # noqa: F401 (fixture)
from .test_questions import THREE_QUESTIONS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_voter_answers_three_questions_in_the_browser(
    live_server,
    browser_page: Watched,  # noqa: F811
    make_election,
    voter,
    admin_user,
    tmp_path,
):
    election = make_election("board-browser", questions=THREE_QUESTIONS)
    key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    page = browser_page.page
    sign_in(page, live_server.url, voter, f"/elections/{election.slug}/booth/")

    button = page.get_by_role("button", name="Review my choices")
    page.get_by_text("Encryption ready").wait_for()
    assert page.locator("fieldset.question").count() == 3
    expect(page.locator("#rule-3")).to_have_text("Choose between 1 and 2. You may also vote blank.")

    chair = page.locator("#question-1")
    chair.get_by_label("Grace").check()
    expect(page.locator("#status-1")).to_have_text("You have chosen Grace.")
    page.locator("#question-2").get_by_label("Blank vote").check()
    expect(page.locator("#status-2")).to_have_text("You are voting blank on this question.")
    assert button.is_disabled()  # the committee is still unanswered
    expect(page.locator("#selection-status")).to_have_text("Still to answer: question 3.")

    committee = page.locator("#question-3")
    committee.get_by_label("Barbara").check()
    committee.get_by_label("Blank vote").check()  # a blank vote clears the choice...
    assert not committee.get_by_label("Barbara").is_checked()
    committee.get_by_label("Barbara").check()  # ...and a choice clears the blank vote
    assert not committee.get_by_label("Blank vote").is_checked()
    committee.get_by_label("Donald").check()
    committee.get_by_label("Leslie").check()
    expect(page.locator("#status-3")).to_have_text(
        "You have chosen Barbara, Donald and Leslie: at most 2 allowed."
    )
    assert button.is_disabled()
    committee.get_by_label("Leslie").uncheck()
    expect(page.locator("#selection-status")).to_have_text(
        "Your choices: question 1, Grace; question 2, blank vote; question 3, Barbara and Donald."
    )
    assert button.is_enabled()
    button.click()
    expect(page.locator("#review-list dd")).to_have_text(
        ["Grace", "Blank vote", "Barbara and Donald"]
    )
    page.get_by_role("button", name="Encrypt my ballot").click()
    page.get_by_role("button", name="Cast this encrypted ballot").click()

    page.wait_for_url(f"{live_server.url}/elections/{election.slug}/receipt/")
    stored = Ballot.objects.get(election=election, voter=voter)
    assert page.locator("#tracker").inner_text() == stored.tracker
    sent = json.loads(browser_page.cast_bodies[0])
    assert sent["format"] == "evoting/ballot/v2" and len(sent["questions"]) == 3
    assert [len(q["ciphertexts"]) for q in sent["questions"]] == [4, 3, 4]
    assert browser_page.console_errors == [] and browser_page.page_errors == []
    assert browser_page.csp_violations() == []

    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin_user)
    page.goto(f"{live_server.url}/elections/{election.slug}/results/")
    sections = page.locator("section.question-results")
    assert sections.count() == 3
    assert sections.nth(0).locator('td[data-candidate="2"]').inner_text() == "1"
    assert sections.nth(1).locator("td[data-blank]").inner_text() == "1"
    assert sections.nth(1).locator('td[data-candidate="1"]').inner_text() == "0"
    committee_counts = [
        sections.nth(2).locator(f'td[data-candidate="{n}"]').inner_text() for n in (1, 2, 3)
    ]
    assert committee_counts == ["1", "1", "0"]
    assert sections.nth(2).locator("td[data-blank]").inner_text() == "0"
    assert browser_page.csp_violations() == []

    path = tmp_path / "record.json"
    path.write_text("".join(record.stream_record(election)))
    # The command-line verifier's own entry point, here with the small test key allowed.
    assert verify_main([str(path)]) == 0
