"""Record format v2: questions, blank votes, labels bound; the golden record and its tampering."""

import io
import json
from typing import Any

import pytest

from elections import board, crypto
from elections.crypto.encoding import int_to_hex
from elections.verify import RECORD_FORMAT, RECORD_FORMAT_V1, Report, main, verify_record
from tests.verify.golden.regenerate import (
    GOLDEN_PATH,
    GOLDEN_V2_PATH,
    TITLE_V2,
    build_golden_record_v2,
    golden_keypair,
)

BALLOTS = range(1, 7)
BLANK_SLOT = 9  # question 3's blank, after its two options
CHAIN_START = {("chain", 1), ("chain", None)}  # the genesis follows from the parameters


def run(document: dict[str, Any] | bytes) -> Report:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return verify_record(io.BytesIO(data))


def failures(report: Report) -> set[tuple[str, int | None]]:
    return {(failure.check, failure.sequence) for failure in report.failures}


def params_of(document: dict[str, Any]) -> crypto.ElectionParams:
    return crypto.params_from_dict(document["params"])


def reseal(document: dict[str, Any]) -> None:
    """Recompute every tracker, chain hash and the closing hash, as a forger rewriting it all."""
    params = params_of(document)
    head = board.genesis_hash(params.fingerprint)
    document["chain"]["genesis"] = head
    for entry in document["ballots"]:
        ballot = crypto.parse_ballot(params, entry["ballot"])
        entry["tracker"] = crypto.ballot_tracker(ballot, params)
        head = board.ballot_hash(
            head,
            int(entry["sequence"], 16),
            entry["voter_context"],
            entry["cast_at"],
            entry["tracker"],
        )
        entry["chain_hash"] = head
    document["chain"]["head"] = head
    document["chain"]["closing"] = board.closing_hash(head, len(document["ballots"]))


# --- The golden record ---------------------------------------------------------------


def test_the_v2_golden_record_verifies():
    report = verify_record(io.BytesIO(GOLDEN_V2_PATH.read_bytes()))
    assert report.exit_code == 0, report.summary()
    assert report.ballots == 6
    assert report.election["title"] == TITLE_V2
    assert [
        (question.title, [(o.name, o.count) for o in question.options], question.blank)
        for question in report.questions or []
    ] == [
        (
            "Pr\u00e9sidence",
            [("Zo\u00eb \u00c5ngstr\u00f6m", 3), ("Grace Hopper", 2), ("Alan Turing", 1)],
            None,
        ),
        (
            "Comit\u00e9 des finances",
            [
                ("Ada Lovelace", 3),
                ("\u00c9milie du Ch\u00e2telet", 2),
                ("Srinivasa Ramanujan", 1),
                ("\u674e\u767d", 3),
            ],
            None,
        ),
        ("Adopter la motion\u00a0?", [("Oui", 2), ("Non", 1)], 3),
    ]
    assert report.results is not None
    assert report.results[-3:] == [("Oui", 2), ("Non", 1), ("Blank", 3)]
    assert report.verified_totals is not None
    assert len(report.verified_totals) == 10


def test_the_v2_golden_record_is_reproducible():
    assert build_golden_record_v2() == GOLDEN_V2_PATH.read_text(encoding="ascii")


def test_the_v2_layout(golden_v2):
    assert list(golden_v2) == [
        "format",
        "election",
        "params",
        "trustees",
        "voter_roll",
        "ballots",
        "chain",
        "encrypted_tally",
        "results",
        "partial_decryptions",
    ]
    assert golden_v2["trustees"] is None
    assert golden_v2["partial_decryptions"] is None
    assert golden_v2["format"] == RECORD_FORMAT
    assert golden_v2["params"]["format"] == "evoting/election-params/v2"
    assert len(golden_v2["encrypted_tally"]["ciphertexts"]) == 10
    assert [(r["question"], r["option"]) for r in golden_v2["results"]] == [
        ("0", "6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002a"),
        ("0", "6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002b"),
        ("0", "6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002c"),
        ("1", "6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002d"),
        ("1", "6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002e"),
        ("1", "6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002f"),
        ("1", "6f1d3c2a-0b1e-4c55-9a7e-3d2f00000030"),
        ("2", "6f1d3c2a-0b1e-4c55-9a7e-3d2f00000031"),
        ("2", "6f1d3c2a-0b1e-4c55-9a7e-3d2f00000032"),
        ("2", None),
    ]
    assert list(golden_v2["results"][0]) == ["question", "option", "count", "ciphertext", "proof"]


