"""Key generation policy, public key JSON and private key files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from phe import paillier

from elections.crypto import (
    KeyFileError,
    ParameterError,
    allow_small_keys_for_tests,
    dump_private_key,
    generate_keypair,
    load_private_key,
    minimum_key_bits,
    public_key_from_json,
    public_key_to_json,
)
from elections.crypto.keys import MIN_KEY_BITS

from .conftest import KeyPair

ELECTION = "election-1"
PASSPHRASE = "correct horse battery staple"


PRODUCTION_CHECK = """
import json, sys
from phe import paillier
from elections.crypto import ElectionParams, KeyFileError, OptionParams, ParameterError
from elections.crypto import QuestionParams, single_question_params
from elections.crypto import dump_private_key, generate_keypair, load_private_key, minimum_key_bits
n, p, q = (int(x, 16) for x in sys.argv[1:4])
pk = paillier.PaillierPublicKey(n)
sk = paillier.PaillierPrivateKey(pk, p, q)
outcome = {"minimum": minimum_key_bits()}
for name, attempt in {
    "params": lambda: single_question_params("e", pk, ("a",)),
    "params_v2": lambda: ElectionParams(
        "e", pk, (QuestionParams((OptionParams("a", "A"),), title="Q"),), "Election"),
    "generate": lambda: generate_keypair(1024),
    "load": lambda: load_private_key(
        dump_private_key(sk, election_id="e"), passphrase=None, expected_public_key=pk,
        election_id="e"),
}.items():
    try:
        attempt()
        outcome[name] = "accepted"
    except (ParameterError, KeyFileError) as exc:
        outcome[name] = type(exc).__name__ + ": " + str(exc)
