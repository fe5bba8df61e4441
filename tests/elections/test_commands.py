"""The election management commands: happy paths and every refusal."""

import json
import stat
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEntry
from elections import crypto, services
from elections.models import Ballot, Election, EncryptedTally, Result, Status

from .conftest import TEST_KEY_BITS

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def key_factors(key_file: bytes) -> tuple[str, str]:
    document = json.loads(key_file)
    return document["p"], document["q"]


@pytest.fixture
def voted(open_election, make_user, ballot_for):
    """An open election with three ballots: Ada, Grace, Ada."""
    election = open_election.election
    for number, choice in enumerate(([1, 0, 0], [0, 1, 0], [1, 0, 0])):
        voter = make_user(f"voter_{number}")
        services.cast_ballot(
            election=election, voter=voter, payload=ballot_for(election, voter, choice)
        )
    return open_election


@pytest.fixture
def closed(voted, tmp_path):
    services.close_election(election=voted.election, actor=None)
    path = tmp_path / "election.key.json"
    path.write_bytes(voted.key_file)
    return voted, path


# --- generate_keys --------------------------------------------------------------


def test_generate_keys_writes_a_private_file_and_prints_no_secret(draft_election, tmp_path):
    path = tmp_path / "key.json"
    output = run("generate_keys", draft_election.slug, "--out", str(path), "--bits", "1024")
    draft_election.refresh_from_db()
    assert draft_election.has_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    params = services.election_params(draft_election)
    key = crypto.load_private_key(
        path.read_bytes(),
        passphrase=None,
        expected_public_key=params.public_key,
        election_id=str(draft_election.id),
    )
    assert key.public_key.n.bit_length() == 1024
    assert "1024-bit" in output
    assert services.public_key_fingerprint(draft_election) in output
    p, q = key_factors(path.read_bytes())
    assert p not in output and q not in output
    assert AuditEntry.objects.filter(action="elections.key.generated").count() == 1


def test_generate_keys_refuses_to_overwrite(draft_election, tmp_path):
    path = tmp_path / "key.json"
    path.write_text("precious")
    with pytest.raises(CommandError, match="already exists"):
        run("generate_keys", draft_election.slug, "--out", str(path), "--bits", "1024")
    assert path.read_text() == "precious"
    draft_election.refresh_from_db()
    assert not draft_election.has_key


def test_generate_keys_refuses_outside_draft(open_election, tmp_path):
    before = Election.objects.get(pk=open_election.election.pk).public_key
    with pytest.raises(CommandError, match="draft"):
        run("generate_keys", open_election.election.slug, "--out", str(tmp_path / "k"))
    assert not (tmp_path / "k").exists()
    assert Election.objects.get(pk=open_election.election.pk).public_key == before


def test_generate_keys_refuses_a_key_below_the_minimum(draft_election, tmp_path):
    path = tmp_path / "key.json"
    with pytest.raises(CommandError, match="key size"):
        run("generate_keys", draft_election.slug, "--out", str(path), "--bits", "256")
    assert not path.exists()
    draft_election.refresh_from_db()
    assert not draft_election.has_key


def test_unknown_election_is_refused_by_every_command(tmp_path):
    for args in (
        ("generate_keys", "nope", "--out", str(tmp_path / "k")),
        ("open_election", "nope"),
        ("close_election", "nope"),
        ("tally", "nope", "--key", str(tmp_path / "k")),
        ("reset_election", "nope", "--yes"),
        ("import_voters", "nope", str(tmp_path / "roll.csv")),
    ):
        with pytest.raises(CommandError, match="No election has the identifier 'nope'"):
            run(*args)


def test_generate_keys_with_mismatched_prompted_passphrases(draft_election, tmp_path, monkeypatch):
    answers = iter(["first passphrase", "second passphrase"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="differ"):
        run("generate_keys", draft_election.slug, "--out", str(tmp_path / "k"), "--encrypt")
    assert not (tmp_path / "k").exists()


def test_encrypted_key_file_round_trip_and_wrong_passphrase(make_election, tmp_path):
    """Generates under a passphrase file, then tallies with a wrong and the right passphrase."""
    election = make_election(slug="sealed")
    right, wrong = tmp_path / "right.txt", tmp_path / "wrong.txt"
    right.write_text("a long and secret passphrase\n")
    wrong.write_text("not the passphrase\n")
    key = tmp_path / "key.json"
    output = run(
        "generate_keys",
        election.slug,
        "--out",
        str(key),
        "--bits",
        "1024",
        "--passphrase-file",
        str(right),
    )
    assert "encrypted" in output
    assert b"a long and secret" not in key.read_bytes()
    services.open_election(election=election, actor=None)
    services.close_election(election=election, actor=None)
    with pytest.raises(CommandError, match="wrong passphrase"):
        run("tally", election.slug, "--key", str(key), "--passphrase-file", str(wrong))
    assert not Result.objects.filter(election=election).exists()
    output = run("tally", election.slug, "--key", str(key), "--passphrase-file", str(right))
    assert "Ballots: 0" in output
    entries = AuditEntry.objects.values_list("message", "data")
    assert not any("secret passphrase" in f"{m}{d}" for m, d in entries)


# --- open and close ---------------------------------------------------------------


def test_open_and_close(draft_election):
    services.generate_keys(election=draft_election, actor=None, bits=TEST_KEY_BITS)
    assert "is open" in run("open_election", draft_election.slug)
    with pytest.raises(CommandError, match="Only a draft"):
        run("open_election", draft_election.slug)
    assert "closed with 0 ballot(s)" in run("close_election", draft_election.slug)
    with pytest.raises(CommandError, match="Only an open"):
        run("close_election", draft_election.slug)
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"elections.election.opened", "elections.election.closed"} <= actions


