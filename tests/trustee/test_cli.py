"""``python -m elections.trustee``, in process: every command, every refusal exits 2 in one line.

Personas: the dealer (runs ``ceremony``), trustees (``decrypt``) and an
observer (``verify``). Keys are 512 bits inside ``allow_small_keys_for_tests``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from elections.trustee import cli
from elections.trustee.decryption import partially_decrypt_tally
from elections.trustee.files import (
    dump_partial,
    dump_public_key,
    dump_share,
    dump_tally,
    load_public_key,
    make_public_key,
)

from .conftest import World, write
from .golden.regenerate import CHOICES, expected_counts, make_tally

PASSPHRASE = "the trustee's long passphrase"
ELECTION = "trustee-golden-2027"


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def refusal(capsys: pytest.CaptureFixture[str], *argv: object) -> str:
    """Run a command that must be refused: exit 2, nothing on stdout, one line on stderr."""
    status, out, err = run(capsys, *argv)
    assert status == 2, err
    assert out == ""
    last = err.splitlines()[-1]
    assert last.startswith("python -m elections.trustee: refused: "), err
    assert "Traceback" not in err
    return last


def passphrase_folder(folder: Path, trustees: int) -> Path:
    folder.mkdir()
    for index in range(1, trustees + 1):
        (folder / f"trustee-{index}.txt").write_text(f"{PASSPHRASE} {index}\nignored line\n")
    return folder


def ceremony(out: Path, trustees: int, threshold: int, *extra: object) -> list[object]:
    return [
        "ceremony",
        "--election",
        ELECTION,
        "--trustees",
        trustees,
        "--threshold",
        threshold,
        "--out",
        out,
        "--bits",
        512,
        *extra,
    ]


def counts_printed(out: str) -> list[int]:
    return [
        int(line.rsplit(": ", 1)[1]) for line in out.splitlines() if line.startswith("question")
    ]


# The whole flow ------------------------------------------------------------------------


def test_one_trustee_alone_runs_a_sealed_election(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    secrets = passphrase_folder(tmp_path / "secrets", 1)
    status, out, err = run(capsys, *ceremony(keys, 1, 1, "--passphrase-files", secrets))
    assert status == 0, err
    public = load_public_key((keys / "public.json").read_bytes())
    assert f"public key fingerprint: {public.fingerprint}" in out
    assert "s of it finding safe primes" in out
    assert stat.S_IMODE((keys / "trustee-1.json").stat().st_mode) == 0o600
    assert json.loads((keys / "trustee-1.json").read_bytes())["format"].endswith("sealed/v1")

    tally = write(tmp_path, "tally.json", dump_tally(make_tally(public)))
    partial = tmp_path / "partial-1.json"
    status, out, err = run(
        capsys,
        "decrypt",
        "--share",
        keys / "trustee-1.json",
        "--public",
        keys / "public.json",
        "--tally",
        tally,
        "--out",
        partial,
        "--passphrase-file",
        secrets / "trustee-1.txt",
    )
    assert status == 0, err
    assert "closing hash" in err and "7 / 7" in err
    status, out, err = run(
        capsys, "verify", "--public", keys / "public.json", "--tally", tally, partial
    )
    assert status == 0, err
    assert counts_printed(out) == list(expected_counts(CHOICES))
    assert "decrypted with trustees 1 (1 of 1 needed); absent: none" in out


def test_unsealed_demo_shares_come_with_a_loud_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    status, out, err = run(capsys, *ceremony(keys, 5, 3, "--unsealed-demo-shares"))
    assert status == 0, err
    assert err.count("WARNING") == 2 and "IN CLEAR" in err and "never for a real election" in err
    public_file = keys / "public.json"
    public = load_public_key(public_file.read_bytes())
    tally = write(tmp_path, "tally.json", dump_tally(make_tally(public)))
    partials = []
    for index in (2, 3, 5):
        share = keys / f"trustee-{index}.json"
        assert json.loads(share.read_bytes())["format"] == "evoting/trustee-share/v1"
        assert stat.S_IMODE(share.stat().st_mode) == 0o600
        partials.append(tmp_path / f"partial-{index}.json")
        status, _, err = run(
            capsys,
            "decrypt",
            "--share",
            share,
            "--public",
            public_file,
            "--tally",
            tally,
            "--out",
            partials[-1],
        )
        assert status == 0, err
    status, out, err = run(capsys, "verify", "--public", public_file, "--tally", tally, *partials)
    assert status == 0, err
    assert counts_printed(out) == list(expected_counts(CHOICES))
    assert "absent: 1, 4" in out


# ceremony ------------------------------------------------------------------------------


def test_the_ceremony_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "trustee-3.json").write_text("a share from an earlier ceremony")
    message = refusal(capsys, *ceremony(keys, 5, 3, "--unsealed-demo-shares"))
    assert "trustee-3.json already exist" in message and "refusing to overwrite" in message
    assert sorted(path.name for path in keys.iterdir()) == ["trustee-3.json"]
    assert (keys / "trustee-3.json").read_text() == "a share from an earlier ceremony"

    fresh = tmp_path / "fresh"
    assert run(capsys, *ceremony(fresh, 2, 2, "--unsealed-demo-shares"))[0] == 0
    before = (fresh / "public.json").read_bytes()
    assert "public.json" in refusal(capsys, *ceremony(fresh, 2, 2, "--unsealed-demo-shares"))
    assert (fresh / "public.json").read_bytes() == before


def test_the_ceremony_refuses_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    demo = "--unsealed-demo-shares"
    for argv, message in (
        (ceremony(keys, 3, 4, demo), "--threshold <= --trustees"),
        (ceremony(keys, 3, 0, demo), "--threshold <= --trustees"),
        (ceremony(keys, 65, 3, demo), "<= 64"),
        ([*ceremony(keys, 3, 2, demo), "--bits", 513], "--bits must be even"),
        ([*ceremony(keys, 3, 2, demo), "--bits", 256], "from 512"),
        ([*ceremony(keys, 3, 2, demo), "--bits", "many"], "invalid int value"),
        ([*ceremony(keys, 3, 2, demo), "--passphrase-files", tmp_path], "not allowed with"),
        (
            [
                "ceremony",
                "--election",
                "\u00e9lection",
                "--trustees",
                1,
                "--threshold",
                1,
                "--out",
                keys,
            ],
            "printable ASCII",
        ),
        (["ceremony", "--trustees", 1, "--threshold", 1, "--out", keys], "--election"),
        (["ceremony", "--election", ELECTION, "--trustees", "1", "--threshold", 1], "--out"),
        (["unknown-command"], "invalid choice"),
        ([], "required"),
    ):
        assert message in refusal(capsys, *argv), message
    assert not keys.exists()


def test_the_ceremony_refuses_missing_empty_or_short_passphrase_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = passphrase_folder(tmp_path / "secrets", 2)
    keys = tmp_path / "keys"
    argv = ceremony(keys, 3, 2, "--passphrase-files", secrets)
    assert "trustee-3.txt: No such file" in refusal(capsys, *argv)
    (secrets / "trustee-3.txt").write_text("\nthe passphrase on line two\n")
    assert "the first line (the passphrase) is empty" in refusal(capsys, *argv)
    (secrets / "trustee-3.txt").write_text("short\n")
    assert "trustee 3: a passphrase needs at least 12 characters" in refusal(capsys, *argv)
    (secrets / "trustee-3.txt").write_bytes(b"\xff\xfe not utf-8 \n")
    assert "not UTF-8" in refusal(capsys, *argv)
    assert not keys.exists()


@pytest.fixture
def scripted_prompts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Answers for ``getpass.getpass``, in order; the prompts shown are recorded."""
    answers: list[str] = []
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    yield answers
    assert not answers, "unused answers"


