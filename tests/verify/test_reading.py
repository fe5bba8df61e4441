"""Strict reading of a record: encoding, whitespace, nesting and size caps."""

import io
import json
from typing import Any

import pytest

from elections import crypto
from elections.verify import (
    MAX_DEPTH,
    MAX_TEXT,
    MalformedRecord,
    Report,
    StrictReader,
    main,
    verify_record,
)
from tests.verify.golden.regenerate import (
    CHOICES,
    ELIGIBLE,
    GOLDEN_PATH,
    build_record,
    golden_context,
    golden_keypair,
)

TITLE = b'"title":"Golden record election"'
CONTEXT_1 = golden_context(1).encode()


def golden_with_title(raw: bytes) -> bytes:
    data = GOLDEN_PATH.read_bytes()
    assert TITLE in data
    return data.replace(TITLE, b'"title":"' + raw + b'"', 1)


def run(data: bytes | dict[str, Any]) -> Report:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return verify_record(io.BytesIO(raw))


def failures(report: Report) -> set[tuple[str, int | None]]:
    return {(failure.check, failure.sequence) for failure in report.failures}


BAD_INPUTS = {
    "lone-low-surrogate-escape": golden_with_title(rb"Golden \udc00"),
    "lone-high-surrogate-escape": golden_with_title(rb"Golden \ud800"),
    "high-surrogate-escape-then-text": golden_with_title(rb"Golden \ud800\u0041"),
    "reversed-surrogate-pair": golden_with_title(rb"\ude00\ud83d"),
    "lone-surrogate-after-escaped-backslash-pair": golden_with_title(rb"\\\ud800"),
    "lone-surrogate-in-voter-context": GOLDEN_PATH.read_bytes().replace(
        b'"' + CONTEXT_1 + b'"', b'"' + CONTEXT_1[:-1] + rb'\ud800"', 1
    ),
    "overlong-utf8": golden_with_title(b"Golden \xc0\xaf"),
    "encoded-surrogate-utf8": golden_with_title(b"Golden \xed\xa0\x80"),
    "truncated-utf8": golden_with_title(b"Golden \xe2\x82"),
    "raw-control-byte-in-string": golden_with_title(b"Golden \x01"),
    "raw-tab-in-string": golden_with_title(b"Golden\trecord"),
    "form-feed-between-tokens": GOLDEN_PATH.read_bytes().replace(b'",\n', b'",\x0c', 1),
    "vertical-tab-between-tokens": GOLDEN_PATH.read_bytes().replace(b'",\n', b'",\x0b', 1),
    "nul-after-the-record": GOLDEN_PATH.read_bytes() + b"\x00",
}


@pytest.mark.parametrize("data", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_bytes_are_unreadable_not_a_crash(data):
    report = run(data)
    assert report.exit_code == 2, report.summary()
    assert report.malformed


@pytest.mark.parametrize("data", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_the_cli_reports_bad_bytes_as_json(data, tmp_path, capsys):
    path = tmp_path / "record.json"
    path.write_bytes(data)
    code = main(["--json", "--quiet", "--workers", "1", str(path)])
    report = json.loads(capsys.readouterr().out)
    assert code == 2
    assert report["exit_code"] == 2
    assert report["malformed"]


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("Golden \U0001f5f3 election", id="surrogate-pair"),
        pytest.param("Golden \\ud800 election", id="escaped-backslash-then-text"),
        pytest.param("Golden \\\\\\\\ud800", id="four-backslashes-then-text"),
        pytest.param("Golden caf\u00e9", id="latin-1"),
    ],
)
def test_valid_escapes_are_accepted(golden, title):
    golden["election"]["title"] = title
    report = run(golden)
    assert report.exit_code == 0, report.summary()
    assert report.election["title"] == title


def test_raw_utf8_text_is_accepted(golden):
    golden["election"]["title"] = "Golden \U0001f5f3 \u00e9lection"
    report = run(json.dumps(golden, ensure_ascii=False).encode("utf-8"))
    assert report.exit_code == 0, report.summary()


