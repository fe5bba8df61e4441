"""The standalone verifier: honest records pass, every kind of tampering is named."""

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from elections import board, crypto
from elections.crypto.encoding import int_to_hex
from elections.verify import Report, verify_record
from tests.verify.golden.regenerate import (
    GOLDEN_12_PATH,
    GOLDEN_PATH,
    build_golden_record,
    build_golden_record_12,
    build_record,
    golden_keypair,
)

ROOT = Path(__file__).resolve().parents[2]


def run(document: dict[str, Any] | bytes, workers: int = 1) -> Report:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return verify_record(io.BytesIO(data), workers=workers)


def failures(report: Report) -> set[tuple[str, int | None]]:
    return {(failure.check, failure.sequence) for failure in report.failures}


def test_the_golden_record_verifies():
    report = verify_record(io.BytesIO(GOLDEN_PATH.read_bytes()))
    assert report.exit_code == 0, report.summary()
    assert report.ballots == 5
    assert report.results == [("Ada", 3), ("Grace", 1), ("Alan", 1)]
    assert "VERIFIED" in report.summary()


def test_the_golden_record_is_reproducible():
    assert build_golden_record() == GOLDEN_PATH.read_text(encoding="ascii")


def test_the_twelve_ballot_golden_record_verifies_and_is_reproducible():
    # Sequence numbers and counts of 10 and more are where decimal and hex spellings differ.
    text = GOLDEN_12_PATH.read_text(encoding="ascii")
    assert build_golden_record_12() == text
    report = verify_record(io.BytesIO(text.encode()))
    assert report.exit_code == 0, report.summary()
    assert report.ballots == 12
    assert report.results == [("Ada", 4), ("Grace", 5), ("Alan", 3)]


@pytest.mark.slow
def test_a_record_of_some_hundred_ballots_verifies_with_a_process_pool():
    choices = [[int((i + j) % 3 == 0) for j in range(3)] for i in range(300)]
    text = build_record(golden_keypair(), choices, eligible=300)
    report = verify_record(io.BytesIO(text.encode()), workers=2)
    assert report.exit_code == 0, report.summary()
    assert report.ballots == 300
    assert [count for _, count in report.results or []] == [100, 100, 100]


def test_a_changed_ciphertext_is_named(golden):
    params_n = int(golden["params"]["n"], 16)
    ballot = golden["ballots"][2]["ballot"]
    ballot["ciphertexts"][0] = int_to_hex(int(ballot["ciphertexts"][0], 16) * 4 % params_n**2)
    found = failures(run(golden))
    assert {("tracker", 3), ("proof", 3), ("tally", None)} <= found


def test_a_changed_proof_with_a_recomputed_tracker_is_named(golden):
    entry = golden["ballots"][1]
    proof = entry["ballot"]["selection_proofs"][0]
    proof["responses"][0] = int_to_hex(int(proof["responses"][0], 16) + 1)
    params = crypto.params_from_json(json.dumps(golden["params"]))
    entry["tracker"] = crypto.ballot_tracker(crypto.parse_ballot(params, entry["ballot"]), params)
    report = run(golden)
    assert ("proof", 2) in failures(report)
    assert ("chain", 2) in failures(report)
    proof_failure = next(f for f in report.failures if f.check == "proof")
    assert "candidate 0" in proof_failure.message


def test_a_changed_tracker_is_named(golden):
    golden["ballots"][0]["tracker"] = "0" * 64
    assert {("tracker", 1), ("chain", 1)} <= failures(run(golden))


def test_a_changed_voter_context_breaks_the_proofs_and_the_chain(golden):
    golden["ballots"][3]["voter_context"] = "vc1-" + "0" * 40
    assert {("proof", 4), ("chain", 4)} <= failures(run(golden))


def test_a_changed_cast_time_breaks_the_chain(golden):
    golden["ballots"][4]["cast_at"] = "2026-03-01T09:30:00.000Z"
    assert failures(run(golden)) == {("chain", 5)}


def test_a_deleted_ballot_is_named(golden):
    del golden["ballots"][2]
    found = failures(run(golden))
    assert {("sequence", 4), ("chain", 4), ("tally", None), ("election", None)} <= found
    assert ("chain", None) in found  # the closing hash no longer seals the board