def test_the_params_section_is_the_canonical_text_of_the_parameters():
    text = GOLDEN_V2_PATH.read_text(encoding="ascii")
    params = crypto.params_from_dict(json.loads(text)["params"])
    assert f'\n"params":{crypto.params_to_json(params)},\n' in text


def test_the_summary_shows_each_question_with_its_blank_votes():
    summary = run(GOLDEN_V2_PATH.read_bytes()).summary()
    assert (
        "Results:\n"
        "  Pr\u00e9sidence\n"
        "    Zo\u00eb \u00c5ngstr\u00f6m: 3\n"
        "    Grace Hopper: 2\n"
        "    Alan Turing: 1\n"
        "  Comit\u00e9 des finances\n"
    ) in summary
    assert "  Adopter la motion\u00a0?\n    Oui: 2\n    Non: 1\n    Blank: 3\n" in summary
    assert summary.count("Blank") == 1  # only the question that allows it


def test_the_command_line_prints_the_results_per_question(capsys):
    assert main([str(GOLDEN_V2_PATH), "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "  Adopter la motion\u00a0?\n    Oui: 2\n    Non: 1\n    Blank: 3\n" in out
    assert "VERIFIED" in out


def test_the_json_report_groups_results_by_question():
    report = run(GOLDEN_V2_PATH.read_bytes()).to_dict()
    assert report["ok"] is True
    first, _, last = report["results"]
    assert first["question"] == "Pr\u00e9sidence"
    assert first["blank"] is None
    assert first["options"][1] == {
        "id": "6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002b",
        "name": "Grace Hopper",
        "count": 2,
    }
    assert last["blank"] == 3
    v1 = run(GOLDEN_PATH.read_bytes()).to_dict()["results"]
    assert [(q["question"], q["blank"]) for q in v1] == [("", None)]
    assert [option["name"] for option in v1[0]["options"]] == ["Ada", "Grace", "Alan"]


# --- Labels are bound ------------------------------------------------------------------


def swap_names(document: dict[str, Any]) -> None:
    options = document["params"]["questions"][0]["options"]
    options[0]["name"], options[1]["name"] = options[1]["name"], options[0]["name"]


def test_swapped_option_names_break_every_proof(golden_v2):
    swap_names(golden_v2)
    report = run(golden_v2)
    assert failures(report) == {("proof", n) for n in BALLOTS} | CHAIN_START
    assert report.results is not None  # the results still decrypt: only the labels moved
    assert report.results[0] == ("Grace Hopper", 3)


def test_swapped_option_names_fail_even_with_a_rewritten_chain(golden_v2):
    swap_names(golden_v2)
    reseal(golden_v2)
    assert failures(run(golden_v2)) == {("proof", n) for n in BALLOTS}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: p.update(title="Another election"), id="election-title"),
        pytest.param(lambda p: p["questions"][2].update(title="Reject it?"), id="question-title"),
        pytest.param(lambda p: p["questions"][0].update(description=""), id="description"),
        pytest.param(
            lambda p: p["questions"][0]["options"][2].update(affiliation="Parti"),
            id="affiliation",
        ),
        pytest.param(
            lambda p: p["questions"][0].update(min_selections="2", max_selections="2"),
            id="bounds",
        ),
    ],
)
def test_any_relabelled_parameter_breaks_every_proof(golden_v2, change):
    change(golden_v2["params"])
    golden_v2["election"]["title"] = golden_v2["params"]["title"]
    found = failures(run(golden_v2))
    # New bounds also make the published counts impossible: 6 ballots cannot give 2 choices each.
    found.discard(("results", None))
    assert found == {("proof", n) for n in BALLOTS} | CHAIN_START


