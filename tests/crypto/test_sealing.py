"""Sealing under a passphrase: round trip, every header field bound, bounds checked first.

``sealed-private-key-v1.json`` was written by the key-file code before it
moved into ``sealing``: it must still open, to the same plain bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elections.crypto import KeyFileError, ParameterError, dump_private_key, load_private_key
from elections.crypto.keys import ENCRYPTED_KEY_FORMAT
from elections.crypto.sealing import seal, unseal

from .conftest import KeyPair

FORMAT = "evoting/test-sealed/v1"
PASSPHRASE = "correct horse battery staple"
OLD_KEY_FILE = Path(__file__).with_name("sealed-private-key-v1.json")
OLD_KEY_PASSPHRASE = "sealed before sealing.py existed"


@pytest.fixture(scope="module")
def sealed() -> bytes:
    return seal(b"the secret \x00\xff bytes", PASSPHRASE, sealed_format=FORMAT)


def _open(document: object, passphrase: str = PASSPHRASE) -> bytes:
    return unseal(document, passphrase, sealed_format=FORMAT, error=ParameterError)


def _refusal(document: object, passphrase: str = PASSPHRASE) -> str:
    with pytest.raises(ParameterError) as caught:
        _open(document, passphrase)
    return str(caught.value)


def test_a_sealed_file_opens_with_its_passphrase_only(sealed: bytes) -> None:
    document = json.loads(sealed)
    assert _open(document) == b"the secret \x00\xff bytes"
    assert b"secret" not in sealed
    assert sorted(document) == [
        "cipher",
        "ciphertext",
        "format",
        "kdf",
        "kdf_log2_n",
        "kdf_p",
        "kdf_r",
        "nonce",
        "salt",
    ]
    assert (document["format"], document["kdf_log2_n"], document["kdf_r"]) == (FORMAT, "11", "8")
    assert "wrong passphrase" in _refusal(document, "correct horse battery stapler")


def test_each_seal_draws_a_fresh_salt_and_nonce(sealed: bytes) -> None:
    again = json.loads(seal(b"the secret \x00\xff bytes", PASSPHRASE, sealed_format=FORMAT))
    first = json.loads(sealed)
    assert first["salt"] != again["salt"] and first["nonce"] != again["nonce"]


def test_the_header_is_bound_and_checked_before_any_derivation(sealed: bytes) -> None:
    document = json.loads(sealed)
    # A changed parameter within bounds derives another key: indistinguishable from a wrong
    # passphrase, by design.
    assert "wrong passphrase" in _refusal({**document, "kdf_r": "9"})
    assert "not of the expected format" in _refusal({**document, "format": "evoting/other/v1"})
    assert "out of the accepted range" in _refusal({**document, "kdf_log2_n": "1e"})
    assert "out of the accepted range" in _refusal({**document, "kdf_p": "5"})
    assert "unsupported" in _refusal({**document, "cipher": "aes-128-gcm"})
    assert "lowercase hex" in _refusal({**document, "salt": document["salt"].upper()})
    assert "wrong length" in _refusal({**document, "nonce": "00"})
    assert "unexpected fields" in _refusal({**document, "hint": "it is my cat"})
    assert "missing fields" in _refusal({k: v for k, v in document.items() if k != "salt"})
    assert "non-empty" in _refusal(document, "")
    _refusal([document])


def test_seal_refuses_what_it_cannot_protect() -> None:
    with pytest.raises(ParameterError):
        seal(b"x", "", sealed_format=FORMAT)
    with pytest.raises(ParameterError):
        seal("text", PASSPHRASE, sealed_format=FORMAT)  # type: ignore[arg-type]
    with pytest.raises(KeyFileError):
        seal(b"x", PASSPHRASE, sealed_format="t\u00e9st", error=KeyFileError)


def test_a_non_ascii_passphrase_is_its_utf8_bytes() -> None:
    document = json.loads(seal(b"x", "p\u00e4ssw\u00f6rd", sealed_format=FORMAT))
    assert _open(document, "p\u00e4ssw\u00f6rd") == b"x"
    # The decomposed spelling is other bytes, so another key.
    assert "wrong passphrase" in _refusal(document, "pa\u0308ssw\u00f6rd")


def test_a_key_file_sealed_before_the_move_still_opens(keypair: KeyPair) -> None:
    data = OLD_KEY_FILE.read_bytes()
    loaded = load_private_key(
        data,
        passphrase=OLD_KEY_PASSPHRASE,
        expected_public_key=keypair[0],
        election_id="election-1",
    )
    assert (loaded.p, loaded.q) == (keypair[1].p, keypair[1].q)
    plain = unseal(
        json.loads(data),
        OLD_KEY_PASSPHRASE,
        sealed_format=ENCRYPTED_KEY_FORMAT,
        error=KeyFileError,
    )
    assert plain == dump_private_key(keypair[1], election_id="election-1")