def test_open_without_key_is_refused(draft_election):
    with pytest.raises(CommandError, match="key"):
        run("open_election", draft_election.slug)
    draft_election.refresh_from_db()
    assert draft_election.status == Status.DRAFT


# --- tally ---------------------------------------------------------------


def test_tally_prints_counts_and_publishes(closed):
    voted, key = closed
    output = run("tally", voted.election.slug, "--key", str(key))
    lines = {line.split()[0]: line.split()[1:] for line in output.splitlines() if line.strip()}
    assert lines["Ada"] == ["2", "66.7%"]
    assert lines["Grace"] == ["1", "33.3%"]
    assert lines["Alan"] == ["0", "0.0%"]
    assert "Ballots: 3" in output
    assert "tally as their product): yes" in output
    voted.election.refresh_from_db()
    assert voted.election.status == Status.PUBLISHED
    counts = dict(Result.objects.values_list("candidate__name", "count"))
    assert counts == {"Ada": 2, "Grace": 1, "Alan": 0}


def test_tally_shows_the_verification_progress_on_stderr(closed, capsys):
    voted, key = closed
    run("tally", voted.election.slug, "--key", str(key))
    assert "ballots verified: 3 / 3" in capsys.readouterr().err
    run("tally", voted.election.slug, "--key", str(key), "--quiet")
    assert capsys.readouterr().err == ""


def test_tally_twice_gives_the_same_result(closed):
    voted, key = closed
    first = run("tally", voted.election.slug, "--key", str(key))
    second = run("tally", voted.election.slug, "--key", str(key))
    table = [line for line in first.splitlines() if "%" in line]
    assert table == [line for line in second.splitlines() if "%" in line]
    assert "Already published" in second
    assert Result.objects.filter(election=voted.election).count() == 3


def test_tally_refuses_an_open_election(voted, tmp_path):
    key = tmp_path / "key.json"
    key.write_bytes(voted.key_file)
    with pytest.raises(CommandError, match="closed"):
        run("tally", voted.election.slug, "--key", str(key))
    assert not Result.objects.exists()


