"""Paillier key generation, key-size policy and key files.

The election's private key never lives on the server: it is generated,
written to a file for the administrator (optionally under a passphrase) and
read back only to decrypt the closed tally. The loader refuses any file that
does not match the election's public key, so a wrong or substituted key
cannot produce a plausible-looking tally.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gmpy2  # type: ignore[import-untyped]
from phe import paillier

from .encoding import (
    canonical_json,
    check_text,
    expect_object,
    hex_len,
    int_to_hex,
    load_json,
    parse_hex,
)
from .errors import CryptoError, KeyFileError, ParameterError
from .sealing import seal, unseal

MIN_KEY_BITS = 2048
DEFAULT_KEY_BITS = 3072
MAX_KEY_BITS = 8192
TEST_MIN_KEY_BITS = 512

PUBLIC_KEY_FORMAT = "evoting/paillier-public-key/v1"
PRIVATE_KEY_FORMAT = "evoting/paillier-private-key/v1"
ENCRYPTED_KEY_FORMAT = "evoting/paillier-private-key-encrypted/v1"

_MAX_KEY_FILE_BYTES = 64 * 1024
_MAX_ELECTION_ID = 128

_small_keys_lock = threading.Lock()
_small_keys_depth = 0


@contextmanager
def allow_small_keys_for_tests() -> Iterator[None]:
    """Let keys down to 512 bits through every check inside the ``with`` block.

    Only tests use this: small keys keep the suite fast. Production code has
    no way to lower the 2048-bit floor except by entering this context
    manager by name, which a reviewer sees.
    """
    global _small_keys_depth
    with _small_keys_lock:
        _small_keys_depth += 1
    try:
        yield
    finally:
        with _small_keys_lock:
            _small_keys_depth -= 1


def minimum_key_bits() -> int:
    """Return the smallest modulus size currently accepted (2048, or 512 in tests)."""
    return TEST_MIN_KEY_BITS if _small_keys_depth > 0 else MIN_KEY_BITS


def check_modulus(n: object, *, error: type[CryptoError] = ParameterError) -> int:
    """Check that ``n`` can be a Paillier modulus under the key-size policy.

    Takes any object; returns ``n`` as an ``int``. Raises ``error`` unless it
    is an odd integer (not a bool) of ``minimum_key_bits()`` to 8192 bits.
    Whether ``n`` really is a product of two primes cannot be checked
    without the factors; the election administrator generates it.
    """
    if not isinstance(n, int) or isinstance(n, bool):
        raise error("the modulus must be an integer")
    bits = n.bit_length()
    if bits < minimum_key_bits():
        raise error(f"the key has {bits} bits; at least {minimum_key_bits()} are required")
    if bits > MAX_KEY_BITS:
        raise error(f"the key has {bits} bits; at most {MAX_KEY_BITS} are supported")
    if n % 2 == 0:
        raise error("the modulus must be odd")
    return int(n)


def check_public_key(public_key: object, *, error: type[CryptoError] = ParameterError) -> int:
    """Check a phe ``PaillierPublicKey`` (type, g = n + 1, size); return its ``n``."""
    if not isinstance(public_key, paillier.PaillierPublicKey):
        raise error("expected a phe PaillierPublicKey")
    n = check_modulus(public_key.n, error=error)
    if public_key.g != n + 1:
        raise error("only keys with g = n + 1 are supported")
    return n


def generate_keypair(
    bits: int = DEFAULT_KEY_BITS,
) -> tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey]:
    """Generate a Paillier key pair with an ``bits``-bit modulus and g = n + 1.

    Takes the modulus size (default 3072, 128-bit security). Returns phe's
    public and private key. Raises ``ParameterError`` below 2048 bits (unless
    inside ``allow_small_keys_for_tests``), above 8192, or for an odd size
    (phe draws two primes of ``bits / 2`` bits each). The primes come from
    phe, which draws them from the operating system's CSPRNG.
    """
    if not isinstance(bits, int) or isinstance(bits, bool) or bits % 2:
        raise ParameterError("the key size must be an even number of bits")
    if bits < minimum_key_bits() or bits > MAX_KEY_BITS:
        raise ParameterError(
            f"the key size must be between {minimum_key_bits()} and {MAX_KEY_BITS} bits"
        )
    public_key, private_key = paillier.generate_paillier_keypair(n_length=bits)
    return public_key, private_key


def public_key_to_json(public_key: paillier.PaillierPublicKey) -> str:
    """Serialise a public key canonically: ``{"format": ..., "n": "<hex>"}``."""
    n = check_public_key(public_key)
    return canonical_json({"format": PUBLIC_KEY_FORMAT, "n": int_to_hex(n)})


def public_key_from_json(text: str | bytes) -> paillier.PaillierPublicKey:
    """Parse a public key written by ``public_key_to_json``.

    Returns a phe ``PaillierPublicKey``. Raises ``ParameterError`` for any
    other shape, a non-canonical integer, or a modulus outside the policy.
    """
    document = load_json(text, max_bytes=8 * 1024, error=ParameterError)
    document = expect_object(
        document, keys=("format", "n"), field="public key", error=ParameterError
    )
    if document["format"] != PUBLIC_KEY_FORMAT:
        raise ParameterError("public key: unknown format")
    n = parse_hex(
        document["n"],
        field="public key n",
        max_digits=hex_len(2**MAX_KEY_BITS),
        error=ParameterError,
    )
    return paillier.PaillierPublicKey(check_modulus(n))


def dump_private_key(
    private_key: paillier.PaillierPrivateKey, *, election_id: str, passphrase: str | None = None
) -> bytes:
    """Write a private key file for one election.

    Takes phe's private key, the election id it belongs to and an optional
    passphrase. Returns UTF-8 JSON bytes holding ``n``, ``p``, ``q`` and the
    election id. With a passphrase that JSON is sealed (``sealing.seal``):
    encrypted with AES-256-GCM under a key derived by scrypt (N = 2^17,
    r = 8, p = 1, 16-byte random salt, 12-byte random nonce); the header
    carrying those parameters is the GCM associated data, so changing any of
    them makes decryption fail.
    Raises ``KeyFileError`` for an empty passphrase or a bad election id.
    """
    if not isinstance(private_key, paillier.PaillierPrivateKey):
        raise KeyFileError("expected a phe PaillierPrivateKey")
    check_text(election_id, field="election id", max_len=_MAX_ELECTION_ID, error=KeyFileError)
    plain = canonical_json(
        {
            "format": PRIVATE_KEY_FORMAT,
            "election_id": election_id,
            "n": int_to_hex(private_key.public_key.n),
            "p": int_to_hex(private_key.p),
            "q": int_to_hex(private_key.q),
        }
    ).encode("ascii")
    if passphrase is None:
        return plain
    if not isinstance(passphrase, str) or not passphrase:
        raise KeyFileError("the passphrase must be a non-empty string")
    return seal(plain, passphrase, sealed_format=ENCRYPTED_KEY_FORMAT, error=KeyFileError)


def load_private_key(
    data: bytes,
    *,
    passphrase: str | None,
    expected_public_key: paillier.PaillierPublicKey,
    election_id: str,
) -> paillier.PaillierPrivateKey:
    """Read a key file written by ``dump_private_key`` and check it belongs here.

    Takes the file bytes, the passphrase (``None`` for an unencrypted file),
    the election's public key and id. Returns phe's private key. Raises
    ``KeyFileError`` if the file is corrupt or truncated, the passphrase is
    missing, unexpected or wrong, the key belongs to another election or
    another public key, is below the size policy, or its primes are not
    primes whose product is ``n``. Messages never contain key material.
    """
    try:
        expected_n = check_public_key(expected_public_key, error=KeyFileError)
    except KeyFileError as exc:
        raise KeyFileError(f"the election's public key is unusable: {exc}") from None
    document = load_json(data, max_bytes=_MAX_KEY_FILE_BYTES, error=KeyFileError)
    if not isinstance(document, dict):
        raise KeyFileError("not a key file")
    if document.get("format") == ENCRYPTED_KEY_FORMAT:
        if passphrase is None:
            raise KeyFileError("the key file is encrypted: a passphrase is required")
        plain = unseal(
            document,
            passphrase,
            sealed_format=ENCRYPTED_KEY_FORMAT,
            error=KeyFileError,
            what="key file",
        )
        document = load_json(plain, max_bytes=_MAX_KEY_FILE_BYTES, error=KeyFileError)
    elif passphrase is not None:
        raise KeyFileError("the key file is not encrypted, but a passphrase was given")
    p, q = _key_factors(document, expected_n=expected_n, election_id=election_id)
    return paillier.PaillierPrivateKey(expected_public_key, p, q)


def _key_factors(document: Any, *, expected_n: int, election_id: str) -> tuple[int, int]:
    document = expect_object(
        document,
        keys=("format", "election_id", "n", "p", "q"),
        field="key file",
        error=KeyFileError,
    )
    if document["format"] != PRIVATE_KEY_FORMAT:
        raise KeyFileError("not a private key file of a known format")
    if document["election_id"] != election_id:
        raise KeyFileError("this key belongs to another election")
    digits = hex_len(2**MAX_KEY_BITS)
    n = parse_hex(document["n"], field="key n", max_digits=digits, error=KeyFileError)
    p = parse_hex(document["p"], field="key p", max_digits=digits, error=KeyFileError)
    q = parse_hex(document["q"], field="key q", max_digits=digits, error=KeyFileError)
    check_modulus(n, error=KeyFileError)
    if n != expected_n:
        raise KeyFileError("this key does not match the election's public key")
    if p == q or p * q != n or min(p, q) < 3:
        raise KeyFileError("the key file is corrupt: its primes do not multiply to n")
    if not (gmpy2.is_prime(p, 50) and gmpy2.is_prime(q, 50)):
        raise KeyFileError("the key file is corrupt: a factor is not prime")
    if gmpy2.gcd(n, (p - 1) * (q - 1)) != 1:
        raise KeyFileError("the key file is unusable: gcd(n, phi(n)) is not 1")
    return p, q
