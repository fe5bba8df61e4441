"""The trustees' files: public key, key shares, encrypted totals, partial decryptions.

Every file is canonical JSON (``encoding.canonical_json``) with a ``format``
tag; integers are canonical hex strings. Readers are strict: a size cap
before parsing, the exact set of fields, one spelling per integer with a
digit cap before conversion, every group element checked to be in
``Z*_(n^2)``, and every refusal a ``TrusteeFileError`` whose message names
the check (never a secret). ``docs/trustees.md`` specifies them byte by byte.

- ``public.json`` (``evoting/trustee-public-key/v1``): the election id and
  the ``ThresholdKey`` (n, K, N, v, v_1..v_N), with a ``fingerprint`` that
  the share files and the site refer to.
- ``trustee-<i>.json`` (``evoting/trustee-share/v1``, normally sealed under
  the trustee's passphrase as ``evoting/trustee-share-sealed/v1``): trustee
  i's share ``s_i``, bound to the election and the public fingerprint.
- ``tally.json`` (``evoting/encrypted-tally/v1``): what the site publishes
  when an election closes: the parameters, the number of ballots, the
  board's closing hash and one encrypted total per slot.
- ``partial-<i>.json`` (``evoting/partial-decryption/v1``): trustee i's
  partial decryption of every total, each with its proof, bound to slot
  ``s`` of the election by the context ``slot_context(params, s)``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gmpy2  # type: ignore[import-untyped]
from phe import paillier

from elections.crypto.encoding import (
    canonical_json,
    check_text,
    expect_list,
    expect_object,
    hex_len,
    int_to_hex,
    load_json,
    parse_hex,
)
from elections.crypto.errors import CryptoError, ParameterError
from elections.crypto.keys import MAX_KEY_BITS, check_modulus, public_key_to_json
from elections.crypto.params import (
    MAX_ID_LENGTH,
    MAX_PARAMS_BYTES,
    MAX_SLOTS,
    ElectionParams,
    params_from_dict,
    params_to_dict,
)
from elections.crypto.sealing import seal, unseal
from elections.crypto.threshold import (
    CHALLENGE_BITS,
    MAX_TRUSTEES,
    KeyShare,
    PartialDecryption,
    ThresholdKey,
    verify_partial,
)

PUBLIC_FORMAT = "evoting/trustee-public-key/v1"
SHARE_FORMAT = "evoting/trustee-share/v1"
SEALED_SHARE_FORMAT = "evoting/trustee-share-sealed/v1"
TALLY_FORMAT = "evoting/encrypted-tally/v1"
PARTIAL_FORMAT = "evoting/partial-decryption/v1"

# Every element of Z*_(n^2) at the largest key has 4,096 hex digits.
_ELEMENT_DIGITS = hex_len(1 << (2 * MAX_KEY_BITS))
MAX_PUBLIC_BYTES = (MAX_TRUSTEES + 2) * (_ELEMENT_DIGITS + 8) + 4096
MAX_SHARE_BYTES = 4 * (_ELEMENT_DIGITS + 1024)
MAX_TALLY_BYTES = MAX_PARAMS_BYTES + MAX_SLOTS * (_ELEMENT_DIGITS + 8) + 4096
MAX_PARTIAL_BYTES = MAX_SLOTS * (3 * _ELEMENT_DIGITS + 128) + 4096
MAX_BALLOT_COUNT_DIGITS = 16

_DIGEST_RE = re.compile(r"[0-9a-f]{64}")


class TrusteeFileError(CryptoError):
    """A trustee file is malformed, tampered with, of another election or key, or fails a proof."""


def _sha256_hex(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document).encode("ascii")).hexdigest()


def _check_format(document: object, expected: str, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise TrusteeFileError(f"not a {what}: expected a JSON object")
    if document.get("format") != expected:
        raise TrusteeFileError(f"not a {what} of a known format (expected {expected})")
    return document


def _check_digest(value: object, field: str) -> str:
    if not isinstance(value, str) or _DIGEST_RE.fullmatch(value) is None:
        raise TrusteeFileError(f"{field}: expected 64 lowercase hex digits")
    return value


def _check_election_id(value: object) -> str:
    return check_text(value, field="election id", max_len=MAX_ID_LENGTH, error=TrusteeFileError)


def _unit(x: object, n: int, field: str) -> int:
    """Check that ``x`` is an element of ``Z*_(n^2)``: ``0 < x < n^2``, ``gcd(x, n) = 1``."""
    if not isinstance(x, int) or isinstance(x, bool):
        raise TrusteeFileError(f"{field}: not an integer")
    if not 0 < x < n * n:
        raise TrusteeFileError(f"{field}: not an element of Z*_(n^2)")
    if gmpy2.gcd(x, n) != 1:
        raise TrusteeFileError(f"{field}: not invertible modulo n")
    return x


def _element(value: object, n: int, field: str) -> int:
    """Parse one element of ``Z*_(n^2)`` from its canonical hex spelling."""
    x = parse_hex(value, field=field, max_digits=hex_len(n * n), error=TrusteeFileError)
    return _unit(x, n, field)


# Public key ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrusteePublicKey:
    """An election's threshold key as ``public.json`` gives it, with its fingerprint."""

    election_id: str
    key: ThresholdKey
    fingerprint: str

    @property
    def paillier_public_key(self) -> paillier.PaillierPublicKey:
        """The Paillier public key voters encrypt with (g = n + 1)."""
        return paillier.PaillierPublicKey(self.key.n)

    def public_key_json(self) -> str:
        """The ``evoting/paillier-public-key/v1`` document of ``keys.public_key_to_json``."""
        return public_key_to_json(self.paillier_public_key)


