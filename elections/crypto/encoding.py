"""Canonical JSON, strict parsing and the Fiat-Shamir transcript encoding.

Integers travel as lowercase hexadecimal strings without prefix or leading
zeros (``"0"`` for zero). That gives every integer exactly one spelling, so a
canonical ballot has exactly one byte string and one tracker, and it avoids
JSON numbers altogether (floats, 5,000-digit decimals, booleans).
Identifiers (election and option ids, voter contexts) are printable
ASCII; labels (titles, names) are Unicode with one spelling each
(``check_label``), escaped as ``\\uXXXX`` in canonical JSON, so that
Python's and the browser's encoders produce the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from .errors import CryptoError

_HEX_DIGITS = b"0123456789abcdef"
_PRINTABLE_RE = re.compile(r"[\x20-\x7e]*")


def int_to_hex(value: int) -> str:
    """Return the canonical hex spelling of a non-negative integer.

    Takes an ``int`` >= 0 and returns lowercase hex without prefix or leading
    zeros. Raises ``CryptoError`` for a negative value, which has no spelling.
    """
    if value < 0:
        raise CryptoError("negative integers have no canonical encoding")
    return format(value, "x")


def hex_len(bound: int) -> int:
    """Return the number of hex digits of ``bound``: the longest spelling of any value <= it."""
    return len(format(bound, "x"))


def parse_hex(value: object, *, field: str, max_digits: int, error: type[CryptoError]) -> int:
    """Parse one canonical hex integer, checking type and length before converting.

    Takes the decoded JSON value, a field name for messages, the maximum
    number of digits and the error class to raise. Returns the integer.
    Raises ``error`` for anything but a string of at most ``max_digits``
    lowercase hex digits without leading zeros: the length test runs first,
    so a 1 MB string costs nothing to refuse.
    """
    if not isinstance(value, str):
        raise error(f"{field}: expected a hex string, got {type(value).__name__}")
    if not value or len(value) > max_digits:
        raise error(f"{field}: hex string must have 1 to {max_digits} digits")
    # The grammar 0|[1-9a-f][0-9a-f]*, checked in C rather than by a regular expression
    # (a ballot holds dozens of 1,536-digit numbers): only the 16 lowercase digits
    # (deleting them leaves nothing) and no leading zero.
    if (
        not value.isascii()
        or value.encode("ascii").translate(None, _HEX_DIGITS)
        or (value[0] == "0" and len(value) > 1)
    ):
        raise error(f"{field}: not a canonical lowercase hex integer")
    # bytes.fromhex wants whole bytes; the checks above leave it nothing else to refuse.
    return int.from_bytes(bytes.fromhex(value if len(value) % 2 == 0 else "0" + value), "big")


def check_text(value: object, *, field: str, max_len: int, error: type[CryptoError]) -> str:
    """Check that ``value`` is a string of 1 to ``max_len`` printable ASCII characters.

    Returns the string; raises ``error`` otherwise. Printable ASCII keeps
    the canonical JSON identical in every language that produces it.
    """
    if not isinstance(value, str):
        raise error(f"{field}: expected a string, got {type(value).__name__}")
    if not value or len(value) > max_len:
        raise error(f"{field}: must have 1 to {max_len} characters")
    if _PRINTABLE_RE.fullmatch(value) is None:
        raise error(f"{field}: only printable ASCII characters are allowed")
    return value


def canonical_json(document: Any) -> str:
    """Serialise ``document`` canonically: sorted keys, no spaces, ASCII only.

    Takes JSON-compatible data made of dicts, lists and strings (integers are
    expected to be hex strings already); returns the single canonical text.
    """
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def load_json(raw: str | bytes, *, max_bytes: int, error: type[CryptoError]) -> Any:
    """Decode JSON strictly after a size check.

    Takes text or UTF-8 bytes and a size cap. Returns the decoded value.
    Raises ``error`` when the input is over the cap (checked before any
    parsing), not UTF-8, not JSON, nested too deep, has a duplicate key, or
    contains any JSON number or constant (NaN, Infinity): this format never
    uses numbers, so refusing them in the parser stops 5,000-digit integers
    and floats before Python's ``int`` can raise its own ``ValueError``.
    """
    if not isinstance(raw, str | bytes):
        raise error(f"expected JSON text, got {type(raw).__name__}")
    if len(raw) > max_bytes:
        raise error(f"input is larger than {max_bytes} bytes")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if len(text.encode("utf-8")) > max_bytes:
            raise error(f"input is larger than {max_bytes} bytes")
        return json.loads(
            text,
            object_pairs_hook=_unique_keys(error),
            parse_int=_no_numbers(error),
            parse_float=_no_numbers(error),
            parse_constant=_no_numbers(error),
        )
    except CryptoError:
        raise
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors; RecursionError
        # comes from deeply nested arrays.
        raise error(f"not valid JSON: {type(exc).__name__}") from None


def _unique_keys(error: type[CryptoError]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for key, value in pairs:
            if key in document:
                raise error(f"duplicate key {key!r}")
            document[key] = value
        return document

    return hook


def _no_numbers(error: type[CryptoError]) -> Any:
    def hook(_token: str) -> NoReturn:
        raise error("JSON numbers are not allowed: integers are hex strings")

    return hook


def expect_object(
    value: object, *, keys: Iterable[str], field: str, error: type[CryptoError]
) -> dict[str, Any]:
    """Check that ``value`` is a JSON object with exactly ``keys``; return it.

    Raises ``error`` naming the missing or unexpected keys, so extra fields
    (``voter_id``, ``tally``) are refused rather than ignored.
    """
    if not isinstance(value, dict):
        raise error(f"{field}: expected an object, got {type(value).__name__}")
    wanted = set(keys)
    present = set(value)
    if present != wanted:
        missing = sorted(wanted - present)
        extra = sorted(str(key)[:40] for key in present - wanted)
        raise error(f"{field}: missing fields {missing}, unexpected fields {extra}")
    return value


def expect_list(value: object, *, length: int, field: str, error: type[CryptoError]) -> list[Any]:
    """Check that ``value`` is a JSON array of exactly ``length`` items; return it."""
    if not isinstance(value, list):
        raise error(f"{field}: expected an array, got {type(value).__name__}")
    if len(value) != length:
        raise error(f"{field}: expected {length} items, got {len(value)}")
    return value


def transcript_digest(items: Sequence[str]) -> bytes:
    """Hash a sequence of ASCII strings with SHA-256, each prefixed by its length.

    Each item is encoded as a 4-byte big-endian length followed by its ASCII
    bytes, so no two different sequences share an encoding (no ambiguity
    between ``["ab", "c"]`` and ``["a", "bc"]``). Returns the 32-byte digest.
    """
    hasher = hashlib.sha256()
    for item in items:
        data = item.encode("ascii")
        hasher.update(struct.pack(">I", len(data)))
        hasher.update(data)
    return hasher.digest()


def check_label(
    value: object,
    *,
    field: str,
    max_len: int,
    error: type[CryptoError],
    required: bool = True,
    newlines: bool = False,
) -> str:
    """Check a human-readable label (a title, a name, a description); return it.

    Labels are bound into the election fingerprint, so each must have exactly
    one spelling: Unicode in normalisation form NFC, no control characters
    (a line feed only where ``newlines``), no lone surrogates, no code point
    unassigned in this Python's Unicode database, at most
    ``max_len`` code points, and not empty when ``required``. Canonical JSON
    escapes every non-ASCII character as ``\\uXXXX``, which the browser
    reproduces byte for byte. Raises ``error`` otherwise.
    """
    if not isinstance(value, str):
        raise error(f"{field}: expected a string, got {type(value).__name__}")
    if required and not value.strip():
        raise error(f"{field}: must not be empty")
    if len(value) > max_len:
        raise error(f"{field}: at most {max_len} characters")
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs" or (category == "Cc" and not (newlines and char == "\n")):
            raise error(f"{field}: control characters and lone surrogates are not allowed")
        if category == "Cn":
            # Unicode's stability policy fixes the NFC of assigned characters for every
            # later version (the browser's included); unassigned ones have no such promise.
            raise error(f"{field}: unassigned Unicode code points are not allowed")
    if unicodedata.normalize("NFC", value) != value:
        raise error(f"{field}: must be in Unicode normalisation form NFC")
    return value
