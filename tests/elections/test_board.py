"""The public ballot board: pages, search, downloads, the receipt check and the live head hash."""

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from accounts.models import User
from elections import board, board_views, crypto, services, verify
from elections.models import Ballot, Election, EncryptedTally
from elections.verify import verify_record

from .conftest import OpenElection

SELECTIONS = ([1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0])


@pytest.fixture(scope="module", autouse=True)
def _stop_workers() -> Iterator[None]:
    yield
    crypto.shutdown_workers()


@dataclass
class Voted:
    election: Election
    key_file: bytes
    voters: list[User]

    def ballots(self) -> list[Ballot]:
        return list(Ballot.objects.filter(election=self.election).order_by("sequence"))


@pytest.fixture
def voted(open_election: OpenElection, make_user, ballot_for) -> Voted:
    """The open election with five ballots cast through the services, by five voters."""
    election = open_election.election
    voters = [make_user(f"voter_{index}") for index in range(len(SELECTIONS))]
    for voter, selection in zip(voters, SELECTIONS, strict=True):
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, selection)
        )
    return Voted(election, open_election.key_file, voters)


def close(voted: Voted, admin_user: User) -> None:
    services.close_election(election=voted.election, actor=admin_user)


def publish(voted: Voted, admin_user: User) -> None:
    close(voted, admin_user)
    services.decrypt_tally(
        election=voted.election, key_file=voted.key_file, passphrase=None, actor=admin_user
    )


def url(name: str, election: Election) -> str:
    return reverse(f"elections:{name}", kwargs={"slug": election.slug})


def get_page(name: str, election: Election, client: Client | None = None, **query: str):
    return (client or Client()).get(url(name, election), query)


def head_of(election: Election) -> str:
    return EncryptedTally.objects.get(election=election).head_hash


def row_order(page: str, ballots: list[Ballot]) -> list[int]:
    """The sequence numbers of ``ballots`` in the order their rows appear on the page."""
    present = [ballot for ballot in ballots if f'id="ballot-{ballot.sequence}"' in page]
    return [b.sequence for b in sorted(present, key=lambda b: page.index(b.tracker))]


def streamed_chunks(response) -> list[bytes]:
    assert isinstance(response, StreamingHttpResponse)
    content = response.streaming_content
    assert isinstance(content, Iterator)  # synchronous: the WSGI server writes as it reads
    return list(content)


def streamed_bytes(response) -> bytes:
    return b"".join(streamed_chunks(response))


# --- The board page ------------------------------------------------------------------------


def test_the_board_lists_every_ballot_in_order_with_the_head_hash(voted):
    ballots = voted.ballots()
    response = get_page("board", voted.election)
    assert response.status_code == 200
    page = response.content.decode()
    assert row_order(page, ballots) == [1, 2, 3, 4, 5]
    for ballot in ballots:
        cast_at = board.format_cast_at(ballot.cast_at)
        assert cast_at in page and cast_at.endswith("Z") and len(cast_at) == 24
        assert f"?page=1#ballot-{ballot.sequence}" in page
    assert head_of(voted.election) == ballots[-1].chain_hash
    assert f'id="board-head">{ballots[-1].chain_hash}<' in page
    assert '<dd id="ballot-count">5</dd>' in page
    assert "Closing hash" not in page
    assert url("board_json", voted.election) in page and url("check", voted.election) in page
    assert url("record_json", voted.election) not in page
    assert '<th scope="col">Tracker</th>' in page and 'role="search"' in page
    assert "<script" not in page


def test_the_board_is_paginated_in_sequence_order(voted, monkeypatch):
    monkeypatch.setattr(board_views, "BALLOTS_PER_PAGE", 2)
    ballots = voted.ballots()
    pages = [get_page("board", voted.election, page=str(n)).content.decode() for n in (1, 2, 3)]
    assert [row_order(page, ballots) for page in pages] == [[1, 2], [3, 4], [5]]
    assert "Page 1 of 3" in pages[0] and "Ballots 1 to 2 of 5" in pages[0]
    assert 'href="?page=2" rel="next"' in pages[0] and "rel=prev" not in pages[0]
    assert 'href="?page=2" rel="prev"' in pages[2] and "?page=3#ballot-5" in pages[2]
    # A page number out of range or not a number shows the nearest page, not an error.
    assert row_order(get_page("board", voted.election, page="99").content.decode(), ballots) == [5]
    first = get_page("board", voted.election, page="abc")
    assert first.status_code == 200 and row_order(first.content.decode(), ballots) == [1, 2]


