"""Known-answer vectors shared with the JavaScript tests, and JS-made ballots in Python.

Every vector, v1 and v2, is reproduced byte for byte: the parameters'
canonical JSON and fingerprint, the ballot's canonical JSON and tracker, the
statement digest, and the decrypted tally of two copies with its proofs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from phe import paillier

from elections.crypto import (
    DeterministicRandom,
    ElectionParams,
    InvalidBallot,
    aggregate_ballots,
    ballot_to_dict,
    ballot_to_json,
    ballot_tracker,
    batch_verify,
    decrypt_with_proof,
    encrypt_ballot,
    params_from_json,
    params_to_json,
    parse_ballot,
    parse_ballot_with_json,
    verify_ballot,
    verify_decryption,
)
from elections.crypto.proofs import statement_digest

from .conftest import VECTOR_DIR, load_vectors
from .make_vectors import CASES, CASES_V2, build_vector

VECTORS = load_vectors()
NODE = shutil.which("node")
HERE = Path(__file__).parent
IDS = [name for name, _ in VECTORS]


def test_vector_files_are_present() -> None:
    versions = [vector["params"]["format"][-2:] for _, vector in VECTORS]
    assert versions.count("v1") == 3 and versions.count("v2") >= 4
    assert sorted(f"{case['name']}.json" for case in CASES + CASES_V2) == IDS


def _params(vector: dict[str, Any]) -> ElectionParams:
    params = params_from_json(vector["params_json"])
    assert params.n == int(vector["key"]["n"], 16)
    return params


def _ciphertexts(vector: dict[str, Any]) -> list[str]:
    ballot = vector["ballot"]
    if "questions" not in ballot:
        ciphertexts: list[str] = ballot["ciphertexts"]
        return ciphertexts
    return [c for question in ballot["questions"] for c in question["ciphertexts"]]


@pytest.mark.parametrize(("name", "vector"), VECTORS, ids=IDS)
def test_vector_parameters_reproduce_exactly(name: str, vector: dict[str, Any]) -> None:
    params = _params(vector)
    assert params.version == (1 if vector["params"]["format"].endswith("v1") else 2)
    assert params_to_json(params) == vector["params_json"]
    assert json.loads(vector["params_json"]) == vector["params"]
    assert params_from_json(json.dumps(vector["params"])) == params
    assert params.fingerprint == vector["fingerprint"]


@pytest.mark.parametrize(("name", "vector"), VECTORS, ids=IDS)
def test_vector_ballot_reproduces_exactly(name: str, vector: dict[str, Any]) -> None:
    params = _params(vector)
    context = vector["voter_context"]
    ballot = encrypt_ballot(
        params,
        context,
        vector["selections"],
        rng=DeterministicRandom(bytes.fromhex(vector["seed"])),
    )
    assert ballot_to_json(ballot, params) == vector["ballot_json"]
    assert ballot_to_dict(ballot, params) == vector["ballot"]
    assert ballot_tracker(ballot, params) == vector["tracker"]
    statement = statement_digest(params.fingerprint, context, ballot.ciphertexts, params.version)
    assert statement == vector["statement"]
    assert parse_ballot(params, vector["ballot_json"]) == ballot
    assert parse_ballot(params, vector["ballot"]) == ballot
    for received in (vector["ballot_json"], vector["ballot"]):
        assert parse_ballot_with_json(params, received) == (ballot, vector["ballot_json"])
    verify_ballot(params, context, ballot)
    assert batch_verify(params, [(context, ballot)]) == []


@pytest.mark.parametrize(("name", "vector"), VECTORS, ids=IDS)
def test_vector_ciphertexts_match_phe(name: str, vector: dict[str, Any]) -> None:
    public_key = paillier.PaillierPublicKey(int(vector["key"]["n"], 16))
    ciphertexts = _ciphertexts(vector)
    assert len(ciphertexts) == len(vector["selections"]) == len(vector["randomness"])
    for m, r, c in zip(vector["selections"], vector["randomness"], ciphertexts, strict=True):
        assert public_key.raw_encrypt(m, r_value=int(r, 16)) == int(c, 16)


@pytest.mark.parametrize(("name", "vector"), VECTORS, ids=IDS)
def test_vector_tally_and_decryption_proofs(name: str, vector: dict[str, Any]) -> None:
    params = _params(vector)
    key = vector["key"]
    private_key = paillier.PaillierPrivateKey(
        params.public_key, int(key["p"], 16), int(key["q"], 16)
    )
    ballot = parse_ballot(params, vector["ballot_json"])
    totals = aggregate_ballots(params, [ballot, ballot])
    assert len(totals) == params.slot_count == len(vector["tally_of_two_copies"])
    for total, expected, selected in zip(
        totals, vector["tally_of_two_copies"], vector["selections"], strict=True
    ):
        assert format(total, "x") == expected["ciphertext"]
        count, r = decrypt_with_proof(private_key, total)
        assert (format(count, "x"), format(r, "x")) == (expected["count"], expected["r"])
        assert count == 2 * selected
        verify_decryption(params.public_key, total, count, r)


@pytest.mark.parametrize("case", CASES + CASES_V2, ids=[case["name"] for case in CASES + CASES_V2])
def test_generator_rewrites_every_file_byte_for_byte(case: dict[str, Any]) -> None:
    """``python -m tests.crypto.make_vectors`` would write exactly the committed file."""
    expected = (VECTOR_DIR / f"{case['name']}.json").read_text()
    assert json.dumps(build_vector(case), indent=2, sort_keys=True) + "\n" == expected


def _ballot_from_node(vector: dict[str, Any], tmp_path: Path, context: str, selections: str) -> str:
    params_file = tmp_path / "params.json"
    params_file.write_text(vector["params_json"])
    result = subprocess.run(
        [NODE or "node", str(HERE / "node_make_ballot.mjs"), str(params_file), context, selections],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


@pytest.mark.skipif(NODE is None, reason="node is not installed: the JS-to-Python check cannot run")
@pytest.mark.parametrize(
    ("name", "selections"),
    [
        ("ballot-k3-one-of-three-1024.json", "0,1,0"),
        ("ballot-k3-one-of-three-1024.json", "1,0,0"),
        ("ballot-v2-three-questions-blank-1024.json", "0,1,0,0,0,0,1,1,0,1,0"),
        ("ballot-v2-three-questions-blank-1024.json", "1,0,0,0,1,0,0,0,0,0,1"),
        ("ballot-v2-one-question-1024.json", "0,0,1"),
    ],
)
def test_ballot_made_by_javascript_verifies_in_python(
    tmp_path: Path, name: str, selections: str
) -> None:
    vector = dict(VECTORS)[name]
    params = _params(vector)
    context = f"election={params.election_id};voter=node"
    ballot = parse_ballot(params, _ballot_from_node(vector, tmp_path, context, selections))
    verify_ballot(params, context, ballot)
    assert batch_verify(params, [(context, ballot)]) == []
    with pytest.raises(InvalidBallot, match="challenge"):
        verify_ballot(params, f"election={params.election_id};voter=other", ballot)
