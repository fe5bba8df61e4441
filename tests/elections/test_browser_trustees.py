"""The trustees' browser pages in Debian's chromium: the key ceremony in the admin and
the trustee page, with every request the browser sends inspected for share material.

The ceremony deals a 2-of-3 key in the administrator's browser and saves three
share files sealed under the trustees' passphrases; only public.json reaches the
site. Two trustees then open their files on the trustee page, and only their
partial decryptions are posted; the site publishes the right counts from them.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from elections import services
from elections.crypto.encoding import int_to_hex
from elections.models import Election, Result, TrusteeDecryption
from elections.trustee.files import load_public_key, load_share

from ..conftest import PASSWORD
from .test_browser import Watched, browser_page  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTIONS = [{"title": "Chair", "options": ["Ada", "Grace", "Alan"]}]
PASSPHRASES = {
    1: "first trustee's passphrase",
    2: "second trustee passphrase",
    3: "third one, long",
}
CHOICES = [[1, 0, 0], [0, 1, 0], [1, 0, 0]]


class Sent:
    """Every request the browser makes, its body included, from the page and its workers."""

    def __init__(self, page: Page) -> None:
        self.requests: list[tuple[str, str, str]] = []
        page.context.on("request", self.record)

    def record(self, request: Any) -> None:
        body = request.post_data_buffer
        self.requests.append((request.method, request.url, body.decode("latin-1") if body else ""))

    def bodies(self) -> str:
        return "\n".join(body for _, _, body in self.requests)

    def posts_to(self, fragment: str) -> list[str]:
        return [body for method, url, body in self.requests if method == "POST" and fragment in url]


class Received:
    """Every byte of every request body the site reads, recorded inside the web process.

    Chromium does not report the file parts of a multipart upload to Playwright, so
    what the browser sends is also checked where it arrives: each request's WSGI
    input is wrapped before Django reads it.
    """

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def text(self) -> str:
        return b"".join(self.chunks).decode("latin-1")


class _Tee:
    def __init__(self, stream: Any, sink: list[bytes]) -> None:
        self.stream, self.sink = stream, sink

    def read(self, *args: Any) -> bytes:
        data = self.stream.read(*args)
        self.sink.append(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data = self.stream.readline(*args)
        self.sink.append(data)
        return data


@pytest.fixture
def received(monkeypatch) -> Received:
    from django.core.handlers.wsgi import WSGIRequest

    record = Received()
    original = WSGIRequest.__init__

    def recording_init(self: WSGIRequest, environ: dict[str, Any]) -> None:
        environ["wsgi.input"] = _Tee(environ["wsgi.input"], record.chunks)
        original(self, environ)

    monkeypatch.setattr(WSGIRequest, "__init__", recording_init)
    return record


def admin_sign_in(page: Page, base_url: str, user, next_path: str) -> None:
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}{next_path}")


def run_ceremony(page: Page, base_url: str, election: Election, tmp_path: Path) -> dict[int, Path]:
    path = f"/admin/elections/election/{election.pk}/trustee-key/"
    page.goto(base_url + path)
    page.get_by_label("Trustees (N)").fill("3")
    page.get_by_label("Needed to decrypt (K)").fill("2")
    page.get_by_label("Key size").select_option("512")
    page.get_by_role("button", name="Generate the key here").click()
    page.get_by_text("Key made in").wait_for(timeout=120_000)
    saved: dict[int, Path] = {}
    for index, passphrase in PASSPHRASES.items():
        row = page.locator(f'#ceremony-share-list [data-trustee="{index}"]')
        row.locator(f"#ceremony-pass-{index}").fill(passphrase)
        row.locator(f"#ceremony-again-{index}").fill(passphrase)
        with page.expect_download(timeout=60_000) as download:
            row.get_by_role("button", name=f"Save trustee-{index}.json").click()
        assert download.value.suggested_filename == f"trustee-{index}.json"
        saved[index] = tmp_path / f"trustee-{index}.json"
        download.value.save_as(saved[index])
    fingerprint = page.locator("#ceremony-fingerprint").inner_text()
    page.get_by_role("button", name="Use this key for the election").click()
    page.wait_for_url(f"{base_url}/admin/elections/election/{election.pk}/change/")
    election.refresh_from_db()
    assert load_public_key(election.trustee_key).fingerprint == fingerprint
    return saved


def decrypt_on_trustee_page(page: Page, base_url: str, election: Election, share: Path, index: int):
    page.goto(f"{base_url}/elections/{election.slug}/trustee/")
    page.get_by_label("Your share file").set_input_files(str(share))
    page.get_by_label("Its passphrase").fill(PASSPHRASES[index])
    page.get_by_role("button", name="Compute my partial decryption").click()
    page.get_by_text(f"Trustee {index}: your partial decryption is ready").wait_for(timeout=120_000)
    page.get_by_role("button", name="Send it to the site").click()
    page.get_by_text(f"Accepted: trustee {index}'s partial decryption is stored").wait_for()


def secrets_of(election: Election, files: dict[int, Path]) -> list[str]:
    """Every spelling of share material: each s_i, each sealed file's ciphertext, passphrases."""
    public = load_public_key(election.trustee_key)
    found = []
    for index, path in files.items():
        data = path.read_bytes()
        share = load_share(data, public=public, passphrase=PASSPHRASES[index])
        found += [int_to_hex(share.share), str(share.share), json.loads(data)["ciphertext"][:64]]
        found.append(PASSPHRASES[index])
    return found