def test_the_board_finds_a_tracker_or_its_prefix(voted, monkeypatch):
    monkeypatch.setattr(board_views, "BALLOTS_PER_PAGE", 2)
    ballots = voted.ballots()
    target = ballots[4]
    whole = get_page("board", voted.election, tracker=target.tracker).content.decode()
    assert row_order(whole, ballots) == [5]
    assert "1 ballot found" in whole
    # The row links to the page of the full listing where the ballot sits.
    assert f"{url('board', voted.election)}?page=3#ballot-5" in whole
    # Upper case and spaces from a wrapped line do not matter; eight characters are enough.
    typed = f" {target.tracker[:4].upper()} {target.tracker[4:8]} "
    prefix = get_page("board", voted.election, tracker=typed)
    assert prefix.status_code == 200
    assert row_order(prefix.content.decode(), ballots) == [5]


def test_a_search_without_match_says_so(voted):
    unused = next(
        digits
        for digits in ("00000000", "11111111", "22222222")
        if not any(b.tracker.startswith(digits) for b in voted.ballots())
    )
    response = get_page("board", voted.election, tracker=unused)
    assert response.status_code == 200
    assert "No ballot on this board has a tracker that begins with" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("not-a-tracker", "only the digits 0-9 and the letters a-f"),
        ("abc1234", "between 8 and 64 characters of the tracker; this has 7"),
        ("a" * 65, "this has 65"),
    ],
)
def test_a_bad_search_gives_a_clear_message(voted, query, message):
    response = get_page("board", voted.election, tracker=query)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and 'class="error" role="alert"' in page
    assert row_order(page, voted.ballots()) == []
    assert '<dd id="ballot-count">5</dd>' in page  # the board's facts are still there


def test_an_open_board_shows_only_the_ballots_in_the_running_tally(voted):
    # A ballot being stored sits beyond the tally's count for an instant: the board
    # shows the snapshot the head hash covers, never a ballot the head does not.
    first, second = voted.ballots()[:2]
    EncryptedTally.objects.filter(election=voted.election).update(
        ballot_count=1, head_hash=first.chain_hash
    )
    page = get_page("board", voted.election).content.decode()
    assert row_order(page, voted.ballots()) == [1]
    assert f'id="board-head">{first.chain_hash}<' in page
    check = get_page("check", voted.election, tracker=second.tracker).content.decode()
    assert "is not on the board" in check
    listed = json.loads(streamed_bytes(get_page("board_json", voted.election)))
    assert [entry["tracker"] for entry in listed["ballots"]] == [first.tracker]
    assert listed["chain"]["head"] == first.chain_hash


def test_the_closing_hash_appears_once_closed(voted, admin_user):
    close(voted, admin_user)
    voted.election.refresh_from_db()
    closing = voted.election.closing_hash
    assert closing == board.closing_hash(head_of(voted.election), 5)
    page = get_page("board", voted.election).content.decode()
    assert f'id="board-closing">{closing}<' in page
    document = json.loads(streamed_bytes(get_page("board_json", voted.election)))
    assert document["chain"] == {"head": head_of(voted.election), "closing": closing}
    assert document["election"]["status"] == "closed"


# --- Who may see the board, in which phase ----------------------------------------------------

BOARD_PAGES = ("board", "check", "board_json")


def test_a_draft_has_no_board_even_for_administrators(draft_election, admin_user, login_as):
    for client in (Client(), login_as(admin_user)):
        for name in (*BOARD_PAGES, "record_json"):
            response = get_page(name, draft_election, client)
            assert response.status_code == 404, name
        assert get_page("board_json", draft_election, client).json() == {
            "error": "There is no such election."
        }
        assert b"There is no such election." in get_page("board", draft_election, client).content


def test_unknown_elections_are_404(db):
    for name in (*BOARD_PAGES, "record_json"):
        response = Client().get(reverse(f"elections:{name}", kwargs={"slug": "no-such-election"}))
        assert response.status_code == 404, name


