"""The demonstration seeder: an open election, accounts that sign in, a key that decrypts."""

import json
import stat
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from elections import services
from elections.management.commands import seed_demo
from elections.models import Ballot, Election, Status

pytestmark = pytest.mark.django_db


def seed(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_seed_demo_json_with_cast_ballots_then_tally(tmp_path):
    key = tmp_path / "demo.key.json"
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
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    services.close_election(election=election, actor=None)
    report = services.decrypt_tally(
        election=election, key_file=key.read_bytes(), passphrase=None, actor=None
    )
    assert report.ballots == 2
    # Every ballot answers each question once: one choice or, where allowed, a blank vote.
    answers = [
        sum(c.count for c in options) + (blank.count if blank else 0)
        for _, options, blank in report.by_question()
    ]
    assert answers == [2, 2]


def test_seed_demo_replaces_the_previous_demo(tmp_path, monkeypatch, voter):
    monkeypatch.setattr(seed_demo, "DEFAULT_KEY_OUT", tmp_path / "var" / "demo.key.json")
    first, _ = seed("--voters", "3", "--cast", "1", "--bits", "1024")
    assert "Private key:" in first and str(tmp_path / "var" / "demo.key.json") in first
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
    taken = tmp_path / "taken.json"
    taken.write_text("keep me")
    for args, message in (
        (("--bits", "256"), "at least 512"),
        (("--bits", "1025"), "even"),
        (("--voters", "0"), "--voters"),
        (("--voters", "2", "--cast", "3"), "--cast"),
        (("--bits", "1024", "--key-out", str(taken)), "already exists"),
    ):
        with pytest.raises(CommandError, match=message):
            seed(*args)
    assert taken.read_text() == "keep me"
    assert not Election.objects.exists()
    assert not User.objects.exists()
