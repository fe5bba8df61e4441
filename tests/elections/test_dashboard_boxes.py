"""The dashboard shows the board's layout: ballot boxes, revoting and the replaced ballots."""

import re

import pytest
from django.urls import reverse

from elections import services
from elections.models import Election, EncryptedTally

from .conftest import TEST_KEY_BITS, make_ballot

pytestmark = pytest.mark.django_db


def dashboard(client, election: Election) -> str:
    page = client.get(reverse("admin:elections_election_dashboard", args=[election.pk]))
    assert page.status_code == 200
    return page.content.decode()


def fact(html: str, name: str) -> str:
    """The text of the dashboard's ``<dd data-fact="name">``, or ``""`` when it is not shown."""
    found = re.search(rf'<dd data-fact="{name}">(.*?)</dd>', html, re.S)
    return " ".join(found.group(1).split()) if found else ""


def box_table(html: str) -> dict[int, list[int]]:
    """The per-box table: box number to its row's numbers, in column order."""
    rows = re.findall(r'<tr data-box="(\d+)">(.*?)</tr>', html, re.S)
    return {
        int(box): [int(cell) for cell in re.findall(r"<t[hd][^>]*>(\d+)</t[hd]>", cells)][1:]
        for box, cells in rows
    }


def opened(make_election, admin_user, **fields) -> Election:
    election = make_election("boxes-dash", **fields)
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    election.refresh_from_db()
    return election


def cast(election: Election, voter, selections) -> None:
    services.cast_ballot(
        election=election, voter=voter, payload=make_ballot(election, voter, selections)
    )


def test_a_draft_shows_its_boxes_and_revoting_without_a_box_table(
    make_election, admin_user, login_as
):
    election = make_election("boxes-draft", ballot_boxes=4, allow_revoting=True)
    html = dashboard(login_as(admin_user), election)
    assert fact(html, "boxes") == "4"
    assert fact(html, "revoting").startswith("On: voters may replace their ballot")
    # No tallies before the opening: no table, and nothing replaced yet.
    assert 'id="box-table"' not in html
    assert fact(html, "replaced").startswith("0 ")


def test_an_open_election_with_boxes_and_revoting_shows_each_box_and_the_replaced_ballots(
    make_election, admin_user, make_user, login_as
):
    election = opened(make_election, admin_user, ballot_boxes=3, allow_revoting=True)
    voters = [make_user(f"box_voter_{i}") for i in range(5)]
    for voter in voters:
        cast(election, voter, [1, 0, 0])
    # Two voters change their minds; one of them twice.
    cast(election, voters[0], [0, 1, 0])
    cast(election, voters[0], [0, 0, 1])
    cast(election, voters[3], [0, 1, 0])

    html = dashboard(login_as(admin_user), election)
    assert fact(html, "boxes") == "3"
    assert fact(html, "revoting").startswith("On:")
    assert fact(html, "replaced") == "3 (kept on the board, not counted)"
    assert "Ballots per box (3 boxes)" in html
    table = box_table(html)
    tallies = EncryptedTally.objects.filter(election=election).order_by("box")
    assert table == {
        tally.box: [tally.ballot_count, tally.counted, tally.ballot_count - tally.counted]
        for tally in tallies
    }
    assert sorted(table) == [0, 1, 2]
    assert sum(row[0] for row in table.values()) == 8
    assert sum(row[1] for row in table.values()) == 5
    assert sum(row[2] for row in table.values()) == 3
    # The table shows counts only, never a box's encrypted totals.
    ciphertexts = [value for tally in tallies for value in tally.ciphertexts if len(value) > 16]
    assert ciphertexts and not any(value in html for value in ciphertexts)


def test_without_revoting_the_dashboard_says_one_ballot_per_voter(
    make_election, admin_user, voter, login_as
):
    election = opened(make_election, admin_user)
    cast(election, voter, [0, 1, 0])
    html = dashboard(login_as(admin_user), election)
    assert fact(html, "boxes") == "1"
    assert fact(html, "revoting") == "Off: one ballot per voter."
    assert fact(html, "replaced") == ""
    assert "Replaced</th>" not in html
    assert "Ballots per box (1 box)" in html
    assert box_table(html) == {0: [1, 1]}


def test_the_box_table_is_translated(make_election, admin_user, login_as):
    election = opened(make_election, admin_user, ballot_boxes=2, allow_revoting=True)
    client = login_as(admin_user)
    client.cookies["django_language"] = "fr"
    html = dashboard(client, election)
    assert "Ballot boxes" not in html and "Replaced ballots" not in html
    assert box_table(html) == {0: [0, 0, 0], 1: [0, 0, 0]}
