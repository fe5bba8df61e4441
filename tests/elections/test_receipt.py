"""The receipt: what it shows, prints and downloads (never the choice), and how it is checked."""

import json
import re
from datetime import UTC

import pytest
from django.test import Client
from django.urls import reverse

from elections import services
from elections.models import Ballot

from .conftest import OpenElection


@pytest.fixture
def cast(open_election: OpenElection, voter, ballot_for) -> Ballot:
    """The voter's ballot for Grace (slot 1) on the board of the open election."""
    election = open_election.election
    return services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [0, 1, 0])
    )


def receipt_page(client: Client, ballot: Ballot) -> str:
    response = client.get(reverse("elections:receipt", kwargs={"slug": ballot.election.slug}))
    assert response.status_code == 200
    return response.content.decode()


def json_script(page: str, element_id: str) -> dict[str, object]:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page)
    assert match is not None
    loaded: dict[str, object] = json.loads(match.group(1))
    return loaded


def test_the_receipt_shows_tracker_election_time_position_and_chain_hash(login_as, voter, cast):
    page = receipt_page(login_as(voter), cast)
    assert f'<dd class="mono" id="tracker">{cast.tracker}</dd>' in page
    assert f'<dd id="receipt-election">{cast.election.title}</dd>' in page
    assert f'<dd id="sequence">#{cast.sequence}</dd>' in page
    assert cast.chain_hash in page
    assert cast.cast_at.astimezone(UTC).strftime("%H:%M:%S") + " UTC" in page


def test_the_receipt_never_shows_the_choice(login_as, voter, cast):
    page = receipt_page(login_as(voter), cast)
    assert cast.content not in page
    for name in ("Ada", "Grace", "Alan"):
        assert name not in page


def test_the_receipt_data_for_print_and_download_is_the_receipt_and_nothing_more(
    login_as, voter, cast
):
    data = json_script(receipt_page(login_as(voter), cast), "receipt-data")
    slug = cast.election.slug
    assert data == {
        "election": cast.election.title,
        "slug": slug,
        "tracker": cast.tracker,
        "sequence": cast.sequence,
        "cast_at": cast.cast_at.astimezone(UTC).isoformat(timespec="milliseconds"),
        "chain_hash": cast.chain_hash,
        "check_url": f"http://testserver/elections/{slug}/check/?tracker={cast.tracker}",
        "storage_key": f"evoting.booth.{slug}",
    }


def test_print_and_download_come_from_a_script_not_inline_code(login_as, voter, cast):
    page = receipt_page(login_as(voter), cast)
    # Buttons that only work with the script stay hidden until it shows them.
    assert '<button type="button" class="button" id="print-receipt" hidden>' in page
    assert 'id="download-receipt" hidden>' in page
    assert "elections/js/receipt.js" in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)
    assert "onclick" not in page and " style=" not in page


def test_the_receipt_names_the_public_check_that_works_after_sign_out(login_as, voter, cast):
    page = receipt_page(login_as(voter), cast)
    check = reverse("elections:check", kwargs={"slug": cast.election.slug})
    assert "stays checkable after you sign out" in page
    assert f"http://testserver{check}</a>" in page
    # Signed out, anyone finds the ballot with the tracker alone.
    response = Client().get(
        reverse("elections:check_json", kwargs={"slug": cast.election.slug}),
        {"tracker": cast.tracker},
    )
    assert response.json()["found"] is True
    assert response.json()["sequence"] == cast.sequence


def test_the_receipt_compares_with_the_tracker_the_booth_kept(login_as, voter, cast):
    booth_key = f"evoting.booth.{cast.election.slug}"
    page = receipt_page(login_as(voter), cast)
    assert json_script(page, "receipt-data")["storage_key"] == booth_key
    assert 'id="booth-comparison" hidden' in page and 'id="booth-none" class="help" hidden' in page
    assert 'id="booth-mismatch" class="alert" role="alert" hidden' in page


def test_the_booth_keeps_its_tracker_where_the_receipt_looks(
    login_as, open_election: OpenElection, voter
):
    slug = open_election.election.slug
    response = login_as(voter).get(reverse("elections:booth", kwargs={"slug": slug}))
    params = json_script(response.content.decode(), "booth-params")
    assert params["storage_key"] == f"evoting.booth.{slug}"
    assert params["receipt_url"] == reverse("elections:receipt", kwargs={"slug": slug})
    assert params["check_json_url"] == reverse("elections:check_json", kwargs={"slug": slug})
    assert params["audit_url"] == reverse("elections:audit", kwargs={"slug": slug})


@pytest.mark.parametrize("page", ["booth", "receipt"])
def test_booth_and_receipt_are_never_cached(login_as, open_election, voter, ballot_for, page):
    # The back button must ask again: a voter who voted gets the receipt, not a stale booth.
    election = open_election.election
    client = login_as(voter)
    if page == "receipt":
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, [1, 0, 0])
        )
    response = client.get(reverse(f"elections:{page}", kwargs={"slug": election.slug}))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_a_voter_who_voted_is_sent_from_the_booth_to_the_receipt_only(
    login_as, open_election, voter, cast
):
    slug = open_election.election.slug
    client = login_as(voter)
    response = client.get(reverse("elections:booth", kwargs={"slug": slug}), follow=True)
    assert response.redirect_chain == [(reverse("elections:receipt", kwargs={"slug": slug}), 302)]
    page = response.content.decode()
    assert cast.tracker in page and "booth-params" not in page and "Cast this" not in page


def test_the_receipt_is_the_voters_own(login_as, open_election, voter, make_user, cast):
    outsider = make_user("olga_outsider")
    response = login_as(outsider).get(
        reverse("elections:receipt", kwargs={"slug": open_election.election.slug})
    )
    assert response.status_code == 404
    assert cast.tracker not in response.content.decode()
    anonymous = Client().get(reverse("elections:receipt", kwargs={"slug": cast.election.slug}))
    assert anonymous.status_code == 302 and cast.tracker not in anonymous.content.decode()
