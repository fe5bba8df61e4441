"""Several ballot boxes, group commit and revoting, through the services and the verifier.

Every test decrypts or verifies what it stored: the point is that the results,
the board and the record agree, whatever the boxes and however ballots replace
each other.
"""

import io
import threading
from collections import Counter

import pytest
from django.db import close_old_connections

from elections import ballot_box, board, record, services
from elections.models import Ballot, EncryptedTally
from elections.verify import verify_record
from tests.elections.conftest import TEST_KEY_BITS, OpenElection, make_ballot

pytestmark = pytest.mark.django_db


def open_with(make_election, admin_user, slug="boxes", **fields) -> OpenElection:
    election = make_election(slug, **fields)
    key_file = services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    election.refresh_from_db()
    return OpenElection(election, key_file, services.ordered_candidates(election))


def cast(election, voter, selections):
    return services.cast_ballot(
        election=election, voter=voter, payload=make_ballot(election, voter, selections)
    )


def counts_after_close(setup: OpenElection) -> tuple[list[int], int]:
    services.close_election(election=setup.election, actor=None)
    report = services.decrypt_tally(
        election=setup.election, key_file=setup.key_file, passphrase=None, actor=None
    )
    return [c.count for c in report.counts], report.ballots


def verified(election):
    text = "".join(record.stream_record(election, include_unpublished=True))
    return text, verify_record(io.BytesIO(text.encode("ascii")))


def test_each_voter_goes_to_the_box_of_their_pseudonym(make_election, admin_user, make_user):
    setup = open_with(make_election, admin_user, ballot_boxes=4)
    election = setup.election
    assert sorted(
        EncryptedTally.objects.filter(election=election).values_list("box", flat=True)
    ) == [
        0,
        1,
        2,
        3,
    ]
    voters = [make_user(f"v{i}") for i in range(12)]
    for number, voter in enumerate(voters):
        stored = cast(election, voter, [1, 0, 0] if number % 2 else [0, 0, 1])
        assert stored.box == board.box_of(stored.voter_context, 4)
    used = Counter(Ballot.objects.filter(election=election).values_list("box", flat=True))
    assert len(used) > 1, "twelve voters all in one box of four"
    for box, count in used.items():
        # Each box numbers its own ballots from 1 and chains them from its own genesis.
        numbers = list(
            Ballot.objects.filter(election=election, box=box)
            .order_by("sequence")
            .values_list("sequence", flat=True)
        )
        assert numbers == list(range(1, count + 1))
    assert counts_after_close(setup) == ([6, 0, 6], 12)
    election.refresh_from_db()
    tallies = ballot_box.box_tallies(election)
    assert election.closing_hash == board.boxes_closing_hash(
        [(t.head_hash, t.ballot_count) for t in tallies]
    )
    text, report = verified(election)
    assert text.startswith('{"format":"evoting/election-record/v3",')
    assert report.ok, report.failures
    assert (report.ballots, report.counted) == (12, 12)


def test_one_box_keeps_the_v2_record(open_election, make_user):
    cast(open_election.election, make_user("v1"), [1, 0, 0])
    text, report = verified(open_election.election)
    assert text.startswith('{"format":"evoting/election-record/v2",')
    assert report.ok


def test_a_replacing_ballot_counts_and_the_replaced_one_does_not(
    make_election, admin_user, make_user
):
    setup = open_with(make_election, admin_user, ballot_boxes=3, allow_revoting=True)
    election = setup.election
    alice, bob = make_user("alice"), make_user("bob")
    first = cast(election, alice, [1, 0, 0])
    cast(election, bob, [0, 1, 0])
    second = cast(election, alice, [0, 0, 1])
    third = cast(election, alice, [0, 1, 0])
    assert (first.revision, second.revision, third.revision) == (1, 2, 3)
    replacing = ballot_box.replaced_by(first)
    assert replacing is not None and replacing.pk == second.pk
    assert ballot_box.replaced_by(third) is None
    tallies = ballot_box.box_tallies(election)
    assert sum(t.counted for t in tallies) == 2
    assert sum(t.ballot_count for t in tallies) == 4

    text, report = verified(election)
    assert report.ok, report.failures
    assert (report.ballots, report.counted) == (4, 2)
    assert f'"replaced_by":"{second.sequence:x}"' in text
    # Alice's last ballot counts, her two earlier ones do not.
    assert counts_after_close(setup) == ([0, 2, 0], 2)