def test_a_blank_vote_removed_from_the_parameters_leaves_no_ballot_readable(golden_v2):
    golden_v2["params"]["questions"][2]["blank"] = "0"
    assert failures(run(golden_v2)) == {("ballot", n) for n in BALLOTS} | CHAIN_START | {
        ("tally", None),
        ("results", None),
    }


def test_an_election_title_differing_from_the_parameters_is_named(golden_v2):
    golden_v2["election"]["title"] = "Golden record election"
    report = run(golden_v2)
    assert failures(report) == {("params", None)}
    assert "title" in report.failures[0].message


def test_an_election_id_differing_from_the_parameters_is_named(golden_v2):
    golden_v2["election"]["id"] = "6f1d3c2a-0b1e-4c55-9a7e-3d2f00000001"
    report = run(golden_v2)
    assert failures(report) == {("params", None)}
    assert "another election id" in report.failures[0].message


# --- Results per slot ----------------------------------------------------------------------


def test_a_result_moved_to_another_slot_is_named(golden_v2):
    results = golden_v2["results"]
    results[0], results[1] = results[1], results[0]
    report = run(golden_v2)
    assert failures(report) == {("results", None)}
    messages = [f.message for f in report.failures]
    assert any("result 0 is not for question 1, option 1" in m for m in messages), messages
    assert any("not the encrypted tally" in m for m in messages), messages


def test_a_decryption_moved_under_another_slots_labels_is_named(golden_v2):
    # The labels stay in place; the count and its proof come from question 2's first option.
    moved = golden_v2["results"][3]
    golden_v2["results"][1].update(
        count=moved["count"], ciphertext=moved["ciphertext"], proof=moved["proof"]
    )
    report = run(golden_v2)
    assert failures(report) == {("results", None)}
    assert any(
        "question 1, option 2 (Grace Hopper): the decrypted ciphertext is not the encrypted tally"
        in f.message
        for f in report.failures
    )


def test_a_wrong_blank_count_is_named(golden_v2):
    golden_v2["results"][BLANK_SLOT]["count"] = "2"
    report = run(golden_v2)
    assert failures(report) == {("decryption", None)}
    assert report.failures[0].message.startswith("question 3, blank:")


def test_a_blank_result_claimed_for_an_option_is_named(golden_v2):
    golden_v2["results"][BLANK_SLOT]["option"] = golden_v2["results"][8]["option"]
    report = run(golden_v2)
    assert failures(report) == {("results", None)}
    assert "result 9 is not for question 3, blank" in report.failures[0].message


def test_blank_counts_no_ballots_can_produce_are_named(golden_v2):
    # Every ballot blank on question 3, yet three answers: a forged tally, honestly decrypted.
    public_key, private_key = golden_keypair()
    forged = public_key.raw_encrypt(6, r_value=12345)
    count, proof = crypto.decrypt_with_proof(private_key, forged)
    golden_v2["encrypted_tally"]["ciphertexts"][BLANK_SLOT] = int_to_hex(forged)
    golden_v2["results"][BLANK_SLOT].update(
        count=int_to_hex(count), ciphertext=int_to_hex(forged), proof=int_to_hex(proof)
    )
    report = run(golden_v2)
    assert failures(report) == {("tally", None), ("results", None)}
    problems = [f.message for f in report.failures if f.check == "results"]
    assert problems == [
        "question 3: 3 selections in total, but 0 ballots of 1 to 1 choices allow 0 to 0"
    ]


def test_an_encrypted_tally_of_the_wrong_length_is_named(golden_v2):
    golden_v2["encrypted_tally"]["ciphertexts"].pop()
    report = run(golden_v2)
    messages = [f.message for f in report.failures if f.check == "tally"]
    assert any("9 ciphertexts for 10 slots" in message for message in messages), messages


def test_too_few_results_are_named(golden_v2):
    golden_v2["results"].pop()
    report = run(golden_v2)
    assert failures(report) == {("results", None)}
    assert report.results is None


