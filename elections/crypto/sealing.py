"""Sealing a secret file under a passphrase: scrypt, then AES-256-GCM.

A sealed file is canonical JSON: a header naming the format, the key
derivation and its parameters, a random salt and nonce, and ``ciphertext``,
the AES-256-GCM encryption (with its 16-byte tag) of the plain file. The key
is ``scrypt(passphrase as UTF-8, salt, N = 2^17, r = 8, p = 1)``, 32 bytes.
The canonical JSON of the header (every field but ``ciphertext``) is the
GCM associated data, so changing any parameter, the format tag included,
makes the tag check fail exactly like a wrong passphrase.

Private key files (``keys``) and trustee shares (``elections.trustee``) use
it with their own format tags; ``docs/trustees.md`` gives it byte by byte.

Threat model. Protects a file at rest against whoever copies it without the
passphrase: every guess costs one scrypt derivation (128 MiB of memory and a
fraction of a second), and any modification is detected. Does not protect
against a weak passphrase (an attacker with the file can guess offline), a
compromised machine that sees the passphrase typed or the unsealed secret in
memory, or the loss of the passphrase (nothing can open the file then).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .encoding import canonical_json, check_text, expect_object, int_to_hex, parse_hex
from .errors import CryptoError, ParameterError

KDF = "scrypt"
CIPHER = "aes-256-gcm"
# scrypt at N = 2^17, r = 8, p = 1 uses 128 MiB and a fraction of a second:
# the OWASP 2023 recommendation for interactive use. The reader accepts other
# parameters so that an older file still opens, but only up to twice that
# work and memory (128 * r * N * p bytes), checked before deriving anything, so
# a crafted header cannot make the reading process allocate gigabytes.
SCRYPT_LOG2_N = 17
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_LOG2_N_RANGE = range(14, 21)
SCRYPT_MAX_COST = 2 * 128 * SCRYPT_R * (1 << SCRYPT_LOG2_N) * SCRYPT_P
SALT_BYTES = 16
NONCE_BYTES = 12
HEADER_FIELDS = ("format", "kdf", "kdf_log2_n", "kdf_r", "kdf_p", "salt", "cipher", "nonce")
MAX_FORMAT_LENGTH = 128

_LOWER_HEX_RE = re.compile(r"(?:[0-9a-f]{2})*")


def seal(
    plain: bytes,
    passphrase: str,
    *,
    sealed_format: str,
    error: type[CryptoError] = ParameterError,
) -> bytes:
    """Encrypt ``plain`` under ``passphrase``; return the sealed file (canonical JSON, ASCII).

    Takes the bytes to protect, a non-empty passphrase (encoded as UTF-8,
    not normalised: the same keystrokes must produce the same bytes when the
    file is opened) and the sealed file's format tag (printable ASCII).
    Draws a fresh 16-byte salt and 12-byte nonce from the OS CSPRNG, so two
    seals of the same bytes differ. Raises ``error`` for an empty passphrase
    or a bad format tag.
    """
    if not isinstance(plain, bytes):
        raise error("only bytes can be sealed")
    if not isinstance(passphrase, str) or not passphrase:
        raise error("the passphrase must be a non-empty string")
    check_text(sealed_format, field="sealed format", max_len=MAX_FORMAT_LENGTH, error=error)
    header = {
        "format": sealed_format,
        "kdf": KDF,
        "kdf_log2_n": int_to_hex(SCRYPT_LOG2_N),
        "kdf_r": int_to_hex(SCRYPT_R),
        "kdf_p": int_to_hex(SCRYPT_P),
        "salt": secrets.token_hex(SALT_BYTES),
        "cipher": CIPHER,
        "nonce": secrets.token_hex(NONCE_BYTES),
    }
    key = _derive_key(passphrase, bytes.fromhex(header["salt"]), SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
    sealed = AESGCM(key).encrypt(
        bytes.fromhex(header["nonce"]), plain, canonical_json(header).encode("ascii")
    )
    return canonical_json({**header, "ciphertext": sealed.hex()}).encode("ascii")


def unseal(
    document: object,
    passphrase: str,
    *,
    sealed_format: str,
    error: type[CryptoError],
    what: str = "sealed file",
) -> bytes:
    """Open a sealed file (already decoded from JSON); return the plain bytes.

    Takes the decoded document, the passphrase, the format tag it must carry
    and the error class to raise; ``what`` names the file in messages ("key
    file"). Checks, before deriving any key: exactly the header fields and
    ``ciphertext``, the format, scrypt and AES-256-GCM, scrypt parameters
    within ``log2 N`` in 14..20, ``r`` <= 16, ``p`` <= 4 and at most twice
    the default memory, a 16-byte salt and 12-byte nonce in lowercase hex.
    Raises ``error`` for any of these, and "wrong passphrase, or the ...
    was modified" when the GCM tag does not verify: the two cannot be told
    apart, by design.
    """
    document = expect_object(document, keys=(*HEADER_FIELDS, "ciphertext"), field=what, error=error)
    if document["format"] != sealed_format:
        raise error(f"{what}: not of the expected format")
    if not isinstance(passphrase, str) or not passphrase:
        raise error("the passphrase must be a non-empty string")
    if document["kdf"] != KDF or document["cipher"] != CIPHER:
        raise error(f"unsupported {what} encryption")
    log2_n = parse_hex(document["kdf_log2_n"], field="kdf_log2_n", max_digits=2, error=error)
    r = parse_hex(document["kdf_r"], field="kdf_r", max_digits=2, error=error)
    p = parse_hex(document["kdf_p"], field="kdf_p", max_digits=1, error=error)
    if (
        log2_n not in SCRYPT_LOG2_N_RANGE
        or not 1 <= r <= 16
        or not 1 <= p <= 4
        or 128 * r * (1 << log2_n) * p > SCRYPT_MAX_COST
    ):
        raise error(f"{what} scrypt parameters are out of the accepted range")
    salt = _fixed_hex(document["salt"], SALT_BYTES, f"{what} salt", error)
    nonce = _fixed_hex(document["nonce"], NONCE_BYTES, f"{what} nonce", error)
    sealed = _fixed_hex(document["ciphertext"], None, f"{what} ciphertext", error)
    header: dict[str, Any] = {field: document[field] for field in HEADER_FIELDS}
    key = _derive_key(passphrase, salt, log2_n, r, p)
    try:
        return AESGCM(key).decrypt(nonce, sealed, canonical_json(header).encode("ascii"))
    except InvalidTag:
        raise error(f"wrong passphrase, or the {what} was modified") from None


def _derive_key(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p)
    return kdf.derive(passphrase.encode("utf-8"))


def _fixed_hex(value: object, size: int | None, field: str, error: type[CryptoError]) -> bytes:
    if (
        not isinstance(value, str)
        or len(value) % 2
        or (size is not None and len(value) != 2 * size)
    ):
        raise error(f"{field} has the wrong length")
    if _LOWER_HEX_RE.fullmatch(value) is None:
        raise error(f"{field} is not lowercase hex")
    return bytes.fromhex(value)