def test_the_ceremony_prompts_each_trustee_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scripted_prompts: list[str]
) -> None:
    first, second = "first trustee's passphrase", "second trustee's passphrase"
    scripted_prompts.extend(
        ["short", first, "a typo in the repetition", first, first, second, second]
    )
    keys = tmp_path / "keys"
    status, _, err = run(capsys, *ceremony(keys, 2, 1))
    assert status == 0, err
    assert "too short" in err and "the two entries differ" in err
    public = load_public_key((keys / "public.json").read_bytes())
    tally = write(tmp_path, "tally.json", dump_tally(make_tally(public)))
    scripted_prompts.append(second)
    status, _, err = run(
        capsys,
        "decrypt",
        "--share",
        keys / "trustee-2.json",
        "--public",
        keys / "public.json",
        "--tally",
        tally,
        "--out",
        tmp_path / "partial-2.json",
    )
    assert status == 0, err


def test_the_ceremony_gives_up_after_three_failed_prompts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scripted_prompts: list[str]
) -> None:
    scripted_prompts.extend(["short", "long enough passphrase", "not the same one", "tiny"])
    assert "no passphrase after 3 attempts" in refusal(capsys, *ceremony(tmp_path / "k", 1, 1))
    assert not (tmp_path / "k").exists()


def test_no_option_takes_a_passphrase(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = {
        option
        for command in commands.choices.values()
        for action in command._actions
        for option in action.option_strings
    }
    assert {o for o in options if "pass" in o} == {"--passphrase-files", "--passphrase-file"}
    # Only file and folder names, and no abbreviation turns "--passphrase" into one of them.
    message = refusal(
        capsys,
        "decrypt",
        "--share",
        "s",
        "--public",
        "p",
        "--tally",
        "t",
        "--out",
        "o",
        "--passphrase",
        "hunter2 is my secret",
    )
    assert "unrecognized options --passphrase" in message and "hunter2" not in message
    assert "--passphrase" in refusal(capsys, *ceremony(tmp_path, 1, 1, "--passphrase", "secret"))


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "decrypt", "--help")
    assert status == 0 and "--passphrase-file" in out


