"""What an observer reads from ``python -m elections.verify``: a tracker's place on the
board, the board's hashes, the results by name, never a number that was not confirmed."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from elections.crypto.encoding import int_to_hex
from elections.verify import TRACKER_ABSENT, main, parse_tracker
from tests.verify.golden.regenerate import (
    CANDIDATES,
    GOLDEN_12_PATH,
    GOLDEN_PATH,
    GOLDEN_TRUSTEES_PATH,
    GOLDEN_V2_PATH,
    GOLDEN_V3_PATH,
    QUESTIONS_V2,
)

GOLDEN_PATHS = [GOLDEN_PATH, GOLDEN_12_PATH, GOLDEN_V2_PATH, GOLDEN_TRUSTEES_PATH]
# A count printed as a negative number, in the text report.
NEGATIVE_COUNT = re.compile(r"(^|[\s:])-\d")


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="ascii"))


def verify(capsys, path: Path, *args: str) -> tuple[int, str]:
    status = main([str(path), "--workers", "1", "--quiet", *args])
    return status, capsys.readouterr().out


def verify_json(capsys, path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    status, out = verify(capsys, path, "--json", *args)
    return status, json.loads(out)


def write(tmp_path: Path, document: dict[str, Any], name: str = "record.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="ascii")
    return path


def as_on_a_receipt(tracker: str) -> str:
    """Upper case, in groups of eight: how someone might copy a tracker by hand."""
    return " ".join(tracker[i : i + 8] for i in range(0, len(tracker), 8)).upper()


# --- The tracker ---------------------------------------------------------------------


def test_a_voter_finds_their_tracker_on_the_board_and_counted(capsys):
    entry = load(GOLDEN_V2_PATH)["ballots"][2]
    status, out = verify(capsys, GOLDEN_V2_PATH, "--tracker", entry["tracker"])
    assert status == 0, out
    assert "VERIFIED" in out
    lines = out.splitlines()
    assert lines[-2] == (
        f"Tracker {entry['tracker']}: ON THE BOARD as ballot #3, "
        f"cast at {entry['cast_at']}, chain hash {entry['chain_hash']}."
    )
    assert lines[-1] == (
        "  Counted: it is in the encrypted tally that the published results decrypt."
    )


def test_a_tracker_copied_in_groups_and_upper_case_is_found(capsys):
    tracker = load(GOLDEN_PATH)["ballots"][4]["tracker"]
    status, out = verify(capsys, GOLDEN_PATH, "--tracker", as_on_a_receipt(tracker))
    assert status == 0, out
    assert f"Tracker {tracker}: ON THE BOARD as ballot #5," in out


def test_the_json_report_says_where_the_tracker_is(capsys):
    entry = load(GOLDEN_TRUSTEES_PATH)["ballots"][0]
    status, report = verify_json(capsys, GOLDEN_TRUSTEES_PATH, "--tracker", entry["tracker"])
    assert status == report["exit_code"] == 0
    assert report["tracker"] == {
        "tracker": entry["tracker"],
        "found": True,
        "sequence": 1,
        "position": 1,
        "cast_at": entry["cast_at"],
        "chain_hash": entry["chain_hash"],
        "counted": True,
    }


def test_a_tracker_absent_from_a_valid_record_exits_3_and_says_so_last(capsys):
    # A real tracker, but from another election's receipt.
    elsewhere = load(GOLDEN_PATH)["ballots"][0]["tracker"]
    status, out = verify(capsys, GOLDEN_V2_PATH, "--tracker", elsewhere)
    assert status == TRACKER_ABSENT == 3
    assert "VERIFIED" in out
    assert out.splitlines()[-2] == (
        f"TRACKER NOT FOUND: no ballot on this board has the tracker {elsewhere}."
    )
    assert "tell the election's administrators" in out.splitlines()[-1]
    assert "ON THE BOARD" not in out

    status, report = verify_json(capsys, GOLDEN_V2_PATH, "--tracker", elsewhere)
    assert status == report["exit_code"] == 3
    assert report["ok"] is True  # the record is valid: only the tracker is missing
    assert report["tracker"]["found"] is False
    assert report["tracker"]["sequence"] is None
    assert report["tracker"]["counted"] is False


def test_without_a_tracker_the_report_has_none(capsys):
    status, report = verify_json(capsys, GOLDEN_PATH)
    assert status == 0
    assert report["tracker"] is None


@pytest.mark.parametrize(
    ("tracker", "reason"),
    [
        ("33300f7a", "a tracker has 64 characters; this has 8"),
        ("g" * 64, "a tracker has only the digits 0-9 and the letters a-f"),
        ("0x" + "0" * 62, "a tracker has only the digits 0-9 and the letters a-f"),
        ("0" * 65, "a tracker has 64 characters; this has 65"),
        ("", "a tracker has 64 characters; this has 0"),
    ],
)
def test_a_malformed_tracker_is_a_usage_error(capsys, tracker, reason):
    with pytest.raises(SystemExit) as stopped:
        main([str(GOLDEN_PATH), "--quiet", "--tracker", tracker])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing verified, nothing that could pass for a verdict
    assert f"argument --tracker: {reason}" in captured.err


def test_parse_tracker_reads_a_receipt_as_the_site_does():
    tracker = "ab" * 32
    assert parse_tracker(tracker) == tracker
    assert parse_tracker(f"  {as_on_a_receipt(tracker)}\n") == tracker
    with pytest.raises(ValueError, match="only the digits"):
        parse_tracker("ab" * 31 + "-b")


def test_a_tracker_on_a_tampered_record_is_not_confirmed_as_counted(capsys, tmp_path):
    document = load(GOLDEN_PATH)
    entry = document["ballots"][1]
    del document["ballots"][0]
    status, out = verify(capsys, write(tmp_path, document), "--tracker", entry["tracker"])
    assert status == 1, out
    assert f"ON THE BOARD as ballot #2 (entry 1 of the record), cast at {entry['cast_at']}" in out
    assert out.splitlines()[-1] == (
        "  NOT CONFIRMED as counted: the record fails verification (see above)."
    )


def test_a_missing_tracker_on_a_tampered_record_keeps_the_failure_status(capsys, tmp_path):
    document = load(GOLDEN_PATH)
    removed = document["ballots"].pop(2)
    status, out = verify(capsys, write(tmp_path, document), "--tracker", removed["tracker"])
    assert status == 1
    assert "FAILED" in out
    assert "TRACKER NOT FOUND: no readable ballot on this board has the tracker" in out


def test_a_tracker_with_an_unreadable_record_exits_2(capsys, tmp_path):
    text = GOLDEN_PATH.read_text(encoding="ascii")
    tracker = load(GOLDEN_PATH)["ballots"][0]["tracker"]
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2], encoding="ascii")
    status, out = verify(capsys, truncated, "--tracker", tracker)
    assert status == 2
    assert "UNREADABLE" in out
    assert "NOT CONFIRMED as counted: the record is unreadable." in out


# --- The board's hashes ---------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN_PATHS, ids=lambda path: path.name)
def test_the_report_prints_the_records_board_hashes(capsys, path):
    chain = load(path)["chain"]
    status, out = verify(capsys, path)
    assert status == 0, out
    assert f"Board genesis hash: {chain['genesis']}\n" in out
    assert f"Board head hash:    {chain['head']}\n" in out
    assert f"Board closing hash: {chain['closing']}\n" in out
    status, report = verify_json(capsys, path)
    assert report["chain"] == chain


def test_an_open_elections_report_says_it_has_no_closing_hash_yet(capsys, tmp_path):
    document = load(GOLDEN_PATH)
    document["election"].update(status="open", closed_at=None, published_at=None)
    document["chain"]["closing"] = None
    document["results"] = None
    tracker = document["ballots"][0]["tracker"]
    status, out = verify(capsys, write(tmp_path, document), "--tracker", tracker)
    assert status == 0, out
    assert "Board closing hash: none yet (the election is open)\n" in out
    assert out.splitlines()[-1] == (
        "  Counted so far: it is in the running encrypted tally; the election is still open."
    )


# --- Names, never -1 ----------------------------------------------------------------


def test_the_results_name_every_option_by_its_label(capsys):
    status, out = verify(capsys, GOLDEN_V2_PATH)
    assert status == 0
    for title, _, _, _, _, options in QUESTIONS_V2:
        assert f"\n  {title}\n" in out
        for _, name, _ in options:
            assert f"\n    {name}: " in out
    status, out = verify(capsys, GOLDEN_PATH)
    for _, name, _ in CANDIDATES:
        assert f"\n  {name}: " in out


def tampered_records() -> list[Any]:
    """Tamperings that leave some published count unconfirmed, or the results unread."""

    def changed_count(document):
        result = document["results"][1]
        result["count"] = int_to_hex(int(result["count"], 16) + 1)

    def wrong_blank_proof(document):
        blank = document["results"][-1]
        blank["proof"] = int_to_hex(int(blank["proof"], 16) ^ 2)

    def unreadable_count(document):
        document["results"][0]["count"] = "-1"

    def too_few_results(document):
        del document["results"][-1]

    def no_partials(document):
        del document["partial_decryptions"][0]

    def tampered_partial(document):
        partial = document["partial_decryptions"][1]["partials"][4]
        partial["value"] = int_to_hex(int(partial["value"], 16) + 1)

    def later_cast_time(document):
        document["ballots"][1]["cast_at"] = "2030-01-01T00:00:00.000Z"

    return [
        pytest.param(GOLDEN_PATH, changed_count, id="v1-changed-count"),
        pytest.param(GOLDEN_PATH, unreadable_count, id="v1-negative-count"),
        pytest.param(GOLDEN_PATH, too_few_results, id="v1-too-few-results"),
        pytest.param(GOLDEN_12_PATH, later_cast_time, id="v1-12-cast-time"),
        pytest.param(GOLDEN_V2_PATH, wrong_blank_proof, id="v2-blank-proof"),
        pytest.param(GOLDEN_V2_PATH, changed_count, id="v2-changed-count"),
        pytest.param(GOLDEN_TRUSTEES_PATH, no_partials, id="trustees-too-few-partials"),
        pytest.param(GOLDEN_TRUSTEES_PATH, changed_count, id="trustees-changed-count"),
        pytest.param(GOLDEN_TRUSTEES_PATH, tampered_partial, id="trustees-tampered-partial"),
    ]


def assert_no_negative_count(out: str, report: dict[str, Any]) -> None:
    assert NEGATIVE_COUNT.search(out) is None, out
    for question in report["results"] or []:
        counts = [option["count"] for option in question["options"]] + [question["blank"]]
        assert all(count is None or count >= 0 for count in counts), question


@pytest.mark.parametrize("path", [*GOLDEN_PATHS, GOLDEN_V3_PATH], ids=lambda path: path.name)
def test_no_honest_golden_report_shows_a_negative_count(capsys, path):
    status, out = verify(capsys, path)
    assert status == 0
    assert_no_negative_count(out, verify_json(capsys, path)[1])


@pytest.mark.parametrize(("path", "tamper"), tampered_records())
def test_no_tampered_golden_report_shows_a_negative_count(capsys, tmp_path, path, tamper):
    document = load(path)
    tamper(document)
    record = write(tmp_path, document)
    status, out = verify(capsys, record)
    assert status == 1, out
    assert "FAILED" in out
    _, report = verify_json(capsys, record)
    assert_no_negative_count(out, report)


def test_an_unconfirmed_count_is_named_not_shown_as_a_number(capsys, tmp_path):
    document = load(GOLDEN_TRUSTEES_PATH)
    document["results"][1]["count"] = "3"
    status, out = verify(capsys, write(tmp_path, document))
    assert status == 1
    assert "    Grace Hopper: not confirmed (see the failures below)\n" in out
    assert "    Zo\u00eb \u00c5ngstr\u00f6m: 3\n" in out
    assert "question 1, option 2 (Grace Hopper): the count 3 is not 2" in out


def test_an_unconfirmed_blank_count_is_named_in_text_and_null_in_json(capsys, tmp_path):
    document = load(GOLDEN_V2_PATH)
    blank = document["results"][-1]
    blank["proof"] = int_to_hex(int(blank["proof"], 16) ^ 2)
    record = write(tmp_path, document)
    status, out = verify(capsys, record)
    assert status == 1
    assert "    Blank: not confirmed (see the failures below)\n" in out
    _, report = verify_json(capsys, record)
    last = report["results"][-1]
    assert (last["blank"], last["blank_allowed"]) == (None, True)
    assert report["results"][0]["blank_allowed"] is False
