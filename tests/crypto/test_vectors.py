"""Known-answer vectors shared with the JavaScript tests, and JS-made ballots in Python."""

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
    ballot_tracker,
    batch_verify,
    decrypt_with_proof,
    encrypt_ballot,
    params_from_json,
    params_to_json,
    parse_ballot,
    verify_ballot,
    verify_decryption,
)
from elections.crypto.proofs import statement_digest

from .conftest import load_vectors

VECTORS = load_vectors()
NODE = shutil.which("node")
HERE = Path(__file__).parent


def test_vector_files_are_present() -> None:
    assert len(VECTORS) >= 3


def _params(vector: dict[str, Any]) -> ElectionParams:
    params = params_from_json(json.dumps(vector["params"]))
    assert params.n == int(vector["key"]["n"], 16)
    return params


@pytest.mark.parametrize(("name", "vector"), VECTORS, ids=[name for name, _ in VECTORS])
def test_vector_reproduces_exactly(name: str, vector: dict[str, Any]) -> None:
    params = _params(vector)
    assert json.loads(params_to_json(params)) == vector["params"]
    assert params.fingerprint == vector["fingerprint"]
    context = vector["voter_context"]
    ballot = encrypt_ballot(
        params,
        context,
        vector["selections"],
        rng=DeterministicRandom(bytes.fromhex(vector["seed"])),
    )
    assert ballot_to_dict(ballot) == vector["ballot"]
    assert ballot_tracker(ballot) == vector["tracker"]
    assert statement_digest(params.fingerprint, context, ballot.ciphertexts) == vector["statement"]
    assert parse_ballot(params, vector["ballot"]) == ballot
    verify_ballot(params, context, ballot)
    assert batch_verify(params, [(context, ballot)]) == []


@pytest.mark.parametrize(("name", "vector"), VECTORS, ids=[name for name, _ in VECTORS])
def test_vector_ciphertexts_match_phe(name: str, vector: dict[str, Any]) -> None:
    public_key = paillier.PaillierPublicKey(int(vector["key"]["n"], 16))
    for m, r, c in zip(
        vector["selections"], vector["randomness"], vector["ballot"]["ciphertexts"], strict=True
    ):
        assert public_key.raw_encrypt(m, r_value=int(r, 16)) == int(c, 16)


@pytest.mark.parametrize(("name", "vector"), VECTORS, ids=[name for name, _ in VECTORS])
def test_vector_tally_and_decryption_proofs(name: str, vector: dict[str, Any]) -> None:
    params = _params(vector)
    key = vector["key"]
    private_key = paillier.PaillierPrivateKey(
        params.public_key, int(key["p"], 16), int(key["q"], 16)
    )
    ballot = parse_ballot(params, vector["ballot"])
    totals = aggregate_ballots(params, [ballot, ballot])
    for total, expected, selected in zip(
        totals, vector["tally_of_two_copies"], vector["selections"], strict=True
    ):
        assert format(total, "x") == expected["ciphertext"]
        count, r = decrypt_with_proof(private_key, total)
        assert (format(count, "x"), format(r, "x")) == (expected["count"], expected["r"])
        assert count == 2 * selected
        verify_decryption(params.public_key, total, count, r)


@pytest.mark.skipif(NODE is None, reason="node is not installed: the JS-to-Python check cannot run")
@pytest.mark.parametrize("selections", ["0,1,0", "1,0,0"])
def test_ballot_made_by_javascript_verifies_in_python(tmp_path: Path, selections: str) -> None:
    vector = dict(VECTORS)["ballot-k3-one-of-three-1024.json"]
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(vector["params"]))
    context = "election=kat-election-1;voter=node"
    result = subprocess.run(
        [NODE or "node", str(HERE / "node_make_ballot.mjs"), str(params_file), context, selections],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    params = _params(vector)
    ballot = parse_ballot(params, result.stdout)
    verify_ballot(params, context, ballot)
    assert batch_verify(params, [(context, ballot)]) == []
    with pytest.raises(InvalidBallot, match="challenge"):
        verify_ballot(params, "election=kat-election-1;voter=other", ballot)