def test_the_board_is_public_in_every_phase_after_the_opening(voted, admin_user, voter, login_as):
    clients = [Client(), login_as(voter), login_as(admin_user)]
    for phase in ("open", "closed", "published"):
        if phase == "closed":
            close(voted, admin_user)
        if phase == "published":
            services.decrypt_tally(
                election=voted.election,
                key_file=voted.key_file,
                passphrase=None,
                actor=admin_user,
            )
        for client in clients:
            for name in BOARD_PAGES:
                assert get_page(name, voted.election, client).status_code == 200, (phase, name)


def test_an_election_marked_open_without_a_board_is_refused_not_broken(make_election):
    # Only a database edited by hand gets here: an opened election always has its tally.
    election = make_election(slug="no-board", status="open")
    for name in BOARD_PAGES:
        response = get_page(name, election)
        assert response.status_code == 409, name
        assert b"has no ballot board yet" in response.content


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_board_pages_refuse_writes(voted, admin_user, method):
    publish(voted, admin_user)
    for name in (*BOARD_PAGES, "record_json"):
        response = getattr(Client(), method)(url(name, voted.election))
        assert response.status_code == 405, (name, response.status_code)


# --- board.json ----------------------------------------------------------------------------


def test_the_board_download_is_the_stored_ballots_streamed(voted):
    ballots = voted.ballots()
    response = get_page("board_json", voted.election)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{voted.election.slug}-board.json"'
    )
    assert "no-store" in response["Cache-Control"]
    chunks = streamed_chunks(response)
    assert len(chunks) > len(ballots)  # one chunk per ballot at least, never one big string
    document = json.loads(b"".join(chunks))
    assert document["format"] == "evoting/ballot-board/v1"
    assert document["election"]["slug"] == voted.election.slug
    assert int(document["election"]["ballot_count"], 16) == 5
    assert document["chain"] == {"head": ballots[-1].chain_hash, "closing": None}
    assert [
        {
            "sequence": int(entry["sequence"], 16),
            "cast_at": entry["cast_at"],
            "tracker": entry["tracker"],
            "chain_hash": entry["chain_hash"],
            "ballot": entry["ballot"],
        }
        for entry in document["ballots"]
    ] == [
        {
            "sequence": ballot.sequence,
            "cast_at": board.format_cast_at(ballot.cast_at),
            "tracker": ballot.tracker,
            "chain_hash": ballot.chain_hash,
            "ballot": json.loads(ballot.content),
        }
        for ballot in ballots
    ]
    keys = ["sequence", "cast_at", "tracker", "chain_hash", "ballot"]
    assert all(list(entry) == keys for entry in document["ballots"])  # no voter_context


def test_the_board_download_of_an_empty_board_is_valid_json(open_election):
    document = json.loads(streamed_bytes(get_page("board_json", open_election.election)))
    assert document["ballots"] == []
    assert document["chain"]["head"] == head_of(open_election.election)


# --- record.json ---------------------------------------------------------------------------


def test_the_record_is_refused_before_publication(voted, admin_user):
    for phase in ("open", "closed"):
        if phase == "closed":
            close(voted, admin_user)
        response = get_page("record_json", voted.election)
        assert response.status_code == 409, phase
        assert response.json() == {
            "error": "The election record is published together with the results."
        }


def test_the_published_record_downloads_and_verifies(voted, admin_user, tmp_path, capsys):
    publish(voted, admin_user)
    response = get_page("record_json", voted.election)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{voted.election.slug}-record.json"'
    )
    content = streamed_bytes(response)
    report = verify_record(io.BytesIO(content))
    assert report.exit_code == 0, report.summary()
    assert report.ballots == 5
    assert report.results == [("Ada", 3), ("Grace", 1), ("Alan", 1)]
    # The verifier's command line on the downloaded file, in this process: a separate
    # one would refuse the small test key, as it should.
    path = tmp_path / "record.json"
    path.write_bytes(content)
    assert verify.main([str(path), "--workers", "1", "--quiet"]) == 0
    assert "VERIFIED" in capsys.readouterr().out


# --- The receipt check ---------------------------------------------------------------------


def test_the_check_finds_a_tracker_on_the_board(voted, monkeypatch):
    monkeypatch.setattr(board_views, "BALLOTS_PER_PAGE", 2)
    ballot = voted.ballots()[2]
    response = get_page("check", voted.election, tracker=ballot.tracker.upper())
    assert response.status_code == 200
    page = response.content.decode()
    assert "On the board" in page and "ballot number 3" in page
    assert f'id="checked-tracker">{ballot.tracker}<' in page
    assert board.format_cast_at(ballot.cast_at) in page and ballot.chain_hash in page
    entry = f"{url('board', voted.election)}?page=2#ballot-3"
    assert entry in page
    assert 'id="ballot-3"' in get_page("board", voted.election, page="2").content.decode()