def test_an_inserted_ballot_is_named(golden):
    params = crypto.params_from_json(json.dumps(golden["params"]))
    context = "vc1-" + "1" * 40
    ballot = crypto.encrypt_ballot(params, context, [0, 1, 0])
    extra = {
        "sequence": "3",
        "voter_context": context,
        "cast_at": "2026-03-01T09:00:03.500Z",
        "tracker": crypto.ballot_tracker(ballot, params),
        "chain_hash": "f" * 64,
        "ballot": crypto.ballot_to_dict(ballot, params),
    }
    golden["ballots"].insert(2, extra)
    for number, entry in enumerate(golden["ballots"], start=1):
        entry["sequence"] = int_to_hex(number)
    found = failures(run(golden))
    assert {("chain", 3), ("chain", 4), ("tally", None)} <= found
    assert ("proof", 3) not in found  # a valid ballot, but not one the board chained


def test_a_duplicated_ballot_is_named(golden):
    copy = json.loads(json.dumps(golden["ballots"][1]))
    copy["sequence"] = "6"
    golden["ballots"].append(copy)
    found = failures(run(golden))
    assert {("duplicate", 6), ("chain", 6), ("tally", None)} <= found
    messages = [f.message for f in run(golden).failures if f.check == "duplicate"]
    assert any("ballot 2" in message for message in messages)


def test_reordered_ballots_are_named(golden):
    ballots = golden["ballots"]
    ballots[1], ballots[2] = ballots[2], ballots[1]
    found = failures(run(golden))
    assert {("sequence", 3), ("sequence", 2), ("chain", 3), ("chain", 2)} <= found


def test_a_changed_encrypted_tally_is_named(golden):
    tally = golden["encrypted_tally"]["ciphertexts"]
    tally[0], tally[1] = tally[1], tally[0]
    found = failures(run(golden))
    assert ("tally", None) in found
    assert ("results", None) in found  # results no longer decrypt the tally


def test_a_changed_result_count_is_named(golden):
    golden["results"][1]["count"] = "2"
    report = run(golden)
    assert failures(report) == {("decryption", None)}
    assert "does not match" in report.failures[0].message


def test_a_wrong_decryption_proof_is_named(golden):
    golden["results"][0]["proof"] = int_to_hex(int(golden["results"][0]["proof"], 16) ^ 2)
    assert failures(run(golden)) == {("decryption", None)}


def test_counts_that_ballots_cannot_produce_are_named(golden):
    public_key, private_key = golden_keypair()
    forged = public_key.raw_encrypt(40, r_value=12345)
    count, proof = crypto.decrypt_with_proof(private_key, forged)
    golden["encrypted_tally"]["ciphertexts"][0] = int_to_hex(forged)
    golden["results"][0].update(
        count=int_to_hex(count), ciphertext=int_to_hex(forged), proof=int_to_hex(proof)
    )
    report = run(golden)
    assert failures(report) == {("tally", None), ("results", None)}
    assert any("more votes than there are ballots" in f.message for f in report.failures)


def test_a_ballot_with_json_numbers_is_named_not_fatal(golden):
    golden["ballots"][0]["ballot"]["ciphertexts"][0] = 12
    report = run(golden)
    assert report.exit_code == 1
    assert ("ballot", 1) in failures(report)


def test_results_before_publication_are_refused(golden):
    golden["election"]["status"] = "closed"
    golden["election"]["published_at"] = None
    assert failures(run(golden)) == {("results", None)}