def _public_body(election_id: str, key: ThresholdKey) -> dict[str, Any]:
    return {
        "format": PUBLIC_FORMAT,
        "election_id": election_id,
        "n": int_to_hex(key.n),
        "threshold": int_to_hex(key.threshold),
        "trustees": int_to_hex(key.trustees),
        "v": int_to_hex(key.v),
        "verification_keys": [int_to_hex(value) for value in key.verification_keys],
    }


def make_public_key(election_id: str, key: ThresholdKey) -> TrusteePublicKey:
    """Attach an election id and the fingerprint to a dealt key; raises ``TrusteeFileError``.

    The fingerprint is the SHA-256 hex of the canonical JSON of every other
    field of ``public.json``, so it commits to the election, n, K, N, v and
    every verification key.
    """
    _check_election_id(election_id)
    check_modulus(key.n, error=TrusteeFileError)
    return TrusteePublicKey(election_id, key, _sha256_hex(_public_body(election_id, key)))


def dump_public_key(public: TrusteePublicKey) -> bytes:
    """Return ``public.json``: canonical JSON of the key and its fingerprint."""
    body = _public_body(public.election_id, public.key)
    return canonical_json({**body, "fingerprint": public.fingerprint}).encode("ascii")


def load_public_key(data: bytes | str) -> TrusteePublicKey:
    """Read ``public.json`` strictly; return the key with its checked fingerprint.

    Checks the format and fields, an odd n of ``keys.minimum_key_bits()`` to
    8192 bits, ``1 <= K <= N <= 64``, one verification key per trustee, v
    and every v_i in ``Z*_(n^2)``, and that ``fingerprint`` is the hash of
    the rest. Raises ``TrusteeFileError`` naming the first failed check.
    Whether n is a product of two safe primes and v generates the squares
    cannot be checked without the factors: that is the dealer's word.
    """
    document = load_json(data, max_bytes=MAX_PUBLIC_BYTES, error=TrusteeFileError)
    document = _check_format(document, PUBLIC_FORMAT, "trustee public key")
    fields = ("format", "election_id", "n", "threshold", "trustees", "v", "verification_keys")
    document = expect_object(
        document, keys=(*fields, "fingerprint"), field="public key", error=TrusteeFileError
    )
    election_id = _check_election_id(document["election_id"])
    n = parse_hex(
        document["n"], field="n", max_digits=hex_len(1 << MAX_KEY_BITS), error=TrusteeFileError
    )
    check_modulus(n, error=TrusteeFileError)
    threshold, trustees = (
        parse_hex(document[name], field=name, max_digits=2, error=TrusteeFileError)
        for name in ("threshold", "trustees")
    )
    if not 1 <= threshold <= trustees <= MAX_TRUSTEES:
        raise TrusteeFileError(f"need 1 <= threshold <= trustees <= {MAX_TRUSTEES}")
    values = expect_list(
        document["verification_keys"],
        length=trustees,
        field="verification_keys (one per trustee)",
        error=TrusteeFileError,
    )
    v = _element(document["v"], n, "v")
    verification_keys = tuple(
        _element(value, n, f"verification key of trustee {index}")
        for index, value in enumerate(values, start=1)
    )
    fingerprint = _check_digest(document["fingerprint"], "fingerprint")
    if _sha256_hex({name: document[name] for name in fields}) != fingerprint:
        raise TrusteeFileError("the public key's fingerprint does not match its contents")
    try:
        key = ThresholdKey(n, threshold, trustees, v, verification_keys)
    except ParameterError as exc:
        raise TrusteeFileError(f"unusable threshold key: {exc}") from None
    return TrusteePublicKey(election_id, key, fingerprint)


