"""Nothing is decrypted unless the whole board verifies, as an observer would verify it.

The attack these tests replay: an insider who can write to the database but has
no key appends ONE row whose ciphertexts are C_i = prod_v c_{v,i}^(2^v - 1),
with junk proofs of the right shape. If the close folded it and the decryption
trusted the running tally, the published counts would carry every voter's choice
in their bits.
"""

from dataclasses import replace

import gmpy2  # type: ignore[import-untyped]
import pytest

from accounts.models import AuditEntry, Role
from elections import board, crypto, record, services
from elections.crypto.encoding import int_to_hex
from elections.models import Ballot, EncryptedTally, Result, Status

from .conftest import TEST_KEY_BITS

CHOICES = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]]


@pytest.fixture
def cast_election(draft_election, admin_user, make_user, ballot_for):
    key_file = services.generate_keys(election=draft_election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=draft_election, actor=admin_user)
    for number, selections in enumerate(CHOICES):
        voter = make_user(f"voter-{number}", Role.VOTER)
        services.cast_ballot(
            election=draft_election,
            voter=voter,
            payload=ballot_for(draft_election, voter, selections),
        )
    return draft_election, key_file


def revealing_row(election, make_user, ballot_for):
    """The insider's row: ciphertexts that weigh ballot v by 2^v - 1, proofs from a real ballot."""
    params = services.election_params(election)
    stored = list(Ballot.objects.filter(election=election).order_by("sequence"))
    ballots = [crypto.parse_ballot(params, b.content) for b in stored]
    n_square = params.n_square
    ciphertexts = []
    for i in range(params.slot_count):
        total = gmpy2.mpz(1)
        for v, ballot in enumerate(ballots):
            total = total * gmpy2.powmod(ballot.ciphertexts[i], 2**v - 1, n_square) % n_square
        ciphertexts.append(int(total))
    insider = make_user("insider-sock", Role.VOTER)
    shape = crypto.parse_ballot(params, ballot_for(election, insider, [1, 0, 0]))
    forged = replace(shape, ciphertexts=tuple(ciphertexts))
    content = crypto.ballot_to_json(forged, params)
    tracker = crypto.tracker_of_json(content)
    context = services.voter_context(election, insider)
    last = stored[-1]
    cast_at = last.cast_at
    chain_hash = board.ballot_hash(
        last.chain_hash, last.sequence + 1, context, board.format_cast_at(cast_at), tracker
    )
    return Ballot(
        election=election,
        voter=insider,
        voter_context=context,
        sequence=last.sequence + 1,
        tracker=tracker,
        content=content,
        cast_at=cast_at,
        chain_hash=chain_hash,
    ), forged


def assert_nothing_decrypted(election):
    election.refresh_from_db()
    assert election.status == Status.CLOSED
    assert not Result.objects.filter(election=election).exists()
    assert not AuditEntry.objects.filter(action="elections.tally.decrypted").exists()


def decrypt(election, key_file, admin):
    return services.decrypt_tally(
        election=election, key_file=key_file, passphrase=None, actor=admin
    )


def test_the_close_does_not_fold_a_row_it_did_not_verify(
    cast_election, admin_user, make_user, ballot_for
):
    election, key_file = cast_election
    row, _ = revealing_row(election, make_user, ballot_for)
    row.save()
    before = EncryptedTally.objects.get(election=election)
    with pytest.raises(services.TallyMismatch, match="#5 has invalid proofs"):
        services.close_election(election=election, actor=admin_user)
    after = EncryptedTally.objects.get(election=election)
    assert (after.ciphertexts, after.ballot_count, after.is_closed) == (
        before.ciphertexts,
        4,
        False,
    )
    assert AuditEntry.objects.filter(action="elections.ballot_box.refused_unverified").count() == 1
    with pytest.raises(services.TallyMismatch, match="does not verify"):
        decrypt(election, key_file, admin_user)
    assert_nothing_decrypted(election)


def test_a_cast_does_not_fold_a_row_it_did_not_verify(cast_election, make_user, ballot_for):
    election, _ = cast_election
    row, _ = revealing_row(election, make_user, ballot_for)
    row.save()
    late = make_user("late-voter", Role.VOTER)
    with pytest.raises(services.BallotBoxBusy):
        services.cast_ballot(
            election=election, voter=late, payload=ballot_for(election, late, [1, 0, 0])
        )
    tally = EncryptedTally.objects.get(election=election)
    assert tally.ballot_count == 4
    assert not Ballot.objects.filter(voter=late).exists()


