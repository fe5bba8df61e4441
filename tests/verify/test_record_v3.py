"""Record format v3: ballot boxes and revoting; the golden record, its hashes and its tracker."""

import io
import json
from typing import Any

import pytest

from elections import board, crypto
from elections.verify import RECORD_FORMAT_V3, Report, main, verify_record
from tests.verify.golden.regenerate import (
    BOXES_V3,
    CASTS_V3,
    GOLDEN_V3_PATH,
    TITLE_V3,
    build_golden_record_v3,
    golden_v3_context,
)

RECORD_DOC = GOLDEN_V3_PATH.parents[3] / "docs" / "election-record.md"


@pytest.fixture
def golden_v3() -> dict[str, Any]:
    return json.loads(GOLDEN_V3_PATH.read_text(encoding="ascii"))


def run(document: dict[str, Any] | bytes, tracker: str | None = None) -> Report:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return verify_record(io.BytesIO(data), tracker=tracker)


def failures(report: Report) -> set[tuple[str, int | None]]:
    return {(failure.check, failure.sequence) for failure in report.failures}


def test_the_v3_golden_record_verifies():
    report = run(GOLDEN_V3_PATH.read_bytes())
    assert report.exit_code == 0, report.summary()
    assert (report.ballots, report.counted) == (8, 5)
    assert report.election["title"] == TITLE_V3
    # Only each voter's last ballot counts: the first three options of all eight
    # ballots would be 3, 3 and 2.
    assert report.results == [
        ("Zo\u00eb \u00c5ngstr\u00f6m", 2),
        ("Grace Hopper", 2),
        ("Alan Turing", 1),
        ("Ada Lovelace", 2),
        ("\u00c9milie du Ch\u00e2telet", 2),
        ("Srinivasa Ramanujan", 1),
        ("\u674e\u767d", 2),
        ("Oui", 3),
        ("Non", 1),
        ("Blank", 1),
    ]


def test_the_v3_golden_record_is_reproducible():
    assert build_golden_record_v3() == GOLDEN_V3_PATH.read_text(encoding="ascii")


def test_the_v3_layout(golden_v3):
    assert golden_v3["format"] == RECORD_FORMAT_V3
    assert list(golden_v3["election"])[-3:] == ["ballot_count", "ballot_boxes", "revoting"]
    assert (golden_v3["election"]["ballot_boxes"], golden_v3["election"]["revoting"]) == ("3", "1")
    assert list(golden_v3["ballots"][0]) == [
        "sequence",
        "box",
        "voter_context",
        "cast_at",
        "tracker",
        "chain_hash",
        "replaced_by",
        "ballot",
    ]
    assert [(e["box"], e["sequence"], e["replaced_by"]) for e in golden_v3["ballots"]] == [
        ("0", "1", "3"),
        ("0", "2", None),
        ("0", "3", "5"),
        ("0", "4", None),
        ("0", "5", None),
        ("2", "1", "3"),
        ("2", "2", None),
        ("2", "3", None),
    ]
    assert list(golden_v3["chain"]) == ["boxes", "closing"]
    empty = golden_v3["chain"]["boxes"][1]
    assert empty["head"] == empty["genesis"] and empty["ballots"] == "0"
    assert golden_v3["encrypted_tally"]["ballot_count"] == "5"


def test_every_voter_is_in_the_box_of_their_pseudonym(golden_v3):
    voters = {voter for voter, _ in CASTS_V3}
    boxes = {board.box_of(golden_v3_context(voter), BOXES_V3) for voter in voters}
    assert boxes == {0, 2}
    for entry in golden_v3["ballots"]:
        assert int(entry["box"], 16) == board.box_of(entry["voter_context"], BOXES_V3)


def test_the_json_report_counts_and_hashes_the_boxes(capsys, golden_v3):
    assert main([str(GOLDEN_V3_PATH), "--json", "--workers", "1", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    chain = golden_v3["chain"]
    heads = [(box["head"], int(box["ballots"], 16)) for box in chain["boxes"]]
    assert (report["ballots"], report["counted"]) == (8, 5)
    assert report["chain"] == {
        "boxes": "3",
        "head": board.boxes_closing_hash(heads),
        "closing": chain["closing"],
    }
    assert report["chain"]["head"] == chain["closing"]


def test_the_text_report_names_the_counted_ballots_and_the_board_hash(capsys, golden_v3):
    assert main([str(GOLDEN_V3_PATH), "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Status: published; ballots: 8, of which 5 counted (each voter's last)\n" in out
    assert f"Board hash (boxes): {golden_v3['chain']['closing']}\n" in out


def test_a_replaced_tracker_is_on_the_board_but_not_counted(golden_v3):
    entry = golden_v3["ballots"][5]
    report = run(GOLDEN_V3_PATH.read_bytes(), tracker=entry["tracker"])
    assert report.exit_code == 0
    assert report.to_dict()["tracker"] == {
        "tracker": entry["tracker"],
        "found": True,
        "sequence": 1,
        "position": 6,
        "cast_at": entry["cast_at"],
        "chain_hash": entry["chain_hash"],
        "box": 2,
        "replaced_by": 3,
        "counted": False,
    }
    assert report.summary().splitlines()[-2:] == [
        f"Tracker {entry['tracker']}: ON THE BOARD as ballot #1 of box 2 (entry 6 of the "
        f"record), cast at {entry['cast_at']}, chain hash {entry['chain_hash']}.",
        "  REPLACED, NOT COUNTED: its voter cast ballot #3 later in the same box, and only a "
        "voter's last ballot counts.",
    ]


def test_a_counted_tracker_is_counted(golden_v3):
    entry = golden_v3["ballots"][6]
    tracker = run(GOLDEN_V3_PATH.read_bytes(), tracker=entry["tracker"]).to_dict()["tracker"]
    assert (tracker["box"], tracker["replaced_by"], tracker["counted"]) == (2, None, True)


def test_a_removed_replacement_is_a_second_vote_and_a_wrong_tally(golden_v3):
    golden_v3["ballots"][0]["replaced_by"] = None
    report = run(golden_v3)
    # The counts of five ballots do not fit six: the results fail too.
    assert failures(report) == {("duplicate", 3), ("tally", None), ("results", None)}
    assert report.counted == 6


def test_a_last_ballot_marked_replaced_is_refused(golden_v3):
    golden_v3["ballots"][4]["replaced_by"] = "6"
    report = run(golden_v3)
    assert failures(report) == {("replacement", 5), ("tally", None), ("results", None)}


def test_a_voter_moved_to_another_box_is_refused(golden_v3):
    golden_v3["ballots"][6]["box"] = "1"
    assert ("box", 2) in failures(run(golden_v3))


def test_the_document_states_the_v3_golden_records_hashes(golden_v3):
    stated = RECORD_DOC.read_text(encoding="utf-8")
    fingerprint = crypto.params_from_dict(golden_v3["params"]).fingerprint
    boxes = golden_v3["chain"]["boxes"]
    values = [fingerprint, golden_v3["chain"]["closing"]]
    values += [box[key] for box in boxes for key in ("genesis", "head")]
    for value in values:
        assert f"`{value}`" in stated, value