def bad_key_files(closed_key: bytes, other_key: bytes) -> dict[str, bytes]:
    document = json.loads(closed_key)
    wrong_factor = dict(document, p=format(int(document["p"], 16) + 2, "x"))
    return {
        "other election": other_key,
        "corrupt": closed_key.replace(b'"p":"', b'"p":"zz'),
        "truncated": closed_key[: len(closed_key) // 2],
        "not json": b"\x00\xff garbage",
        "wrong factor": json.dumps(wrong_factor).encode(),
        "empty": b"",
    }


def test_tally_refuses_every_bad_key_and_changes_nothing(closed, make_election, tmp_path):
    voted, key = closed
    other = make_election(slug="other")
    other_key = services.generate_keys(election=other, actor=None, bits=TEST_KEY_BITS)
    tally_before = EncryptedTally.objects.get(election=voted.election).ciphertexts
    for name, data in bad_key_files(key.read_bytes(), other_key).items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(data)
        with pytest.raises(CommandError, match="refused") as error:
            run("tally", voted.election.slug, "--key", str(path))
        p, q = key_factors(key.read_bytes())
        assert p not in str(error.value) and q not in str(error.value), name
    voted.election.refresh_from_db()
    assert voted.election.status == Status.CLOSED
    assert not Result.objects.exists()
    assert EncryptedTally.objects.get(election=voted.election).ciphertexts == tally_before


def test_tally_refuses_a_missing_or_huge_key_file(closed, tmp_path):
    voted, _ = closed
    with pytest.raises(CommandError, match="Cannot read"):
        run("tally", voted.election.slug, "--key", str(tmp_path / "missing.json"))
    huge = tmp_path / "huge.json"
    huge.write_bytes(b"{" * (300 * 1024))
    with pytest.raises(CommandError, match="too large"):
        run("tally", voted.election.slug, "--key", str(huge))


def test_tally_refuses_a_passphrase_for_a_plain_key(closed, tmp_path):
    voted, key = closed
    phrase = tmp_path / "phrase.txt"
    phrase.write_text("unneeded\n")
    with pytest.raises(CommandError, match="not encrypted"):
        run("tally", voted.election.slug, "--key", str(key), "--passphrase-file", str(phrase))


def test_tally_detects_a_tampered_running_tally(closed):
    voted, key = closed
    tally = EncryptedTally.objects.get(election=voted.election)
    EncryptedTally.objects.filter(pk=tally.pk).update(ciphertexts=list(reversed(tally.ciphertexts)))
    with pytest.raises(CommandError, match="not the product of the ballots"):
        run("tally", voted.election.slug, "--key", str(key))
    assert not Result.objects.exists()


# --- reset ---------------------------------------------------------------


def test_reset_requires_yes(voted):
    with pytest.raises(CommandError, match="--yes"):
        run("reset_election", voted.election.slug)
    assert Ballot.objects.filter(election=voted.election).count() == 3


def test_reset_touches_no_other_election(voted, make_election, make_user, ballot_for):
    other = make_election(slug="other")
    services.generate_keys(election=other, actor=None, bits=TEST_KEY_BITS)
    services.open_election(election=other, actor=None)
    voter = make_user("other_voter")
    services.cast_ballot(election=other, voter=voter, payload=ballot_for(other, voter, [0, 0, 1]))
    output = run("reset_election", voted.election.slug, "--yes")
    assert "3 ballot(s) were deleted" in output
    voted.election.refresh_from_db()
    assert voted.election.status == Status.DRAFT and not voted.election.has_key
    assert not Ballot.objects.filter(election=voted.election).exists()
    other.refresh_from_db()
    assert other.status == Status.OPEN and other.has_key
    assert Ballot.objects.filter(election=other).count() == 1
    assert EncryptedTally.objects.get(election=other).ballot_count == 1
    assert AuditEntry.objects.filter(action="elections.election.reset").count() == 1


# --- import_voters ------------------------------------------------------------------------


def write_roll(tmp_path, text: str | bytes):
    path = tmp_path / "roll.csv"
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def test_import_voters_happy_path(draft_election, voter, tmp_path, settings, mailoutbox):
    settings.SITE_URL = "https://vote.example.org"
    path = write_roll(
        tmp_path, f"username,email\nnew_one,new.one@example.org\n{voter.username},{voter.email}\n"
    )
    output = run("import_voters", draft_election.slug, str(path))
    assert "1 new voter account(s) were created" in output
    assert "1 existing voter(s) were added" in output
    assert "1 set-password email(s) sent" in output
    assert set(draft_election.roll.values_list("voter__username", flat=True)) == {
        "new_one",
        voter.username,
    }
    assert "https://vote.example.org/accounts/password/reset/" in mailoutbox[0].body


def test_import_voters_dry_run_changes_nothing(draft_election, tmp_path):
    path = write_roll(tmp_path, "username,email\nnew_one,new.one@example.org\n")
    output = run("import_voters", draft_election.slug, str(path), "--dry-run")
    assert "1 new voter account(s) would be created" in output and "Dry run" in output
    assert not draft_election.roll.exists()
    assert not AuditEntry.objects.exists()


def test_import_voters_lists_every_error_and_imports_nothing(draft_election, candidate, tmp_path):
    path = write_roll(
        tmp_path,
        "username,email\nok,ok@example.org\nbad,bad-email\n"
        f"{candidate.username},c@example.org\nok,again@example.org\n",
    )
    out = StringIO()
    with pytest.raises(CommandError, match="3 error"):
        call_command("import_voters", draft_election.slug, str(path), stdout=out)
    assert "line 3: invalid email" in out.getvalue()
    assert "line 4: username 'carol_candidate' belongs to a non-voter" in out.getvalue()
    assert "line 5: duplicate username" in out.getvalue()
    assert not draft_election.roll.exists()


def test_import_voters_refusals(open_election, make_election, tmp_path, settings):
    draft_election = make_election(slug="later")
    path = write_roll(tmp_path, "username,email\nok,ok@example.org\n")
    with pytest.raises(CommandError, match="draft"):
        run("import_voters", open_election.election.slug, str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_voters", draft_election.slug, str(tmp_path / "missing.csv"))
    big = tmp_path / "big.csv"
    big.write_bytes(b"username,email\n" + b"x" * (5 * 1024 * 1024))
    with pytest.raises(CommandError, match="larger than 5 MB"):
        run("import_voters", draft_election.slug, str(big))
    latin = write_roll(
        tmp_path, "username,email\nj\u00e9r\u00f4me,j@example.org\n".encode("latin-1")
    )
    with pytest.raises(CommandError, match="1 error"):
        run("import_voters", draft_election.slug, str(latin))
    settings.SITE_URL = ""
    with pytest.raises(CommandError, match="SITE_URL"):
        run("import_voters", draft_election.slug, str(path))
    assert not draft_election.roll.exists()


def test_import_voters_shows_progress(draft_election, tmp_path):
    rows = "".join(f"v{i},v{i}@example.org\n" for i in range(1500))
    path = write_roll(tmp_path, "username,email\n" + rows)
    err = StringIO()
    call_command(
        "import_voters", draft_election.slug, str(path), "--dry-run", stdout=StringIO(), stderr=err
    )
    assert "1000 rows checked" in err.getvalue()