# Key shares ----------------------------------------------------------------------------


def check_share(public: TrusteePublicKey, share: KeyShare) -> None:
    """Refuse (``TrusteeFileError``) a share whose ``v^(Delta s_i)`` is not its ``v_i``."""
    key = public.key
    if not 1 <= share.index <= key.trustees:
        raise TrusteeFileError(f"trustee {share.index} is not one of the key's {key.trustees}")
    expected = key.verification_keys[share.index - 1]
    if gmpy2.powmod(key.v, key.delta * share.share, key.n_square) != expected:
        raise TrusteeFileError(
            f"this share does not match trustee {share.index}'s verification key"
        )


def dump_share(public: TrusteePublicKey, share: KeyShare, *, passphrase: str | None) -> bytes:
    """Return trustee ``share.index``'s share file, sealed under ``passphrase`` unless ``None``.

    The plain document binds the share to the election id and the public
    key's fingerprint; sealing (``sealing.seal``, scrypt + AES-256-GCM) hides
    all of it, the index included. Raises ``TrusteeFileError`` if the share
    does not match its verification key, or for an empty passphrase.
    """
    check_share(public, share)
    plain = canonical_json(
        {
            "format": SHARE_FORMAT,
            "election_id": public.election_id,
            "index": int_to_hex(share.index),
            "share": int_to_hex(share.share),
            "public_fingerprint": public.fingerprint,
        }
    ).encode("ascii")
    if passphrase is None:
        return plain
    return seal(plain, passphrase, sealed_format=SEALED_SHARE_FORMAT, error=TrusteeFileError)


def share_is_sealed(data: bytes | str) -> bool:
    """Whether a share file is sealed (and needs a passphrase); raises for an unreadable file."""
    document = load_json(data, max_bytes=MAX_SHARE_BYTES, error=TrusteeFileError)
    return isinstance(document, dict) and document.get("format") == SEALED_SHARE_FORMAT


def load_share(data: bytes | str, *, public: TrusteePublicKey, passphrase: str | None) -> KeyShare:
    """Read a share file and check that it is this election's and this key's; return the share.

    Takes the file, the election's public key and the passphrase (``None``
    for a plain file). Refuses, with ``TrusteeFileError``: a sealed file
    without a passphrase or a plain one with it, a wrong passphrase or a
    modified file (indistinguishable), another election, another public key
    (fingerprint), an index outside 1..N, and a share ``s_i`` whose
    ``v^(Delta s_i)`` is not the published ``v_i``.
    """
    document = load_json(data, max_bytes=MAX_SHARE_BYTES, error=TrusteeFileError)
    if isinstance(document, dict) and document.get("format") == SEALED_SHARE_FORMAT:
        if passphrase is None:
            raise TrusteeFileError("this share is sealed: a passphrase is required")
        plain = unseal(
            document,
            passphrase,
            sealed_format=SEALED_SHARE_FORMAT,
            error=TrusteeFileError,
            what="share file",
        )
        document = load_json(plain, max_bytes=MAX_SHARE_BYTES, error=TrusteeFileError)
    elif passphrase is not None:
        raise TrusteeFileError("this share is not sealed, but a passphrase was given")
    document = _check_format(document, SHARE_FORMAT, "trustee share")
    document = expect_object(
        document,
        keys=("format", "election_id", "index", "share", "public_fingerprint"),
        field="share",
        error=TrusteeFileError,
    )
    election_id = _check_election_id(document["election_id"])
    if election_id != public.election_id:
        raise TrusteeFileError(
            f"this share belongs to election {election_id!r}, "
            f"the public key to {public.election_id!r}"
        )
    if _check_digest(document["public_fingerprint"], "public_fingerprint") != public.fingerprint:
        raise TrusteeFileError("this share was dealt with another public key (fingerprint)")
    index = parse_hex(document["index"], field="index", max_digits=2, error=TrusteeFileError)
    value = parse_hex(
        document["share"],
        field="share",
        max_digits=hex_len(public.key.n_square),
        error=TrusteeFileError,
    )
    share = KeyShare(index, value)
    check_share(public, share)
    return share


