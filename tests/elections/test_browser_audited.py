"""An audited ballot checked in a visitor's browser, on the audited ballots page, before
the election is published: the page's worker re-encrypts it, and a tampered file fails."""

import json

import pytest
from playwright.sync_api import expect

from elections import crypto, services

from .test_browser import Watched, browser_page  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTIONS = [
    {"title": "Chair", "options": ["Ada", "Grace", "Alan"]},
    {"title": "Meet online?", "options": ["Yes", "No"], "allow_blank": True},
]


def test_a_visitor_checks_an_audited_ballot_in_the_browser(
    live_server,
    browser_page: Watched,  # noqa: F811
    make_election,
    admin_user,
    voter,
):
    election = make_election("audited-in-browser", questions=QUESTIONS)
    services.generate_keys(election=election, actor=admin_user, bits=1024)
    services.open_election(election=election, actor=admin_user)
    params = services.election_params(election)
    pre = crypto.client.precompute_ballot(params, services.voter_context(election, voter))
    selections = [0, 1, 0, 0, 0, 1]
    ballot = crypto.client.finish_ballot(pre, selections)
    document = crypto.audit_ballot(pre, ballot, selections).to_json()
    stored = services.post_audited_ballot(election=election, voter=voter, payload=document)

    page = browser_page.page
    url = f"{live_server.url}/elections/{election.slug}/audit/"
    page.goto(url)
    button = page.get_by_role("button", name="Check it in this browser")
    button.click()
    status = page.locator(f"#check-{stored.tracker}")
    expect(status).to_have_text(
        "Checked here: it encrypts exactly Chair: Grace; Meet online?: blank vote.",
        timeout=60_000,
    )

    # The same page, served a file whose first choice was changed: the check names it.
    tampered = json.loads(document)
    tampered["choices"][0] = "1"
    page.route(
        f"**/audit/{stored.tracker}.json",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(tampered)
        ),
    )
    page.goto(url)
    page.get_by_role("button", name="Check it in this browser").click()
    expect(status).to_contain_text(
        "This audited ballot does NOT check: question 1, option 1: the ciphertext is not",
        timeout=60_000,
    )
    assert browser_page.page_errors == []
    assert browser_page.csp_violations() == []