def test_the_check_says_when_a_tracker_is_not_on_the_board(voted):
    absent = "0" * 64
    assert not Ballot.objects.filter(tracker=absent).exists()
    response = get_page("check", voted.election, tracker=absent)
    assert response.status_code == 200
    page = response.content.decode()
    assert "is not on the board" in page and "On the board<" not in page


def test_the_check_refuses_a_malformed_tracker(voted):
    tracker = voted.ballots()[0].tracker
    for typed, message in [
        (tracker[:20], "A tracker has 64 characters; this has 20."),
        (tracker[:-1] + "g", "only the digits 0-9 and the letters a-f"),
        ("", "This field is required."),
    ]:
        response = get_page("check", voted.election, tracker=typed)
        assert response.status_code == 400, typed
        page = response.content.decode()
        assert message in page and 'aria-invalid="true"' in page
        assert "On the board" not in page and "not on the board" not in page


def test_the_empty_check_form_is_labelled(voted):
    response = get_page("check", voted.election)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<label for="id_tracker">Tracker' in page and 'name="tracker"' in page
    assert 'method="get"' in page and "not on the board" not in page


# --- No voter identity ----------------------------------------------------------------------


def test_voter_pseudonyms_never_appear_on_the_public_board(voted, admin_user):
    contexts = [services.voter_context(voted.election, voter) for voter in voted.voters]
    assert all(
        ballot.voter_context in contexts for ballot in voted.ballots()
    )  # what is looked for is really what is stored
    publish(voted, admin_user)
    tracker = voted.ballots()[0].tracker
    shown = [
        get_page("board", voted.election).content,
        get_page("board", voted.election, tracker=tracker[:10]).content,
        get_page("check", voted.election, tracker=tracker).content,
        get_page("detail", voted.election).content,
        streamed_bytes(get_page("board_json", voted.election)),
    ]
    for content in shown:
        text = content.decode()
        for context in contexts:
            assert context not in text
        for voter in voted.voters:
            assert voter.username not in text
    # The full record carries them: the chain hashes cover them and the verifier needs them.
    record_text = streamed_bytes(get_page("record_json", voted.election)).decode()
    assert all(context in record_text for context in contexts)


# --- Links from the other election pages and the live head ----------------------------------


def test_the_receipt_links_to_the_board_entry_and_the_check(voted, login_as):
    voter = voted.voters[3]
    ballot = Ballot.objects.get(election=voted.election, voter=voter)
    page = get_page("receipt", voted.election, login_as(voter)).content.decode()
    assert f'href="{url("board", voted.election)}?page=1#ballot-{ballot.sequence}"' in page
    assert f'href="{url("check", voted.election)}?tracker={ballot.tracker}"' in page


def test_the_election_page_shows_the_head_and_the_board_links(voted, admin_user):
    page = get_page("detail", voted.election).content.decode()
    assert f'id="board-head">{head_of(voted.election)}<' in page
    assert 'id="board-closing" hidden' in page
    for name in ("board", "check", "board_json"):
        assert url(name, voted.election) in page, name
    assert url("record_json", voted.election) not in page
    assert "<script>" not in page
    publish(voted, admin_user)
    voted.election.refresh_from_db()
    page = get_page("detail", voted.election).content.decode()
    assert url("record_json", voted.election) in page
    assert f'id="board-closing">{voted.election.closing_hash}<' in page


def test_turnout_carries_the_head_hash_which_moves_with_each_cast(
    open_election, voter, admin_user, ballot_for
):
    election = open_election.election
    before = get_page("turnout", election).json()
    genesis = board.genesis_hash(services.election_params(election).fingerprint)
    assert before["head"] == genesis and before["closing"] is None
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [0, 1, 0])
    )
    after = get_page("turnout", election).json()
    assert after["head"] != before["head"]
    assert after["head"] == Ballot.objects.get(election=election).chain_hash
    services.close_election(election=election, actor=admin_user)
    election.refresh_from_db()
    closed = get_page("turnout", election).json()
    assert closed["head"] == after["head"]
    assert closed["closing"] == election.closing_hash == board.closing_hash(after["head"], 1)