# Encrypted totals ----------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedTally:
    """The encrypted totals of a closed election: one ciphertext per slot.

    ``closing_hash`` is the board's closing hash (``board.closing_hash``) and
    ``ballot_count`` the number of ballots it closes; a trustee compares
    them with what the site announced before decrypting. ``__post_init__``
    raises ``TrusteeFileError`` for a wrong number of totals or a total
    outside ``Z*_(n^2)``.
    """

    params: ElectionParams
    ballot_count: int
    closing_hash: str
    ciphertexts: tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.params, ElectionParams):
            raise TrusteeFileError("a tally needs ElectionParams")
        count = self.ballot_count
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise TrusteeFileError("ballot_count must be a non-negative integer")
        _check_digest(self.closing_hash, "closing_hash")
        ciphertexts = tuple(self.ciphertexts)
        if len(ciphertexts) != self.params.slot_count:
            raise TrusteeFileError(
                f"expected {self.params.slot_count} encrypted totals (one per slot), "
                f"found {len(ciphertexts)}"
            )
        for slot, value in enumerate(ciphertexts):
            _unit(value, self.params.n, f"total of slot {slot}")
        object.__setattr__(self, "ciphertexts", ciphertexts)

    @property
    def election_id(self) -> str:
        return self.params.election_id


def dump_tally(tally: EncryptedTally) -> bytes:
    """Return ``tally.json``: canonical JSON of the parameters, counts, hash and totals."""
    return canonical_json(
        {
            "format": TALLY_FORMAT,
            "election_id": tally.election_id,
            "params": params_to_dict(tally.params),
            "ballot_count": int_to_hex(tally.ballot_count),
            "closing_hash": tally.closing_hash,
            "ciphertexts": [int_to_hex(value) for value in tally.ciphertexts],
        }
    ).encode("ascii")


def load_tally(data: bytes | str) -> EncryptedTally:
    """Read ``tally.json`` strictly; raises ``TrusteeFileError``.

    Checks the format and fields, the parameters (``params_from_dict``, the
    key-size policy included), that the election id is the parameters', and
    one total per slot, each in ``Z*_(n^2)``.
    """
    document = load_json(data, max_bytes=MAX_TALLY_BYTES, error=TrusteeFileError)
    document = _check_format(document, TALLY_FORMAT, "encrypted tally")
    fields = ("format", "election_id", "params", "ballot_count", "closing_hash", "ciphertexts")
    document = expect_object(document, keys=fields, field="tally", error=TrusteeFileError)
    try:
        params = params_from_dict(document["params"])
    except ParameterError as exc:
        raise TrusteeFileError(f"tally params: {exc}") from None
    if _check_election_id(document["election_id"]) != params.election_id:
        raise TrusteeFileError("the tally's election id is not its parameters'")
    ballot_count = parse_hex(
        document["ballot_count"],
        field="ballot_count",
        max_digits=MAX_BALLOT_COUNT_DIGITS,
        error=TrusteeFileError,
    )
    values = expect_list(
        document["ciphertexts"],
        length=params.slot_count,
        field="ciphertexts (one per slot)",
        error=TrusteeFileError,
    )
    ciphertexts = tuple(
        _element(value, params.n, f"total of slot {slot}") for slot, value in enumerate(values)
    )
    return EncryptedTally(params, ballot_count, document["closing_hash"], ciphertexts)


def check_tally_key(public: TrusteePublicKey, tally: EncryptedTally) -> None:
    """Refuse (``TrusteeFileError``) a tally of another election or encrypted under another key."""
    if tally.election_id != public.election_id:
        raise TrusteeFileError(
            f"the tally is of election {tally.election_id!r}, "
            f"the public key of {public.election_id!r}"
        )
    if tally.params.n != public.key.n:
        raise TrusteeFileError("the tally was encrypted under another key than public.json's")


# Partial decryptions -------------------------------------------------------------------


def slot_context(params: ElectionParams, slot: int) -> str:
    """The proof context of slot ``slot``'s total: ``fingerprint + "/slot/" + hex(slot)``.

    Binds each partial decryption's proof to this election's parameters
    (id, key, questions, labels) and to the slot, so a proof cannot be moved
    to another slot or another election. The site and the verifier use it too.
    """
    if not 0 <= slot < params.slot_count:
        raise ParameterError("no such slot")
    return f"{params.fingerprint}/slot/{int_to_hex(slot)}"