def test_the_ceremony_and_the_trustee_page_send_no_share_material(
    live_server,
    browser_page: Watched,  # noqa: F811
    received: Received,
    make_election,
    admin_user,
    make_user,
    ballot_for,
    tmp_path,
):
    page = browser_page.page
    sent = Sent(page)
    election = make_election("browser-council", questions=QUESTIONS)
    admin_sign_in(page, live_server.url, admin_user, "/admin/")
    files = run_ceremony(page, live_server.url, election, tmp_path)
    # What reached the site from the ceremony: one upload, of public.json.
    assert len(sent.posts_to("/trustee-key/")) == 1
    assert "evoting/trustee-public-key/v1" in received.text()
    assert "trustee-share" not in received.text()

    services.open_election(election=election, actor=admin_user)
    for number, choice in enumerate(CHOICES):
        voter = make_user(f"voter_{number}")
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, choice)
        )
    services.close_election(election=election, actor=admin_user)

    page.context.clear_cookies()  # trustees need no account
    for index in (1, 3):
        decrypt_on_trustee_page(page, live_server.url, election, files[index], index)
    partial_posts = sent.posts_to("/trustee/partial/")
    assert len(partial_posts) == 2
    assert all(
        json.loads(body)["format"] == "evoting/partial-decryption/v1" for body in partial_posts
    )
    assert sorted(TrusteeDecryption.objects.values_list("trustee", flat=True)) == [1, 3]

    bodies, arrived = sent.bodies(), received.text()
    assert "evoting/partial-decryption/v1" in arrived
    for secret in secrets_of(election, files):
        assert secret not in bodies and secret not in arrived
    services.publish_with_trustees(election=election, actor=admin_user)
    assert [r.count for r in Result.objects.filter(election=election).order_by("slot")] == [2, 1, 0]
    assert browser_page.page_errors == []
    assert browser_page.csp_violations() == []


def test_the_trustee_page_refuses_a_wrong_passphrase_without_sending_anything(
    live_server,
    browser_page: Watched,  # noqa: F811
    make_election,
    admin_user,
    make_user,
    ballot_for,
    tmp_path,
):
    from elections.crypto.threshold import deal
    from elections.trustee.files import dump_public_key, dump_share, make_public_key

    election = make_election("browser-wrong", questions=QUESTIONS)
    key, shares = deal(512, 1, 1)
    public = make_public_key(str(election.pk), key)
    services.set_election_key(election=election, public_file=dump_public_key(public), actor=None)
    share_file = tmp_path / "trustee-1.json"
    share_file.write_bytes(dump_share(public, shares[0], passphrase=PASSPHRASES[1]))
    services.open_election(election=election, actor=admin_user)
    voter = make_user("voter_one")
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, CHOICES[0])
    )
    services.close_election(election=election, actor=admin_user)

    page = browser_page.page
    sent = Sent(page)
    page.goto(f"{live_server.url}/elections/{election.slug}/trustee/")
    page.get_by_label("Your share file").set_input_files(str(share_file))
    page.get_by_label("Its passphrase").fill("not the passphrase at all")
    page.get_by_role("button", name="Compute my partial decryption").click()
    page.get_by_text("wrong passphrase, or the share file was modified").wait_for(timeout=60_000)
    assert sent.posts_to("/trustee/partial/") == []
    assert not TrusteeDecryption.objects.exists()
    assert browser_page.csp_violations() == []