def test_with_one_box_the_board_hash_is_the_head(make_election, admin_user, make_user, client):
    setup = open_with(make_election, admin_user, allow_revoting=True)
    election = setup.election
    alice = make_user("alice")
    cast(election, alice, [1, 0, 0])
    cast(election, alice, [0, 0, 1])
    (tally,) = ballot_box.box_tallies(election)
    _, report = verified(election)
    assert report.ok and report.chain["head"] == tally.head_hash
    assert client.get(f"/elections/{election.slug}/turnout.json").json()["head"] == tally.head_hash


def test_a_ballot_sent_again_after_its_replacement_stays_replaced(
    make_election, admin_user, make_user
):
    setup = open_with(make_election, admin_user, ballot_boxes=2, allow_revoting=True)
    election = setup.election
    alice = make_user("alice")
    first_payload = make_ballot(election, alice, [1, 0, 0])
    first = services.cast_ballot(election=election, voter=alice, payload=first_payload)
    # The same ballot again (its answer was lost): the one already stored, not a second.
    again = services.cast_ballot(election=election, voter=alice, payload=first_payload)
    assert again.pk == first.pk
    second = cast(election, alice, [0, 0, 1])
    with pytest.raises(services.AlreadyVoted, match="later ballot replaced it"):
        services.cast_ballot(election=election, voter=alice, payload=first_payload)
    assert list(Ballot.objects.filter(election=election).values_list("pk", flat=True)) == [
        first.pk,
        second.pk,
    ]
    assert counts_after_close(setup) == ([0, 0, 1], 1)


def test_without_revoting_a_second_ballot_is_refused(make_election, admin_user, make_user):
    setup = open_with(make_election, admin_user, ballot_boxes=2)
    voter = make_user("alice")
    cast(setup.election, voter, [1, 0, 0])
    with pytest.raises(services.AlreadyVoted):
        cast(setup.election, voter, [0, 1, 0])
    assert Ballot.objects.filter(election=setup.election).count() == 1


def test_a_record_that_hides_a_replacement_fails(make_election, admin_user, make_user):
    setup = open_with(make_election, admin_user, allow_revoting=True)
    election = setup.election
    alice = make_user("alice")
    second_of = cast(election, alice, [1, 0, 0])
    replacing = cast(election, alice, [0, 1, 0])
    text, report = verified(election)
    assert report.ok
    # Unmarking the replaced ballot: the same voter twice, and a tally that is no
    # longer the product of the counted ballots.
    marked = f'"replaced_by":"{replacing.sequence:x}"'
    tampered = text.replace(marked, '"replaced_by":null')
    report = verify_record(io.BytesIO(tampered.encode("ascii")))
    checks = {failure.check for failure in report.failures}
    assert {"duplicate", "tally"} <= checks, report.failures
    # Marking the counted one as replaced too: no later ballot of its voter follows.
    entries = text.split("\n")
    last = next(i for i, line in enumerate(entries) if f'"tracker":"{replacing.tracker}"' in line)
    entries[last] = entries[last].replace('"replaced_by":null', '"replaced_by":"9"')
    report = verify_record(io.BytesIO("\n".join(entries).encode("ascii")))
    assert "replacement" in {failure.check for failure in report.failures}
    assert second_of.revision == 1


def test_a_ballot_moved_to_another_box_fails(make_election, admin_user, make_user):
    setup = open_with(make_election, admin_user, ballot_boxes=2)
    election = setup.election
    voters = [make_user(f"v{i}") for i in range(6)]
    for voter in voters:
        cast(election, voter, [1, 0, 0])
    text, report = verified(election)
    assert report.ok
    line = next(line for line in text.split("\n") if line.startswith('{"sequence":"1","box":"0"'))
    moved = text.replace(line, line.replace('"box":"0"', '"box":"1"', 1))
    report = verify_record(io.BytesIO(moved.encode("ascii")))
    assert {"box", "chain"} <= {failure.check for failure in report.failures}