def test_an_insider_who_also_rewrites_tally_and_seal_gets_nothing_decrypted(
    cast_election, admin_user, make_user, ballot_for
):
    election, key_file = cast_election
    services.close_election(election=election, actor=admin_user)
    row, forged = revealing_row(election, make_user, ballot_for)
    row.save()
    # Everything an insider can recompute without the key: the tally includes the row,
    # the head and the closing hash seal it.
    tally = EncryptedTally.objects.get(election=election)
    params = services.election_params(election)
    totals = [
        int_to_hex(int(t, 16) * c % params.n_square)
        for t, c in zip(tally.ciphertexts, forged.ciphertexts, strict=True)
    ]
    EncryptedTally.objects.filter(pk=tally.pk).update(
        ciphertexts=totals, ballot_count=5, head_hash=row.chain_hash
    )
    election.__class__.objects.filter(pk=election.pk).update(
        closing_hash=board.closing_hash(row.chain_hash, 5)
    )
    with pytest.raises(services.TallyMismatch, match=r"\[proof\] ballot 5: invalid proof"):
        decrypt(election, key_file, admin_user)
    assert_nothing_decrypted(election)
    refusal = AuditEntry.objects.get(action="elections.tally.refused")
    assert refusal.data["first"][0]["check"] == "proof"
    assert refusal.data["first"][0]["sequence"] == 5


def test_a_broken_seal_refuses_the_decryption(cast_election, admin_user):
    election, key_file = cast_election
    services.close_election(election=election, actor=admin_user)
    election.__class__.objects.filter(pk=election.pk).update(closing_hash="0" * 64)
    with pytest.raises(services.TallyMismatch, match=r"\[chain\].*closing hash"):
        decrypt(election, key_file, admin_user)
    assert_nothing_decrypted(election)


def test_a_changed_tracker_refuses_the_decryption(cast_election, admin_user):
    election, key_file = cast_election
    services.close_election(election=election, actor=admin_user)
    Ballot.objects.filter(election=election, sequence=2).update(tracker="a" * 64)
    with pytest.raises(services.TallyMismatch, match=r"ballot 2: .*\(and 1 more\)"):
        decrypt(election, key_file, admin_user)
    assert_nothing_decrypted(election)
    refusal = AuditEntry.objects.get(action="elections.tally.refused")
    assert {(f["check"], f["sequence"]) for f in refusal.data["first"]} == {
        ("chain", 2),
        ("tracker", 2),
    }


def test_impossible_counts_are_never_published(cast_election, admin_user, monkeypatch):
    """Defence in depth behind the board check: counts no valid ballots could give."""
    election, key_file = cast_election
    services.close_election(election=election, actor=admin_user)
    params = services.election_params(election)
    honest = record.verify_board(election)
    assert honest.ok and honest.verified_totals is not None
    # Totals of 40 votes for the first candidate out of 4 ballots, as if the check were fooled.
    forged = params.public_key.raw_encrypt(40, r_value=12345)
    fooled = replace(honest, verified_totals=[forged, *honest.verified_totals[1:]])
    monkeypatch.setattr(record, "verify_board", lambda election, **_: fooled)
    with pytest.raises(services.TallyMismatch, match="impossible"):
        decrypt(election, key_file, admin_user)
    assert_nothing_decrypted(election)
    assert AuditEntry.objects.filter(action="elections.tally.refused").count() == 1


def test_impossible_counts_rule():
    question = crypto.QuestionParams(
        options=tuple(crypto.OptionParams(id=name, name=name.upper()) for name in "abc"),
        min_selections=1,
        max_selections=2,
        title="Who?",
    )
    params = crypto.ElectionParams(
        election_id="e",
        public_key=crypto.generate_keypair(TEST_KEY_BITS)[0],
        questions=(question,),
        title="Rule",
    )
    assert crypto.impossible_counts(params, [2, 1, 1], 4) == []
    assert crypto.impossible_counts(params, [4, 4, 0], 4) == []
    assert len(crypto.impossible_counts(params, [5, 0, 0], 4)) == 1  # over the ballots
    assert len(crypto.impossible_counts(params, [1, 1, 1], 4)) == 1  # under min * ballots
    assert len(crypto.impossible_counts(params, [4, 4, 1], 4)) == 1  # over max * ballots
    assert len(crypto.impossible_counts(params, [1, 1], 2)) == 1  # a count missing


def test_the_honest_board_decrypts_to_the_sums(cast_election, admin_user):
    election, key_file = cast_election
    services.close_election(election=election, actor=admin_user)
    report = decrypt(election, key_file, admin_user)
    assert [c.count for c in report.counts] == [1, 2, 1]