# decrypt -------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path, world: World) -> dict[str, Path]:
    """What trustee 1 holds: the public key, the tally, a sealed share and its passphrase."""
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n")
    return {
        "public": write(tmp_path, "public.json", dump_public_key(world.public)),
        "tally": write(tmp_path, "tally.json", dump_tally(world.tally)),
        "share": write(
            tmp_path, "trustee-1.json", dump_share(world.public, world.shares[0], passphrase=None)
        ),
        "passphrase": secret,
        "out": tmp_path / "partial-1.json",
    }


def decrypt_argv(site: dict[str, Path], **changes: Path) -> list[object]:
    files = {**site, **changes}
    argv: list[object] = ["decrypt"]
    for name in ("share", "public", "tally", "out"):
        argv += [f"--{name}", files[name]]
    return argv


def test_decrypt_refuses_a_tally_of_another_election_or_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    world: World,
    site: dict[str, Path],
    stranger,
) -> None:
    elsewhere = write(
        tmp_path,
        "elsewhere.json",
        dump_tally(make_tally(world.public, election_id="another-election")),
    )
    assert "the tally is of election 'another-election'" in refusal(
        capsys, *decrypt_argv(site, tally=elsewhere)
    )
    other_key = write(tmp_path, "other-key.json", dump_tally(make_tally(stranger[0])))
    assert "encrypted under another key" in refusal(capsys, *decrypt_argv(site, tally=other_key))
    assert not site["out"].exists()


def test_decrypt_refuses_a_share_of_another_election_or_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    world: World,
    site: dict[str, Path],
    stranger,
) -> None:
    elsewhere = make_public_key("another-election", world.public.key)
    share = write(tmp_path, "theirs.json", dump_share(elsewhere, world.shares[0], passphrase=None))
    message = refusal(capsys, *decrypt_argv(site, share=share))
    assert "theirs.json: this share belongs to election 'another-election'" in message
    their_public, their_shares = stranger
    share = write(
        tmp_path, "stranger.json", dump_share(their_public, their_shares[0], passphrase=None)
    )
    assert "another public key" in refusal(capsys, *decrypt_argv(site, share=share))
    assert not site["out"].exists()


def test_decrypt_refuses_a_wrong_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], world: World, site: dict[str, Path]
) -> None:
    sealed = write(
        tmp_path, "sealed.json", dump_share(world.public, world.shares[0], passphrase=PASSPHRASE)
    )
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase at all\n")
    message = refusal(capsys, *decrypt_argv(site, share=sealed), "--passphrase-file", wrong)
    assert "sealed.json: wrong passphrase, or the share file was modified" in message
    assert "plain share" not in message
    assert "not sealed, but a passphrase was given" in refusal(
        capsys, *decrypt_argv(site), "--passphrase-file", site["passphrase"]
    )
    assert not site["out"].exists()


def test_decrypt_refuses_tampered_or_missing_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], world: World, site: dict[str, Path]
) -> None:
    document = json.loads(site["public"].read_bytes())
    document["threshold"] = "2"
    tampered = write(tmp_path, "tampered.json", json.dumps(document).encode())
    assert "tampered.json: the public key's fingerprint does not match" in refusal(
        capsys, *decrypt_argv(site, public=tampered)
    )
    garbage = write(tmp_path, "garbage.json", b"\x00" * 100)
    assert "garbage.json: not valid JSON" in refusal(capsys, *decrypt_argv(site, share=garbage))
    assert "garbage.json: not valid JSON" in refusal(capsys, *decrypt_argv(site, tally=garbage))
    huge = write(tmp_path, "huge.json", b" " * (8 << 20))
    assert "larger than" in refusal(capsys, *decrypt_argv(site, tally=huge))
    assert "missing.json: No such file" in refusal(
        capsys, *decrypt_argv(site, share=tmp_path / "missing.json")
    )
    site["out"].write_text("an earlier partial decryption")
    assert "partial-1.json already exist" in refusal(capsys, *decrypt_argv(site))
    assert site["out"].read_text() == "an earlier partial decryption"