# --- Ballots -------------------------------------------------------------------------------


def test_a_proof_moved_between_questions_is_named(golden_v2):
    # Question 1's first 0/1 proof and question 3's, swapped in ballot 4; the record is
    # otherwise rewritten to hold together, so the proof's label is all that betrays it.
    questions = golden_v2["ballots"][3]["ballot"]["questions"]
    first, third = questions[0]["selection_proofs"], questions[2]["selection_proofs"]
    first[0], third[0] = third[0], first[0]
    reseal(golden_v2)
    report = run(golden_v2)
    assert failures(report) == {("proof", 4)}
    assert "question 1, option 1" in report.failures[0].message


def test_a_v1_ballot_in_a_v2_record_is_named(golden_v2):
    v1 = json.loads(GOLDEN_PATH.read_text(encoding="ascii"))
    golden_v2["ballots"][0]["ballot"] = v1["ballots"][0]["ballot"]
    assert ("ballot", 1) in failures(run(golden_v2))


# --- Versions ------------------------------------------------------------------------------


def test_a_v2_record_with_v1_parameters_is_refused(golden_v2):
    v1 = json.loads(GOLDEN_PATH.read_text(encoding="ascii"))
    golden_v2["params"] = v1["params"]
    report = run(golden_v2)
    assert report.exit_code == 1
    assert failures(report) == {("params", None)}
    assert report.ballots == 0  # the run stops at the parameters


def test_a_v1_record_with_v2_parameters_is_refused(golden, golden_v2):
    golden["params"] = golden_v2["params"]
    report = run(golden)
    assert failures(report) == {("params", None)}
    assert "v1" in report.failures[0].message


def test_the_format_tag_decides_the_parameters_a_record_holds(golden_v2):
    golden_v2["format"] = RECORD_FORMAT_V1
    report = run(golden_v2)
    assert failures(report) == {("params", None)}
    assert "parameters of format v2 in a record of format" in report.failures[0].message


def test_a_candidates_section_in_a_v2_record_is_unreadable(golden_v2, golden):
    sections = list(golden_v2.items())
    sections.insert(3, ("candidates", golden["candidates"]))
    report = run(dict(sections))
    assert report.exit_code == 2
    assert "expected the key 'trustees'" in (report.malformed or "")
    del golden["candidates"]
    assert "expected the key 'candidates'" in (run(golden).malformed or "")


@pytest.mark.parametrize("tag", ["evoting/election-record/v9", "", None, ["x"]])
def test_an_unknown_format_is_unreadable(golden_v2, tag):
    golden_v2["format"] = tag
    report = run(golden_v2)
    assert report.exit_code == 2
    assert "format" in (report.malformed or "")


def test_a_v2_record_verifies_with_a_process_pool():
    report = verify_record(io.BytesIO(GOLDEN_V2_PATH.read_bytes()), workers=2)
    assert report.exit_code == 0, report.summary()


# --- The document -----------------------------------------------------------------------

RECORD_DOC = GOLDEN_V2_PATH.parents[3] / "docs" / "election-record.md"


@pytest.mark.parametrize("path", [GOLDEN_V2_PATH, GOLDEN_PATH], ids=["v2", "v1"])
def test_the_document_states_the_golden_records_hashes(path):
    document = json.loads(path.read_text(encoding="ascii"))
    fingerprint = params_of(document).fingerprint
    chain = document["chain"]
    stated = RECORD_DOC.read_text(encoding="utf-8")
    for value in (
        fingerprint,
        chain["genesis"],
        document["ballots"][0]["chain_hash"],
        chain["head"],
        chain["closing"],
    ):
        assert f"`{value}`" in stated, value


def test_the_document_states_the_v2_layout(golden_v2):
    stated = " ".join(RECORD_DOC.read_text(encoding="utf-8").split())
    assert "`" + "`, `".join(golden_v2) + "`" in stated
    for key in golden_v2["results"][0]:
        assert f"| `{key}` |" in stated, key