def test_concurrent_casts_are_stored_in_batches_and_counted_once(
    make_election, admin_user, make_user, transactional_db, monkeypatch
):
    setup = open_with(make_election, admin_user, ballot_boxes=1)
    election = setup.election
    voters = [make_user(f"v{i}") for i in range(16)]
    payloads = [make_ballot(election, voter, [1, 0, 0]) for voter in voters]
    barrier = threading.Barrier(len(voters))
    batches: list[int] = []
    real_insert = ballot_box._insert

    def counting_insert(election_, tally, rows):
        batches.append(len(rows))
        return real_insert(election_, tally, rows)

    errors: list[BaseException] = []

    def vote(voter, payload):
        try:
            barrier.wait()
            services.cast_ballot(election=election, voter=voter, payload=payload)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            close_old_connections()

    monkeypatch.setattr(ballot_box, "_insert", counting_insert)
    threads = [
        threading.Thread(target=vote, args=pair) for pair in zip(voters, payloads, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(batches) == 16
    assert len(batches) < 16, "every ballot went alone: no batch formed"
    assert counts_after_close(setup) == ([16, 0, 0], 16)


def test_pages_show_boxes_and_replacements(make_election, admin_user, make_user, login_as):
    setup = open_with(make_election, admin_user, ballot_boxes=3, allow_revoting=True)
    election = setup.election
    alice = make_user("alice")
    first = cast(election, alice, [1, 0, 0])
    client = login_as(alice)

    # Having voted, the booth is open to replace the ballot, and says so.
    booth = client.get(f"/elections/{election.slug}/booth/")
    assert booth.status_code == 200
    assert b"replaces that one" in booth.content and first.tracker.encode() in booth.content
    second = cast(election, alice, [0, 1, 0])

    receipt = client.get(f"/elections/{election.slug}/receipt/").content.decode()
    assert second.tracker in receipt and "Your earlier ballots, replaced" in receipt
    assert first.tracker in receipt and 'id="replace-ballot"' in receipt
    assert f"Box {second.box}, #{second.sequence}" in receipt

    board_page = client.get(f"/elections/{election.slug}/board/").content.decode()
    assert f'id="ballot-{first.box}-{first.sequence}" class="replaced"' in board_page
    assert f"replaced by {second.box}.{second.sequence}: not counted" in board_page
    assert "The 3 ballot boxes' head hashes" in board_page

    check = client.get(f"/elections/{election.slug}/check/", {"tracker": first.tracker})
    assert b"no longer counted" in check.content
    answer = client.get(f"/elections/{election.slug}/check.json", {"tracker": first.tracker})
    assert answer.json()["replaced_by"] == second.sequence
    counted = client.get(f"/elections/{election.slug}/check.json", {"tracker": second.tracker})
    assert counted.json()["replaced_by"] is None and counted.json()["box"] == second.box

    # The live board hash is the seal over every box's head, as the closing hash will be.
    turnout = client.get(f"/elections/{election.slug}/turnout.json").json()
    tallies = ballot_box.box_tallies(election)
    assert turnout["ballots"] == 1
    assert turnout["head"] == board.boxes_closing_hash(
        [(t.head_hash, t.ballot_count) for t in tallies]
    )


def test_boxes_and_revoting_are_set_in_a_draft_only(make_election, admin_user, login_as):
    draft = make_election("settings")
    client = login_as(admin_user)
    page = client.get(f"/admin/elections/election/{draft.pk}/change/").content.decode()
    assert 'name="ballot_boxes"' in page and 'name="allow_revoting"' in page
    setup = open_with(make_election, admin_user, slug="opened", ballot_boxes=2)
    page = client.get(f"/admin/elections/election/{setup.election.pk}/change/").content.decode()
    assert 'name="ballot_boxes"' not in page and 'name="allow_revoting"' not in page


def test_the_boxes_opened_are_the_stored_number(make_election, admin_user):
    election = make_election("changed", ballot_boxes=2)
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    # Another administrator changed the boxes after this object was read.
    type(election).objects.filter(pk=election.pk).update(ballot_boxes=5)
    services.open_election(election=election, actor=admin_user)
    assert EncryptedTally.objects.filter(election=election).count() == 5
