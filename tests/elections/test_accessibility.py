"""Every page a person meets, checked by axe-core in Debian's chromium: no WCAG 2.2 A/AA violation.

axe-core comes from the npm registry at the exact version of package-lock.json
(``npm ci``, run by ``make test``). One browser serves every test; each test
walks many pages of one live site (the public pages, each persona's pages, the
booth in each of its states, the administrator's dashboard) and fails once,
listing every violation found: page, rule, impact, the elements and the rule's
help page. Colour contrast is among the rules. Without JavaScript, the booth and
the election page must say plainly that voting needs it.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from accounts.models import User
from elections import crypto, services
from elections.models import Election

from ..conftest import PASSWORD
from .conftest import TEST_KEY_BITS, OpenElection, make_ballot
from .test_browser import CHROMIUM_ARGS, TRACKER
from .test_browser_trustees import admin_sign_in
from .test_trustees import with_trustees

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
QUESTIONS = [
    {"title": "Chair", "options": ["Ada", "Grace", "Alan"]},
    {"title": "Meet online?", "options": ["Yes", "No"], "allow_blank": True},
]

# axe's results, reduced to what says what to fix.
RUN_AXE = """tags => axe.run(document, {
  runOnly: {type: "tag", values: tags},
  resultTypes: ["violations"],
}).then(result => result.violations.map(v => ({
  rule: v.id, impact: v.impact || "", help: v.help, url: v.helpUrl,
  targets: v.nodes.map(n => n.target.join(" ")),
})))"""

# References to ids that are not on the page. axe only asks for a review when every id
# of an aria-describedby is missing, and passes it when one of them is there.
MISSING_IDS = """() => {
  const missing = [];
  for (const attribute of ["aria-describedby", "aria-labelledby", "aria-controls", "for"]) {
    for (const element of document.querySelectorAll(`[${attribute}]`)) {
      if (attribute === "for" && element.tagName !== "LABEL") continue;
      for (const id of element.getAttribute(attribute).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) {
          missing.push(`${attribute}="${id}" on ${element.outerHTML.slice(0, 120)}`);
        }
      }
    }
  }
  return missing;
}"""

# With scripts turned off the page's timers never fire, and axe waits on setTimeout:
# the harness runs them as microtasks. axe skips <noscript> (hidden when scripts
# run), so the notices shown instead of the scripts are unwrapped to be checked too.
WITHOUT_SCRIPTS = """() => {
  window.setTimeout = (callback, _delay, ...args) => {
    Promise.resolve().then(() => callback(...args));
    return 0;
  };
  for (const notice of document.querySelectorAll("noscript")) {
    const shown = document.createElement("div");
    shown.append(...notice.childNodes);
    notice.replaceWith(shown);
  }
}"""


@dataclass(frozen=True)
class Violation:
    page: str
    rule: str
    impact: str
    help: str
    url: str
    targets: list[str]

    def __str__(self) -> str:
        elements = "\n".join(f"      {target}" for target in self.targets)
        return f"  {self.page}: {self.rule} ({self.impact}) {self.help}\n    {self.url}\n{elements}"


@dataclass
class Audit:
    """Runs axe on page after page, then fails once with everything it found."""

    checked: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    def check(self, page: Page, name: str) -> None:
        # page.evaluate runs outside the page's Content-Security-Policy (script-src
        # 'self' refuses an inline <script>, so add_script_tag would not do).
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(AXE_SOURCE.read_text())
        found = page.evaluate(RUN_AXE, WCAG_TAGS)
        self.violations += [Violation(name, **violation) for violation in found]
        missing = page.evaluate(MISSING_IDS)
        if missing:
            self.violations.append(
                Violation(
                    name,
                    rule="missing-id",
                    impact="serious",
                    help="ARIA and label references must name ids on the page",
                    url="https://www.w3.org/TR/WCAG22/#info-and-relationships",
                    targets=missing,
                )
            )
        self.checked.append(name)

    def check_without_scripts(self, page: Page, name: str) -> None:
        page.evaluate(WITHOUT_SCRIPTS)
        self.check(page, name)

    def assert_clean(self) -> None:
        if self.violations:
            pages = len({v.page for v in self.violations})
            report = "\n".join(str(v) for v in self.violations)
            pytest.fail(
                f"{len(self.violations)} WCAG 2.2 A/AA violation(s) on {pages} of "
                f"{len(self.checked)} pages (page: rule (impact) help, help page, elements):\n"
                f"{report}",
                pytrace=False,
            )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not AXE_SOURCE.is_file():
        pytest.fail(f"{AXE_SOURCE} is missing: install the node packages with `npm ci`")
    # Playwright's sync API keeps an asyncio loop running on this thread; Django's ORM
    # would then refuse the tests' own queries, which are plain synchronous code.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def audit() -> Audit:
    return Audit()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Pages in contexts of their own (cookies apart), closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Page, base_url: str, user: User, next_path: str = "/elections/") -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{next_path}")


def visit(audit: Audit, page: Page, url: str, name: str) -> None:
    page.goto(url)
    audit.check(page, name)


# --- Elections in the phases the pages show -------------------------------------------


def cast_for(election: Election, voter: User, selections: list[int]) -> str:
    payload = make_ballot(election, voter, selections)
    return services.cast_ballot(election=election, voter=voter, payload=payload).tracker


def audited_for(election: Election, voter: User, selections: list[int]) -> str:
    params = services.election_params(election)
    pre = crypto.client.precompute_ballot(params, services.voter_context(election, voter))
    ballot = crypto.client.finish_ballot(pre, selections)
    document = crypto.audit_ballot(pre, ballot, selections).to_json()
    return services.post_audited_ballot(election=election, voter=voter, payload=document).tracker


@dataclass
class Published:
    election: Election
    voter: User
    tracker: str
    audited: str


@pytest.fixture
def published(make_election, make_user, admin_user) -> Published:
    """A published election of two questions, with ballots and an audited ballot."""
    election = make_election("published-2026", questions=QUESTIONS)
    key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    voters = [make_user(f"published_voter_{number}") for number in range(3)]
    audited = audited_for(election, voters[0], [0, 1, 0, 0, 0, 1])
    tracker = cast_for(election, voters[0], [1, 0, 0, 1, 0, 0])
    cast_for(election, voters[1], [0, 1, 0, 0, 0, 1])
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(election=election, key_file=key_file, passphrase=None, actor=admin_user)
    return Published(election, voters[0], tracker, audited)


@pytest.fixture
def closed_with_trustees(make_election, make_user, admin_user) -> Election:
    election = make_election("trustees-2026")
    with_trustees(election, admin_user, threshold=2, trustees=3)
    services.open_election(election=election, actor=admin_user)
    cast_for(election, make_user("trusted_voter"), [1, 0, 0])
    services.close_election(election=election, actor=admin_user)
    return election


# --- The pages ------------------------------------------------------------------------


def test_public_pages_have_no_wcag_violation(
    live_server, new_page, audit: Audit, published: Published, closed_with_trustees, open_election
):
    base, slug = live_server.url, published.election.slug
    page = new_page()
    visit(audit, page, f"{base}/", "home")
    visit(audit, page, f"{base}/elections/", "election list (anonymous)")
    visit(audit, page, f"{base}/elections/{open_election.election.slug}/", "open election")
    visit(audit, page, f"{base}/elections/{slug}/", "published election")
    visit(audit, page, f"{base}/elections/{slug}/results/", "results")
    visit(audit, page, f"{base}/elections/{slug}/board/", "ballot board")
    visit(
        audit,
        page,
        f"{base}/elections/{slug}/board/?tracker={published.tracker[:8]}",
        "board search",
    )
    visit(audit, page, f"{base}/elections/{slug}/board/?tracker=zz", "board search, bad tracker")
    visit(audit, page, f"{base}/elections/{slug}/check/", "receipt check")
    visit(audit, page, f"{base}/elections/{slug}/check/?tracker=zz", "receipt check, bad tracker")
    visit(
        audit,
        page,
        f"{base}/elections/{slug}/check/?tracker={published.tracker}",
        "receipt check, found",
    )
    visit(
        audit, page, f"{base}/elections/{slug}/check/?tracker={'0' * 64}", "receipt check, absent"
    )

    page.goto(f"{base}/elections/{slug}/audit/")
    audit.check(page, "audited ballots")
    page.get_by_role("button", name="Check it in this browser").click()
    expect(page.locator(f"#check-{published.audited}")).to_contain_text("Checked", timeout=60_000)
    audit.check(page, "audited ballots, one checked")

    page.goto(f"{base}/elections/{slug}/verify/")
    verdict = page.locator("#verify-verdict")
    expect(verdict).to_have_attribute("data-verdict", "verified", timeout=60_000)
    audit.check(page, "verify")
    page.get_by_role("textbox", name="Tracker").fill(published.tracker)
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#tracker-result")).not_to_have_text("")
    audit.check(page, "verify, tracker found")

    page.goto(f"{base}/elections/{closed_with_trustees.slug}/trustee/")
    audit.check(page, "trustee page")
    visit(audit, page, f"{base}/elections/no-such-election/", "not found")

    page = new_page()
    sign_in(page, base, published.voter)
    visit(audit, page, f"{base}/elections/{slug}/receipt/", "receipt, published")
    visit(audit, page, f"{base}/elections/{slug}/booth/", "booth refused, published")
    audit.assert_clean()


def test_account_pages_have_no_wcag_violation(live_server, new_page, audit: Audit, voter):
    base = live_server.url
    page = new_page()
    visit(audit, page, f"{base}/accounts/login/", "login")
    page.get_by_label("Username").fill(voter.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".form-errors")).to_be_visible()
    audit.check(page, "login, wrong password")
    visit(audit, page, f"{base}/accounts/register/voter/", "register as a voter")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".field.has-error").first).to_be_visible()
    audit.check(page, "register as a voter, errors")
    visit(audit, page, f"{base}/accounts/register/candidate/", "register as a candidate")

    visit(audit, page, f"{base}/accounts/password/reset/", "password reset")
    page.get_by_label("Email").fill(voter.email)
    page.get_by_role("button", name="Send the link").click()
    page.wait_for_url(f"{base}/accounts/password/reset/sent/")
    audit.check(page, "password reset, sent")
    uid = urlsafe_base64_encode(force_bytes(voter.pk))
    token = default_token_generator.make_token(voter)
    page.goto(f"{base}/accounts/password/reset/{uid}/{token}/")
    audit.check(page, "password reset, new password")
    visit(
        audit, page, f"{base}/accounts/password/reset/{uid}/bad-token/", "password reset, bad link"
    )
    visit(audit, page, f"{base}/accounts/password/reset/complete/", "password reset, complete")

    for _ in range(5):
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Username").fill(voter.username)
        page.get_by_label("Password").fill("still not the password")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Too many failed sign-in attempts")).to_be_visible()
    audit.check(page, "lockout")
    audit.assert_clean()


def test_the_pages_of_each_persona_have_no_wcag_violation(
    live_server,
    new_page,
    audit: Audit,
    open_election: OpenElection,
    make_election,
    voter,
    pending_voter,
    candidate,
):
    base, slug = live_server.url, open_election.election.slug
    services.request_candidacy(
        candidate=candidate, question=make_election("draft-2026").questions.get()
    )

    page = new_page()
    sign_in(page, base, voter)
    audit.check(page, "election list (voter)")
    visit(audit, page, f"{base}/elections/{slug}/", "election (voter, may vote)")
    visit(audit, page, f"{base}/accounts/me/", "voter's account")
    visit(audit, page, f"{base}/accounts/password/", "password change")

    page = new_page()
    sign_in(page, base, pending_voter)
    audit.check(page, "election list (pending voter)")
    visit(audit, page, f"{base}/elections/{slug}/", "election (pending voter)")
    visit(audit, page, f"{base}/accounts/me/", "pending voter's account")
    visit(audit, page, f"{base}/elections/{slug}/booth/", "booth, awaiting approval")

    page = new_page()
    sign_in(page, base, candidate)
    audit.check(page, "election list (candidate)")
    visit(audit, page, f"{base}/elections/{slug}/", "election (candidate)")
    visit(audit, page, f"{base}/accounts/me/", "candidate's account")
    visit(audit, page, f"{base}/accounts/me/candidate/", "candidate profile")
    visit(audit, page, f"{base}/accounts/candidacies/", "candidacies")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/")
    audit.check(page, "home, signed out")
    audit.assert_clean()


def test_the_booth_in_each_state_has_no_wcag_violation(
    live_server, new_page, audit: Audit, make_election, admin_user, voter
):
    election = make_election("booth-2026", questions=QUESTIONS)
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    base, booth = live_server.url, f"/elections/{election.slug}/booth/"
    page = new_page()
    sign_in(page, base, voter, booth)

    page.get_by_text("Encryption ready").wait_for()
    audit.check(page, "booth: choose")
    page.get_by_label("Grace", exact=True).check()
    page.get_by_label("Blank vote").check()
    page.get_by_role("button", name="Review my choices").click()
    audit.check(page, "booth: review")
    page.get_by_role("button", name="Encrypt my ballot").click()
    expect(page.locator("#booth-tracker")).to_have_text(TRACKER, timeout=30_000)
    audit.check(page, "booth: tracker, cast or audit")
    page.get_by_role("button", name="Audit this ballot instead").click()
    audit.check(page, "booth: audit?")
    page.get_by_role("button", name="Reveal and audit this ballot").click()
    expect(page.locator("#audited-published")).to_be_visible(timeout=30_000)
    audit.check(page, "booth: audited result")

    page.get_by_text("Encryption ready").wait_for()
    page.get_by_label("Ada", exact=True).check()
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Review my choices").click()
    page.get_by_role("button", name="Encrypt my ballot").click()
    expect(page.locator("#booth-tracker")).to_have_text(TRACKER, timeout=30_000)
    cast_for(election, voter, [0, 0, 1, 0, 1, 0])  # from another tab, meanwhile
    page.get_by_role("button", name="Cast this encrypted ballot").click()
    expect(page.get_by_role("heading", name="You have already voted")).to_be_visible()
    audit.check(page, "booth: already voted")

    visit(audit, page, f"{base}/elections/{election.slug}/receipt/", "receipt")
    visit(audit, page, f"{base}/elections/{election.slug}/", "election (voter, voted)")
    audit.assert_clean()


def test_the_election_dashboard_has_no_wcag_violation(
    live_server, new_page, audit: Audit, make_election, admin_user, candidate
):
    draft = make_election("draft-2026")
    # Boxes and revoting: once open, the dashboard shows the table of boxes.
    election = make_election("dashboard-2026", ballot_boxes=3, allow_revoting=True)
    with_trustees(election, admin_user, threshold=2, trustees=3)
    services.request_candidacy(candidate=candidate, question=election.questions.get())
    base = live_server.url
    dashboard = f"/admin/elections/election/{election.pk}/dashboard/"
    page = new_page()
    visit(audit, page, f"{base}/admin/login/", "admin login")
    admin_sign_in(page, base, admin_user, dashboard)
    audit.check(page, "dashboard, draft")
    page.get_by_role("button", name=re.compile("^Decline ")).click()
    expect(page.get_by_label("Reason (optional)")).to_be_visible()
    audit.check(page, "dashboard: confirm a candidacy decision")
    page.goto(f"{base}{dashboard}")
    page.get_by_role("button", name="Open the election…").click()
    expect(page.get_by_role("heading", name="What cannot be undone")).to_be_visible()
    audit.check(page, "dashboard: confirm opening")
    page.get_by_role("button", name="Confirm: Open the election").click()
    page.wait_for_url(f"{base}{dashboard}")
    expect(page.get_by_role("region", name="Ballots per box (3 boxes)")).to_be_visible()
    audit.check(page, "dashboard, open")
    page.get_by_role("button", name="Reset to a draft…").click()
    expect(page.get_by_label("Type the election's identifier to confirm")).to_be_visible()
    audit.check(page, "dashboard: confirm reset")
    page.get_by_label("Type the election's identifier to confirm").fill("not-the-slug")
    page.get_by_role("button", name="Confirm: Reset to a draft").click()
    expect(page.locator(".errorlist")).to_be_visible()
    audit.check(page, "dashboard: confirm reset, wrong identifier")

    page.goto(f"{base}/admin/elections/election/{draft.pk}/change/")
    expect(page.get_by_role("textbox", name="Opens at: time")).to_be_visible()
    audit.check(page, "election change form, draft")

    # The admin follows the system's dark theme: its colours must hold there too.
    dark = new_page(color_scheme="dark")
    admin_sign_in(dark, base, admin_user, dashboard)
    audit.check(dark, "dashboard, dark theme")
    audit.assert_clean()


# --- Without JavaScript ----------------------------------------------------------------


def test_without_javascript_the_booth_and_election_page_say_voting_needs_it(
    live_server, new_page, audit: Audit, open_election: OpenElection, voter
):
    base, slug = live_server.url, open_election.election.slug
    anonymous = new_page(java_script_enabled=False)
    anonymous.goto(f"{base}/elections/{slug}/")
    # innerText is what is rendered; Playwright's text matchers skip <noscript>.
    shown = anonymous.locator("#voting").evaluate("section => section.innerText")
    assert shown.index("Voting needs JavaScript") < shown.index("Sign in to vote")
    audit.check_without_scripts(anonymous, "election without JavaScript (anonymous)")

    page = new_page(java_script_enabled=False)
    sign_in(page, base, voter, f"/elections/{slug}/")
    shown = page.locator("#voting").evaluate("section => section.innerText")
    assert shown.index("Voting needs JavaScript") < shown.index("Vote now")
    audit.check_without_scripts(page, "election without JavaScript (voter)")

    page.goto(f"{base}/elections/{slug}/booth/")
    shown = page.locator("main").evaluate("main => main.innerText")
    assert shown.index("This booth needs JavaScript") < shown.index("Make your choice")
    # Nothing pretends to work: without the script there is no encryption, and no
    # button goes further.
    expect(page.get_by_role("button", name="Review my choices")).to_be_disabled()
    audit.check_without_scripts(page, "booth without JavaScript")
    audit.assert_clean()

    # With JavaScript, neither notice is shown.
    page = new_page()
    sign_in(page, base, voter, f"/elections/{slug}/booth/")
    assert "needs JavaScript" not in page.locator("main").evaluate("main => main.innerText")
    page.goto(f"{base}/elections/{slug}/")
    assert "needs JavaScript" not in page.locator("main").evaluate("main => main.innerText")


def test_the_report_names_what_to_fix(live_server, new_page, audit: Audit):
    page = new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    audit.check(page, "login")
    page.evaluate("""() => {
      document.querySelector("label[for=id_username]").remove();
      document.querySelector("h1").style.color = "#bbb";
      document.querySelector("#id_password").setAttribute("aria-describedby", "nowhere");
    }""")
    audit.check(page, "login, broken")
    with pytest.raises(pytest.fail.Exception) as failure:
        audit.assert_clean()
    report = str(failure.value)
    assert "3 WCAG 2.2 A/AA violation(s) on 1 of 2 pages" in report
    assert "login, broken: label (critical) Form elements must have labels" in report
    assert "login, broken: color-contrast (serious)" in report
    assert re.search(r"https://dequeuniversity.com/rules/axe/[0-9.]+/label", report)
    assert "      #id_username\n" in report and "      h1\n" in report
    assert (
        "login, broken: missing-id (serious)" in report and 'aria-describedby="nowhere"' in report
    )