@dataclass(frozen=True)
class PartialDecryptionFile:
    """One trustee's partial decryptions of every total of a tally, with proofs."""

    election_id: str
    params_fingerprint: str
    trustee: int
    partials: tuple[PartialDecryption, ...]


def dump_partial(partial_file: PartialDecryptionFile) -> bytes:
    """Return ``partial-<i>.json``: canonical JSON of the partial decryptions and proofs."""
    return canonical_json(
        {
            "format": PARTIAL_FORMAT,
            "election_id": partial_file.election_id,
            "params_fingerprint": partial_file.params_fingerprint,
            "trustee": int_to_hex(partial_file.trustee),
            "partials": [
                {
                    "value": int_to_hex(partial.value),
                    "challenge": int_to_hex(partial.challenge),
                    "response": int_to_hex(partial.response),
                }
                for partial in partial_file.partials
            ],
        }
    ).encode("ascii")


def _slot_label(params: ElectionParams, slot: int) -> str:
    if params.version == 1:
        return f"slot {slot} (candidate {params.option_ids[slot]})"
    return f"slot {slot} ({params.slot_name(slot)})"


def _parse_partial(document: Any, key: ThresholdKey, index: int, who: str) -> PartialDecryption:
    document = expect_object(
        document, keys=("value", "challenge", "response"), field=who, error=TrusteeFileError
    )
    value = _element(document["value"], key.n, f"{who}: value")
    challenge = parse_hex(
        document["challenge"],
        field=f"{who}: challenge",
        max_digits=hex_len((1 << CHALLENGE_BITS) - 1),
        error=TrusteeFileError,
    )
    response = parse_hex(
        document["response"],
        field=f"{who}: response",
        max_digits=hex_len(1 << (key.response_bits + 1)),
        error=TrusteeFileError,
    )
    return PartialDecryption(index, value, challenge, response)


def check_partial_file(
    public: TrusteePublicKey, tally: EncryptedTally, document: object
) -> PartialDecryptionFile:
    """Read one trustee's partial decryption file and check every proof; return it.

    ``document`` is the file (bytes or text) or its decoded JSON. Checks that
    the tally is under ``public``'s key and election, the format and fields,
    the election id and parameters' fingerprint, a trustee index in 1..N,
    one partial per slot, and each slot's proof (``threshold.verify_partial``
    with ``slot_context``): four exponentiations modulo n^2 per slot. Raises
    ``TrusteeFileError`` whose message names the trustee (once known) and the
    slot: a partial of another tally of the same election fails at its
    first slot's proof, because the proof covers the ciphertext.
    """
    check_tally_key(public, tally)
    if isinstance(document, bytes | str):
        document = load_json(document, max_bytes=MAX_PARTIAL_BYTES, error=TrusteeFileError)
    document = _check_format(document, PARTIAL_FORMAT, "partial decryption")
    fields = ("format", "election_id", "params_fingerprint", "trustee", "partials")
    document = expect_object(
        document, keys=fields, field="partial decryption", error=TrusteeFileError
    )
    key, params = public.key, tally.params
    index = parse_hex(document["trustee"], field="trustee", max_digits=2, error=TrusteeFileError)
    who = f"trustee {index}"
    if not 1 <= index <= key.trustees:
        raise TrusteeFileError(f"{who} is not one of this key's {key.trustees} trustees")
    if _check_election_id(document["election_id"]) != tally.election_id:
        raise TrusteeFileError(f"{who}'s partial decryption is of another election")
    fingerprint = _check_digest(document["params_fingerprint"], f"{who}: params_fingerprint")
    if fingerprint != params.fingerprint:
        raise TrusteeFileError(
            f"{who}'s partial decryption is for other election parameters (fingerprint)"
        )
    values = expect_list(
        document["partials"],
        length=params.slot_count,
        field=f"{who}: partials (one per slot)",
        error=TrusteeFileError,
    )
    partials = []
    for slot, (item, ciphertext) in enumerate(zip(values, tally.ciphertexts, strict=True)):
        where = f"{who}, {_slot_label(params, slot)}"
        partial = _parse_partial(item, key, index, where)
        try:
            verify_partial(key, ciphertext, partial, slot_context(params, slot))
        except CryptoError as exc:
            reason = str(exc).removeprefix(f"{who}: ")
            if reason.endswith("does not hold"):
                reason += " for this tally"
            raise TrusteeFileError(f"{where}: {reason}") from None
        partials.append(partial)
    return PartialDecryptionFile(tally.election_id, params.fingerprint, index, tuple(partials))
