"""Records of elections decrypted by trustees: any 2 of 3, the golden record and its tamperings."""

import io
import json
from typing import Any

import pytest

from elections.crypto.encoding import int_to_hex
from elections.crypto.threshold import deal
from elections.trustee import dump_public_key, make_public_key
from elections.verify import Report, verify_record
from tests.verify.golden.regenerate import (
    ELECTION_ID_TRUSTEES,
    GOLDEN_TRUSTEES_PATH,
    build_golden_record_trustees,
    golden_threshold_key,
    randbits_from,
)


@pytest.fixture
def golden_trustees() -> dict[str, Any]:
    return json.loads(GOLDEN_TRUSTEES_PATH.read_text(encoding="ascii"))


def run(document: dict[str, Any]) -> Report:
    return verify_record(io.BytesIO(json.dumps(document).encode()))


def failures(report: Report) -> list[tuple[str, str]]:
    return [(failure.check, failure.message) for failure in report.failures]


def test_the_golden_record_verifies_and_names_who_decrypted():
    report = verify_record(io.BytesIO(GOLDEN_TRUSTEES_PATH.read_bytes()))
    assert report.exit_code == 0, report.summary()
    assert report.trustees is not None
    assert (report.trustees.threshold, report.trustees.trustees) == (2, 3)
    assert report.trustees.decrypted_by == (1, 3)
    assert "Decrypted by trustees 1, 3 of 3 (2 needed)." in report.summary()
    assert report.to_dict()["trustees"] == {"threshold": 2, "trustees": 3, "decrypted_by": [1, 3]}
    assert report.results is not None
    assert report.results[:3] == [
        ("Zo\u00eb \u00c5ngstr\u00f6m", 3),
        ("Grace Hopper", 2),
        ("Alan Turing", 1),
    ]


def test_regenerating_gives_the_same_bytes():
    assert build_golden_record_trustees() == GOLDEN_TRUSTEES_PATH.read_text(encoding="ascii")


def test_the_layout_carries_the_public_key_and_the_partials_by_trustee(golden_trustees):
    assert list(golden_trustees)[3] == "trustees"
    assert list(golden_trustees)[-1] == "partial_decryptions"
    assert golden_trustees["trustees"]["election_id"] == ELECTION_ID_TRUSTEES
    assert [doc["trustee"] for doc in golden_trustees["partial_decryptions"]] == ["1", "3"]
    assert all(result["proof"] is None for result in golden_trustees["results"])


def test_a_tampered_partial_decryption_is_refused_naming_the_trustee(golden_trustees):
    partial = golden_trustees["partial_decryptions"][1]["partials"][4]
    partial["value"] = int_to_hex(int(partial["value"], 16) + 1)
    report = run(golden_trustees)
    assert report.exit_code == 1
    found = failures(report)
    assert any(
        check == "partial" and "trustee 3" in message and "slot 4" in message
        for check, message in found
    ), found
    assert any(check == "partial" and "1 more needed" in message for check, message in found)
    assert report.trustees is not None and report.trustees.decrypted_by == (1,)


def test_too_few_partial_decryptions_say_how_many_are_missing(golden_trustees):
    del golden_trustees["partial_decryptions"][0]
    report = run(golden_trustees)
    assert report.exit_code == 1
    [(check, message)] = failures(report)
    assert check == "partial"
    assert "2 of the 3 trustees must decrypt" in message
    assert "1 more needed" in message
    assert all(
        option.count is None for question in report.questions or [] for option in question.options
    )


def test_no_partial_decryptions_for_published_results_is_a_failure(golden_trustees):
    golden_trustees["partial_decryptions"] = None
    assert [check for check, _ in failures(run(golden_trustees))] == ["partial"]


def test_a_trustee_listed_twice_counts_once(golden_trustees):
    first = golden_trustees["partial_decryptions"][0]
    golden_trustees["partial_decryptions"] = [first, first]
    found = failures(run(golden_trustees))
    assert any("trustee 1 comes after trustee 1" in message for _, message in found), found
    assert any("1 more needed" in message for _, message in found), found


def test_a_changed_count_is_not_the_combination(golden_trustees):
    golden_trustees["results"][1]["count"] = "3"
    report = run(golden_trustees)
    [(check, message)] = failures(report)
    assert check == "decryption"
    assert message.endswith(
        ": the count 3 is not 2, the combination of the trustees' partial decryptions"
    )
    assert report.results is not None and report.results[1] == ("Grace Hopper", None)


def test_a_public_key_from_another_election_is_refused(golden_trustees):
    key, _ = golden_threshold_key()
    renamed = make_public_key("6f1d3c2a-0b1e-4c55-9a7e-3d2f00000099", key)
    golden_trustees["trustees"] = json.loads(dump_public_key(renamed))
    report = run(golden_trustees)
    assert report.exit_code == 1
    found = failures(report)
    assert found[0][0] == "trustees"
    assert "of election '6f1d3c2a-0b1e-4c55-9a7e-3d2f00000099'" in found[0][1]

    other_key, _ = deal(512, 2, 3, randbits=randbits_from("another election's key"))
    other = make_public_key(ELECTION_ID_TRUSTEES, other_key)
    golden_trustees["trustees"] = json.loads(dump_public_key(other))
    found = failures(run(golden_trustees))
    assert (
        "trustees",
        "the trustees' public key is not the key the ballots are encrypted under",
    ) in found


def test_an_altered_public_key_is_refused(golden_trustees):
    golden_trustees["trustees"]["threshold"] = "1"
    found = failures(run(golden_trustees))
    assert found[0] == (
        "trustees",
        "the trustees' public key is refused: the public key's fingerprint does not match "
        "its contents",
    )


def test_a_proof_where_trustees_decrypt_is_a_failure(golden_trustees, golden_v2):
    golden_trustees["results"][0]["proof"] = "1"
    found = failures(run(golden_trustees))
    assert any(check == "decryption" and "expected null" in message for check, message in found)
    golden_v2["results"][0]["proof"] = None
    found = failures(run(golden_v2))
    assert any(check == "decryption" and "proof is missing" in message for check, message in found)


def test_partial_decryptions_without_trustees_are_a_failure(golden_trustees, golden_v2):
    golden_v2["partial_decryptions"] = golden_trustees["partial_decryptions"]
    assert failures(run(golden_v2)) == [
        ("partial", "a single-key election has partial decryptions")
    ]


def test_a_closed_election_with_trustees_verifies_before_decryption(golden_trustees):
    golden_trustees["election"].update(status="closed", published_at=None)
    golden_trustees["results"] = None
    golden_trustees["partial_decryptions"] = None
    report = run(golden_trustees)
    assert report.exit_code == 0, report.summary()
    assert report.verified_totals is not None
    assert "Trustees: any 2 of 3 decrypt; valid partial decryptions from: none." in report.summary()


def test_a_trustees_section_that_is_not_an_object_is_refused(golden_trustees):
    golden_trustees["trustees"] = "public.json"
    found = failures(run(golden_trustees))
    assert found[0][0] == "trustees"
