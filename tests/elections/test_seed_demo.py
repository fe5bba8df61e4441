"""The demonstration seeder: an open election, accounts that sign in, a key that decrypts."""

import json
import stat
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from elections import crypto, services
from elections.management.commands import seed_demo
from elections.models import AuditedBallot, Ballot, Election, Status
from elections.trustee.decryption import partially_decrypt_tally
from elections.trustee.files import dump_partial, load_public_key, load_share, load_tally

pytestmark = pytest.mark.django_db


def seed(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_seed_demo_json_with_cast_ballots_then_tally(tmp_path):
    key = tmp_path / "demo-trustees"
    out, err = seed(
        "--voters", "3", "--cast", "2", "--bits", "1024", "--key-out", str(key), "--json"
    )
    document = json.loads(out)
    assert set(document) >= {"election", "url", "admin", "voters", "key_file", "cast"}
    assert document["election"] == "demo" and document["cast"] == 2
    assert document["url"].endswith("/elections/demo/")
    assert document["key_file"] == str(key)
    assert "2/2 ballots cast" in err
    election = Election.objects.get(slug="demo")
    assert election.status == Status.OPEN
    chair, motion = services.ordered_questions(election)
    assert chair.options.count() >= 3
    assert chair.options.exclude(account=None).exists()
    assert all(c.statement for c in chair.options.all())
    assert motion.allow_blank and [o.name for o in motion.options.all()] == ["Yes", "No"]
    assert Ballot.objects.filter(election=election).count() == 2
    admin = User.objects.get(username=document["admin"]["username"])
    assert admin.role == Role.ADMINISTRATOR and admin.is_superuser
    assert admin.check_password(document["admin"]["password"])
    assert len(document["voters"]) == 3
    for entry in document["voters"]:
        voter = User.objects.get(username=entry["username"])
        assert voter.check_password(entry["password"]) and services.is_eligible(election, voter)
    # One key holder by default: a 1-of-1 key, its share unsealed for the demo only.
    assert document["unsealed_demo_shares"] is True
    assert sorted(p.name for p in key.iterdir()) == ["public.json", "trustee-1.json"]
    assert stat.S_IMODE((key / "trustee-1.json").stat().st_mode) == 0o600
    public = load_public_key(election.trustee_key)
    assert (public.key.threshold, public.key.trustees) == (1, 1)
    services.close_election(election=election, actor=None)
    share = load_share((key / "trustee-1.json").read_bytes(), public=public, passphrase=None)
    tally = load_tally(services.tally_document(election))
    partial = dump_partial(partially_decrypt_tally(public, share, tally))
    services.submit_partial(election=election, document=partial, actor=None)
    report = services.publish_with_trustees(election=election, actor=None)
    assert report.ballots == 2
    # Every ballot answers each question once: one choice or, where allowed, a blank vote.
    answers = [
        sum(c.count for c in options) + (blank.count if blank else 0)
        for _, options, blank in report.by_question()
    ]
    assert answers == [2, 2]


def test_seed_demo_replaces_the_previous_demo(tmp_path, monkeypatch, voter):
    monkeypatch.setattr(seed_demo, "DEFAULT_TRUSTEES_OUT", tmp_path / "var" / "demo-trustees")
    first, _ = seed("--voters", "3", "--cast", "1", "--bits", "1024")
    assert "UNSEALED DEMO trustee shares" in first and "/elections/demo/trustee/" in first
    assert str(tmp_path / "var" / "demo-trustees") in first
    first_election = Election.objects.get(slug="demo").pk
    second, _ = seed("--voters", "2", "--bits", "1024")
    election = Election.objects.get(slug="demo")
    assert election.pk != first_election
    assert not Ballot.objects.exists()
    voters = User.objects.filter(username__startswith="demo-voter")
    assert voters.count() == 2
    # The plain output carries the credentials; real accounts are untouched.
    for user in voters:
        assert user.username in second
    assert User.objects.filter(pk=voter.pk).exists()


def test_seed_demo_refusals(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "public.json").write_text("keep me")
    for args, message in (
        (("--bits", "256"), "at least 512"),
        (("--bits", "1025"), "even"),
        (("--voters", "0"), "--voters"),
        (("--voters", "2", "--cast", "3"), "--cast"),
        (("--bits", "1024", "--key-out", str(taken)), "already exists"),
    ):
        with pytest.raises(CommandError, match=message):
            seed(*args)
    assert (taken / "public.json").read_text() == "keep me"
    assert [p.name for p in taken.iterdir()] == ["public.json"]
    assert not Election.objects.exists()
    assert not User.objects.exists()


def test_seed_demo_posts_audited_ballots_before_casting(tmp_path):
    seed(
        "--voters",
        "2",
        "--cast",
        "2",
        "--audits",
        "3",
        "--bits",
        "1024",
        "--key-out",
        str(tmp_path / "keys"),
    )
    election = Election.objects.get(slug="demo")
    assert AuditedBallot.objects.filter(election=election).count() == 3
    assert Ballot.objects.filter(election=election).count() == 2
    audited = services.published_audits(election)
    cast = set(Ballot.objects.values_list("tracker", flat=True))
    assert not cast & {row.tracker for row, _ in audited}
    params = services.election_params(election)
    for row, answers in audited:
        assert answers == crypto.check_audited_ballot(params, row.content).answers_in_words()
    with pytest.raises(CommandError, match="--audits"):
        seed("--voters", "1", "--audits", "21", "--bits", "1024")