class Pieces:
    """A byte source that returns at most ``size`` bytes a read, whatever is asked."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data = data
        self.size = size

    def read(self, size: int = -1, /) -> bytes:
        piece, self.data = self.data[: self.size], self.data[self.size :]
        return piece


def read_all(data: bytes, size: int) -> bytes:
    reader = StrictReader(Pieces(data, size))
    chunks = []
    while chunk := reader.read(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("size", range(1, 16))
def test_a_surrogate_pair_split_across_reads_is_accepted(size):
    data = json.dumps({"name": "\\" * 3 + "a\U0001f5f3b\\" + "\\u" * 3}).encode()
    assert read_all(data, size) == data


@pytest.mark.parametrize("size", range(1, 16))
def test_a_lone_surrogate_split_across_reads_is_refused(size):
    data = b'{"name":"\\\\\\ud83d\\u0041 \\\\udc00"}'
    with pytest.raises(MalformedRecord, match="lone surrogate"):
        read_all(data, size)


def test_a_lone_surrogate_at_the_very_end_is_refused():
    with pytest.raises(MalformedRecord, match="lone surrogate"):
        read_all(b'"\\ud83d', 3)


# --- The encrypted tally -----------------------------------------------------------


@pytest.mark.parametrize("change", ["shorter", "longer"])
def test_an_encrypted_tally_of_the_wrong_length_is_named(golden, change):
    ciphertexts = golden["encrypted_tally"]["ciphertexts"]
    if change == "shorter":
        ciphertexts.pop()
    else:
        ciphertexts.append(ciphertexts[0])
    report = run(golden)
    assert report.exit_code == 1, report.summary()
    messages = [f.message for f in report.failures if f.check == "tally"]
    assert any("for 3 candidates" in message for message in messages), messages


# --- Duplicates ----------------------------------------------------------------------


def test_an_entry_repeated_whole_is_a_duplicate(golden):
    golden["ballots"].insert(2, json.loads(json.dumps(golden["ballots"][1])))
    report = run(golden)
    duplicates = [f for f in report.failures if f.check == "duplicate"]
    assert len(duplicates) == 2, report.summary()  # the tracker and the voter context
    assert all(f.sequence == 2 and "position 2" in f.message for f in duplicates)
    assert ("sequence", 2) in failures(report)


def test_two_ballots_of_one_voter_context_are_named():
    contexts = [golden_context(i) for i in range(1, len(CHOICES) + 1)]
    contexts[3] = contexts[1]
    record = build_record(golden_keypair(), CHOICES, eligible=ELIGIBLE, contexts=contexts)
    report = run(record.encode("ascii"))
    assert failures(report) == {("duplicate", 4)}, report.summary()
    assert "voter context already voted as ballot 2" in report.failures[0].message


def test_an_honest_record_built_with_distinct_contexts_verifies():
    contexts = [f"vc1-persona-{i}" for i in range(1, len(CHOICES) + 1)]
    record = build_record(golden_keypair(), CHOICES, eligible=ELIGIBLE, contexts=contexts)
    assert run(record.encode("ascii")).exit_code == 0


# --- Stated limits, at the cap and one past it ----------------------------------------


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_a_section_nested_to_the_limit_is_read(golden):
    golden["results"] = nested(MAX_DEPTH)
    report = run(golden)
    assert report.exit_code == 1, report.summary()
    assert ("results", None) in failures(report)


def test_a_section_nested_past_the_limit_is_unreadable(golden):
    golden["results"] = nested(MAX_DEPTH + 1)
    report = run(golden)
    assert report.exit_code == 2
    assert f"nested more than {MAX_DEPTH} levels" in (report.malformed or "")


def test_a_ballot_entry_nested_to_the_limit_is_read(golden):
    golden["ballots"][0]["ballot"] = nested(MAX_DEPTH - 1)  # the entry is the first level
    report = run(golden)
    assert report.exit_code == 1, report.summary()
    assert ("ballot", 1) in failures(report)


def test_a_ballot_entry_nested_past_the_limit_is_unreadable(golden):
    golden["ballots"][0]["ballot"] = nested(MAX_DEPTH)
    assert run(golden).exit_code == 2


def test_the_documents_state_the_nesting_limit():
    record_doc = (GOLDEN_PATH.parents[3] / "docs" / "election-record.md").read_text()
    assert f"nesting depth | {MAX_DEPTH} " in record_doc


@pytest.mark.parametrize(
    ("tail", "accepted"),
    [
        pytest.param("a", True, id="cap-in-ascii"),
        pytest.param("\U0001f5f3", True, id="cap-with-a-surrogate-pair-as-one"),
        pytest.param("ab", False, id="cap-plus-one"),
        pytest.param("a\U0001f5f3", False, id="cap-plus-one-with-a-surrogate-pair"),
    ],
)
def test_free_text_is_capped_in_code_points(golden, tail, accepted):
    golden["election"]["title"] = "t" * (MAX_TEXT - 1) + tail
    report = run(golden)
    assert report.exit_code == (0 if accepted else 2), report.summary()


def test_the_documents_state_the_text_cap():
    record_doc = (GOLDEN_PATH.parents[3] / "docs" / "election-record.md").read_text()
    assert f"free text | {MAX_TEXT:,} Unicode code points" in record_doc


@pytest.mark.parametrize(("extra", "accepted"), [(0, True), (1, False)])
def test_a_ballot_string_is_capped_at_max_ballot_bytes(golden, extra, accepted):
    params = crypto.params_from_json(json.dumps(golden["params"]))
    cap = crypto.max_ballot_bytes(params)
    text = json.dumps(golden["ballots"][0]["ballot"], separators=(",", ":"))
    golden["ballots"][0]["ballot"] = text + " " * (cap + extra - len(text))
    report = run(golden)
    if accepted:
        assert report.exit_code == 0, report.summary()
    else:
        assert failures(report) == {("ballot", 1), ("tally", None)}, report.summary()
        assert f"larger than {cap} bytes" in report.failures[0].message