print(json.dumps(outcome))
"""


def test_small_keys_are_refused_without_the_test_flag(keypair: KeyPair) -> None:
    """A fresh process, where no test flag was ever set, refuses a 512-bit key everywhere."""
    public_key, private_key = keypair
    numbers = [format(x, "x") for x in (public_key.n, private_key.p, private_key.q)]
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_CHECK, *numbers],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    outcome = json.loads(result.stdout)
    assert outcome["minimum"] == MIN_KEY_BITS == 2048
    assert outcome["params"].startswith("ParameterError") and "2048" in outcome["params"]
    assert outcome["params_v2"].startswith("ParameterError") and "2048" in outcome["params_v2"]
    assert outcome["generate"].startswith("ParameterError")
    assert outcome["load"].startswith("KeyFileError") and "2048" in outcome["load"]
    for secret in numbers[1:]:
        assert secret not in result.stdout


def test_the_test_flag_nests(keypair: KeyPair) -> None:
    assert minimum_key_bits() == 512
    with allow_small_keys_for_tests(), allow_small_keys_for_tests():
        assert minimum_key_bits() == 512
    assert minimum_key_bits() == 512


def test_generate_keypair_bounds() -> None:
    public_key, private_key = generate_keypair(512)
    assert public_key.n.bit_length() == 512
    assert public_key.g == public_key.n + 1
    assert private_key.p * private_key.q == public_key.n
    for bits in (256, 511, 8194, 513, True, "2048"):
        with pytest.raises(ParameterError):
            generate_keypair(bits)  # type: ignore[arg-type]


def test_public_key_json_round_trip_and_strictness(keypair: KeyPair) -> None:
    text = public_key_to_json(keypair[0])
    assert public_key_from_json(text) == keypair[0]
    document = json.loads(text)
    for bad in (
        {**document, "n": int(document["n"], 16)},
        {**document, "n": "0" + document["n"]},
        {**document, "n": document["n"].upper()},
        {**document, "n": format(int(document["n"], 16) + 1, "x")},
        {**document, "n": "f" * 100},
        {**document, "g": "1"},
        {"n": document["n"]},
        [document["n"]],
    ):
        with pytest.raises(ParameterError):
            public_key_from_json(json.dumps(bad))
    with pytest.raises(ParameterError):
        public_key_from_json(b"{" * 10_000)


def test_plain_key_file_round_trip(keypair: KeyPair) -> None:
    public_key, private_key = keypair
    data = dump_private_key(private_key, election_id=ELECTION)
    loaded = load_private_key(
        data, passphrase=None, expected_public_key=public_key, election_id=ELECTION
    )
    assert (loaded.p, loaded.q) == (private_key.p, private_key.q)
    assert json.loads(data)["election_id"] == ELECTION


@pytest.fixture(scope="module")
def encrypted_file(keypair: KeyPair) -> bytes:
    return dump_private_key(keypair[1], election_id=ELECTION, passphrase=PASSPHRASE)


def test_encrypted_key_file_round_trip(keypair: KeyPair, encrypted_file: bytes) -> None:
    assert format(keypair[1].p, "x").encode() not in encrypted_file
    header = json.loads(encrypted_file)
    assert (header["kdf"], header["kdf_log2_n"], header["kdf_r"], header["kdf_p"]) == (
        "scrypt",
        "11",
        "8",
        "1",
    )
    loaded = load_private_key(
        encrypted_file, passphrase=PASSPHRASE, expected_public_key=keypair[0], election_id=ELECTION
    )
    assert loaded.p == keypair[1].p


def _edit(data: bytes, **changes: str) -> bytes:
    return json.dumps({**json.loads(data), **changes}).encode()


def _refusal(
    data: bytes, keypair: KeyPair, passphrase: str | None, election: str = ELECTION
) -> str:
    with pytest.raises(KeyFileError) as caught:
        load_private_key(
            data, passphrase=passphrase, expected_public_key=keypair[0], election_id=election
        )
    message = str(caught.value)
    for secret in (keypair[1].p, keypair[1].q):
        assert format(secret, "x") not in message and str(secret) not in message
    return message


def test_encrypted_key_file_refusals(keypair: KeyPair, encrypted_file: bytes) -> None:
    assert "wrong passphrase" in _refusal(encrypted_file, keypair, "incorrect horse")
    assert "passphrase is required" in _refusal(encrypted_file, keypair, None)
    assert "wrong passphrase" in _refusal(_edit(encrypted_file, kdf_r="9"), keypair, PASSPHRASE)
    assert "out of the accepted range" in _refusal(
        _edit(encrypted_file, kdf_log2_n="1e"), keypair, PASSPHRASE
    )
    # Each within its own bounds, together 2 GiB of scrypt memory: refused before deriving.
    assert "out of the accepted range" in _refusal(
        _edit(encrypted_file, kdf_log2_n="14", kdf_r="10", kdf_p="4"), keypair, PASSPHRASE
    )
    document = json.loads(encrypted_file)
    flipped = document["ciphertext"][:-2] + format(int(document["ciphertext"][-2:], 16) ^ 1, "02x")
    assert "wrong passphrase" in _refusal(
        _edit(encrypted_file, ciphertext=flipped), keypair, PASSPHRASE
    )
    _refusal(_edit(encrypted_file, nonce="00"), keypair, PASSPHRASE)
    _refusal(encrypted_file[: len(encrypted_file) // 2], keypair, PASSPHRASE)
    _refusal(encrypted_file, keypair, "")


def test_plain_key_file_refusals(keypair: KeyPair, other_keypair: KeyPair) -> None:
    data = dump_private_key(keypair[1], election_id=ELECTION)
    assert "another election" in _refusal(data, keypair, None, election="election-2")
    assert "not encrypted" in _refusal(data, keypair, PASSPHRASE)
    other = dump_private_key(other_keypair[1], election_id=ELECTION)
    assert "does not match" in _refusal(other, keypair, None)
    _refusal(data[:-10], keypair, None)
    _refusal(b"", keypair, None)
    _refusal(b"\x00\xff" * 10, keypair, None)
    _refusal(b"x" * (1 << 20), keypair, None)
    p, q = keypair[1].p, keypair[1].q
    _refusal(_edit(data, p=format(p + 2, "x")), keypair, None)
    _refusal(_edit(data, p=format(p * q, "x"), q="1"), keypair, None)
    _refusal(_edit(data, p=str(p)), keypair, None)
    _refusal(_edit(data, format="something-else"), keypair, None)
    _refusal(json.dumps({**json.loads(data), "extra": "1"}).encode(), keypair, None)


def test_key_file_needs_real_key_objects(keypair: KeyPair) -> None:
    with pytest.raises(KeyFileError):
        dump_private_key("key", election_id=ELECTION)
    with pytest.raises(KeyFileError):
        dump_private_key(keypair[1], election_id="")
    with pytest.raises(KeyFileError):
        load_private_key(b"{}", passphrase=None, expected_public_key="pk", election_id=ELECTION)
    assert isinstance(keypair[1], paillier.PaillierPrivateKey)