def test_a_sealed_board_must_carry_the_right_closing_hash(golden):
    golden["chain"]["closing"] = board.closing_hash(golden["chain"]["head"], 4)
    assert failures(run(golden)) == {("chain", None)}


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text: text[:-3], id="truncated-at-the-end"),
        pytest.param(lambda text: text.replace('"ballots":[', '"ballots":[,', 1), id="invalid"),
        pytest.param(lambda text: "[" + text + "]", id="not-an-object"),
        pytest.param(lambda text: text + "{}", id="trailing-content"),
        pytest.param(lambda text: "", id="empty"),
        pytest.param(
            lambda text: text.replace("evoting/election-record/v1", "evoting/election-record/v9"),
            id="wrong-format-tag",
        ),
        pytest.param(
            lambda text: text.replace('"voter_roll":', '"voter_list":', 1), id="renamed-key"
        ),
        pytest.param(
            lambda text: text.replace('"ciphertexts":["', '"ciphertexts":[' + "9" * 5000 + ',"', 1),
            id="5000-digit-number",
        ),
        pytest.param(lambda text: text.replace('"mode":"all",', "", 1), id="missing-field"),
        pytest.param(
            lambda text: text.replace('"mode":"all"', '"mode":"all","mode":"all"', 1),
            id="duplicate-key",
        ),
    ],
)
def test_unreadable_records_exit_2(mangle):
    text = mangle(GOLDEN_PATH.read_text(encoding="ascii"))
    report = verify_record(io.BytesIO(text.encode()))
    assert report.exit_code == 2, report.summary()
    assert report.malformed
    assert "UNREADABLE" in report.summary()


def test_a_cast_time_with_non_ascii_digits_is_unreadable_not_a_crash(golden):
    golden["ballots"][1]["cast_at"] = "2026-03-01T0\u0669:00:00.000Z"  # an Arabic-Indic nine
    report = run(golden)
    assert report.exit_code == 1, report.summary()
    assert ("entry", None) in {(f.check, f.sequence) for f in report.failures}


def deeply_nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("section", ["params", "ballot"])
def test_values_nested_too_deeply_are_unreadable_whatever_the_workers(golden, section, workers):
    marker = "__nested__"
    if section == "params":
        golden["params"]["extra"] = marker
    else:
        golden["ballots"][0]["ballot"] = marker
    text = json.dumps(golden).replace(f'"{marker}"', deeply_nested(100_000))
    report = verify_record(io.BytesIO(text.encode()), workers=workers)
    assert report.exit_code == 2, report.summary()
    assert "nested more than" in (report.malformed or "")


def test_sections_out_of_order_are_unreadable(golden):
    reordered = {key: golden[key] for key in ["format", "params", "election", *list(golden)[3:]]}
    report = run(reordered)
    assert report.exit_code == 2
    assert "expected the key 'election'" in (report.malformed or "")


def test_the_verifier_does_not_import_django():
    code = "import sys, elections.verify; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elections.verify", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def full_size_record(tmp_path_factory) -> Path:
    keypair = crypto.generate_keypair(2048)
    path = tmp_path_factory.mktemp("record") / "record.json"
    path.write_text(build_record(keypair, [[1, 0, 0], [0, 0, 1], [0, 0, 1]], eligible=4))
    return path


@pytest.mark.slow
def test_the_cli_verifies_a_2048_bit_record(full_size_record):
    done = _cli(str(full_size_record), "--workers", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VERIFIED" in done.stdout
    assert "ballots verified: 3 / 3" in done.stderr


@pytest.mark.slow
def test_the_cli_json_report_names_failures(full_size_record, tmp_path):
    document = json.loads(full_size_record.read_text())
    document["ballots"][1]["cast_at"] = "2030-01-01T00:00:00.000Z"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    done = _cli(str(tampered), "--json", "--quiet")
    assert done.returncode == 1
    assert done.stderr == ""
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["failures"] == [
        {
            "check": "chain",
            "sequence": 2,
            "position": None,
            "message": "the chain hash does not follow from the previous one",
        }
    ]


def test_the_cli_keeps_the_2048_bit_floor():
    done = _cli(str(GOLDEN_PATH), "--quiet")
    assert done.returncode == 1
    assert "at least 2048 are required" in done.stdout


def test_the_cli_exits_2_for_a_missing_or_broken_file(tmp_path):
    assert _cli(str(tmp_path / "missing.json")).returncode == 2
    broken = tmp_path / "broken.json"
    broken.write_text('{"format":')
    done = _cli(str(broken))
    assert done.returncode == 2
    assert "truncated" in done.stdout or "not valid JSON" in done.stdout