# verify --------------------------------------------------------------------------------


@pytest.fixture
def partial_files(tmp_path: Path, world: World) -> dict[int, Path]:
    return {
        index: write(tmp_path, f"partial-{index}.json", dump_partial(partial))
        for index, partial in world.partials.items()
    }


def verify_argv(site: dict[str, Path], *partials: Path) -> list[object]:
    return ["verify", "--public", site["public"], "--tally", site["tally"], *partials]


def test_any_three_of_five_print_the_same_counts(
    capsys: pytest.CaptureFixture[str], site: dict[str, Path], partial_files: dict[int, Path]
) -> None:
    for group in ((1, 2, 3), (3, 4, 5), (1, 5, 2, 4)):
        status, out, err = run(capsys, *verify_argv(site, *(partial_files[i] for i in group)))
        assert status == 0, err
        assert counts_printed(out) == [3, 3, 1, 2, 3, 1, 2]
        assert "question 1 (Board members), c-zoe (Zo\u00eb \u00c5ngstr\u00f6m): 3" in out
        assert "question 2 (Adopt the motion?), blank: 2" in out


def test_fewer_than_three_print_no_count_and_name_the_missing(
    capsys: pytest.CaptureFixture[str], site: dict[str, Path], partial_files: dict[int, Path]
) -> None:
    message = refusal(capsys, *verify_argv(site, partial_files[2], partial_files[5]))
    assert "(trustees: 2, 5): 1 more needed, from any of trustees 1, 3, 4" in message
    assert "trustees: none" in refusal(capsys, *verify_argv(site))


def test_verify_refuses_bad_partials_and_names_the_trustee(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    world: World,
    site: dict[str, Path],
    partial_files: dict[int, Path],
    other_tally,
) -> None:
    document = json.loads(partial_files[2].read_bytes())
    slot = document["partials"][4]
    forged = {**slot, "value": format(int(slot["value"], 16) * 9 % world.public.key.n_square, "x")}
    document["partials"][4] = forged
    wrong = write(tmp_path, "wrong-proof.json", json.dumps(document).encode())
    message = refusal(capsys, *verify_argv(site, partial_files[1], wrong, partial_files[3]))
    assert "wrong-proof.json: trustee 2, slot 4 (question 2, option 1)" in message
    assert "does not hold for this tally" in message

    unknown = write(
        tmp_path,
        "unknown.json",
        json.dumps({**json.loads(partial_files[5].read_bytes()), "trustee": "9"}).encode(),
    )
    assert "unknown.json: trustee 9 is not one of this key's 5 trustees" in refusal(
        capsys, *verify_argv(site, partial_files[1], partial_files[3], unknown)
    )

    foreign = partially_decrypt_tally(world.public, world.shares[3], other_tally)
    foreign_file = write(tmp_path, "other-tally.json", dump_partial(foreign))
    assert "other-tally.json: trustee 4, slot 0" in refusal(
        capsys, *verify_argv(site, partial_files[1], foreign_file, partial_files[3])
    )

    again = write(
        tmp_path,
        "again.json",
        dump_partial(partially_decrypt_tally(world.public, world.shares[2], world.tally)),
    )
    message = refusal(capsys, *verify_argv(site, partial_files[3], partial_files[1], again))
    assert (
        "again.json: trustee 3 already sent" in message
        and "two partial decryptions of one trustee" in message
    )
    message = refusal(
        capsys, *verify_argv(site, partial_files[1], partial_files[1], partial_files[2])
    )
    assert "trustee 1 already sent" in message


def test_verify_refuses_counts_no_valid_ballots_can_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], world: World, site: dict[str, Path]
) -> None:
    # A "total" that encrypts 50 for the first candidate of six ballots: the trustees'
    # partials are honest, the totals are not.
    tally = make_tally(world.public, [(50, 0, 0, 1, 1, 0, 0)] + [(1, 0, 0, 0, 1, 0, 0)] * 5)
    tally_file = write(tmp_path, "inflated.json", dump_tally(tally))
    partials = [
        write(
            tmp_path,
            f"p{share.index}.json",
            dump_partial(partially_decrypt_tally(world.public, share, tally)),
        )
        for share in world.shares[:3]
    ]
    message = refusal(
        capsys, "verify", "--public", site["public"], "--tally", tally_file, *partials
    )
    assert "no set of valid ballots can produce" in message and "55 votes" in message
