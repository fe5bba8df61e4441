"""``python -m elections.trustee`` as trustees run it: separate processes, a 2048-bit key.

A 3-of-5 ceremony with passphrase files, an election's totals, trustees 2, 4
and 5 decrypting while 1 and 3 are away, and an observer's ``verify``. The
subprocesses run without ``allow_small_keys_for_tests``, so the key has the
production floor of 2048 bits; dealing it takes a few seconds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from elections.trustee.files import dump_tally, load_public_key

from .golden.regenerate import CHOICES, expected_counts, make_tally

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ELECTION = "end-to-end-2027"


def trustee_tool(*argv: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elections.trustee", *map(str, argv)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ceremony")
    secrets = folder / "secrets"
    secrets.mkdir()
    for index in range(1, 6):
        (secrets / f"trustee-{index}.txt").write_text(f"passphrase of trustee number {index}\n")
    result = trustee_tool(
        "ceremony",
        "--election",
        ELECTION,
        "--trustees",
        5,
        "--threshold",
        3,
        "--bits",
        2048,
        "--out",
        folder / "keys",
        "--passphrase-files",
        secrets,
    )
    assert result.returncode == 0, result.stderr
    assert "public key fingerprint:" in result.stdout
    public = load_public_key((folder / "keys" / "public.json").read_bytes())
    assert public.key.n.bit_length() == 2048
    (folder / "tally.json").write_bytes(dump_tally(make_tally(public)))
    return folder


def decrypt(folder: Path, index: int, passphrase_file: Path) -> subprocess.CompletedProcess[str]:
    return trustee_tool(
        "decrypt",
        "--share",
        folder / "keys" / f"trustee-{index}.json",
        "--public",
        folder / "keys" / "public.json",
        "--tally",
        folder / "tally.json",
        "--out",
        folder / f"partial-{index}.json",
        "--passphrase-file",
        passphrase_file,
    )


@pytest.mark.slow
def test_three_of_five_decrypt_with_two_trustees_absent(ceremony: Path) -> None:
    for index in (2, 4, 5):
        result = decrypt(ceremony, index, ceremony / "secrets" / f"trustee-{index}.txt")
        assert result.returncode == 0, result.stderr
    partials = [ceremony / f"partial-{index}.json" for index in (5, 2, 4)]
    result = trustee_tool(
        "verify",
        "--public",
        ceremony / "keys" / "public.json",
        "--tally",
        ceremony / "tally.json",
        *partials,
    )
    assert result.returncode == 0, result.stderr
    counts = [
        int(line.rsplit(": ", 1)[1])
        for line in result.stdout.splitlines()
        if line.startswith("question")
    ]
    assert counts == list(expected_counts(CHOICES))
    assert "decrypted with trustees 2, 4, 5 (3 of 5 needed); absent: 1, 3" in result.stdout


@pytest.mark.slow
def test_refusals_exit_2_in_one_line_without_a_traceback(ceremony: Path) -> None:
    # Its own partial: tests may run in any order, or in another worker than the one above.
    if not (ceremony / "partial-2.json").exists():
        assert decrypt(ceremony, 2, ceremony / "secrets" / "trustee-2.txt").returncode == 0
    wrong = decrypt(ceremony, 1, ceremony / "secrets" / "trustee-3.txt")
    short = trustee_tool(
        "verify",
        "--public",
        ceremony / "keys" / "public.json",
        "--tally",
        ceremony / "tally.json",
        ceremony / "partial-2.json",
    )
    for result, message in (
        (wrong, "wrong passphrase"),
        (short, "1 valid partial decryption(s)"),
    ):
        assert result.returncode == 2
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert message in result.stderr.splitlines()[-1]
    assert not (ceremony / "partial-1.json").exists()
