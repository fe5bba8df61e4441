"""Election parameters: the public statement every ballot proof is bound to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

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
from .errors import CryptoError, ParameterError
from .keys import MAX_KEY_BITS, check_modulus, check_public_key

PARAMS_FORMAT = "evoting/election-params/v1"
MAX_ID_LENGTH = 128
MAX_CANDIDATES = 256
MAX_VOTER_CONTEXT = 200


@dataclass(frozen=True)
class ElectionParams:
    """The public parameters of one election.

    ``candidates`` are identifiers in ballot order (printable ASCII, unique);
    a ballot selects between ``min_selections`` and ``max_selections`` of
    them. ``__post_init__`` raises ``ParameterError`` for an invalid
    combination or a key under the 2048-bit floor (see
    ``keys.allow_small_keys_for_tests``).
    """

    election_id: str
    public_key: paillier.PaillierPublicKey
    candidates: tuple[str, ...]
    min_selections: int = 1
    max_selections: int = 1

    def __post_init__(self) -> None:
        check_text(
            self.election_id, field="election id", max_len=MAX_ID_LENGTH, error=ParameterError
        )
        check_public_key(self.public_key)
        if not isinstance(self.candidates, tuple | list):
            raise ParameterError("candidates must be a sequence of identifiers")
        object.__setattr__(self, "candidates", tuple(self.candidates))
        if not 1 <= len(self.candidates) <= MAX_CANDIDATES:
            raise ParameterError(f"an election needs 1 to {MAX_CANDIDATES} candidates")
        for candidate in self.candidates:
            check_text(candidate, field="candidate", max_len=MAX_ID_LENGTH, error=ParameterError)
        if len(set(self.candidates)) != len(self.candidates):
            raise ParameterError("candidate identifiers must be unique")
        for bound in (self.min_selections, self.max_selections):
            if not isinstance(bound, int) or isinstance(bound, bool):
                raise ParameterError("selection bounds must be integers")
        if not 0 <= self.min_selections <= self.max_selections <= len(self.candidates):
            raise ParameterError("need 0 <= min_selections <= max_selections <= candidates")

    @cached_property
    def n(self) -> int:
        """The Paillier modulus."""
        return int(self.public_key.n)

    @cached_property
    def n_square(self) -> int:
        """n^2, the modulus of ciphertexts."""
        return self.n * self.n

    @cached_property
    def half_n(self) -> int:
        """(n - 1) / 2, the largest canonical proof response."""
        return (self.n - 1) // 2

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 hex of ``params_to_json(self)``: binds proofs and key files to this election."""
        return hashlib.sha256(params_to_json(self).encode("ascii")).hexdigest()

    @property
    def count_values(self) -> tuple[int, ...]:
        """The allowed numbers of selections, ``min_selections`` to ``max_selections``."""
        return tuple(range(self.min_selections, self.max_selections + 1))


def params_to_json(params: ElectionParams) -> str:
    """Return the canonical JSON of the parameters (the fingerprint's preimage).

    Shape: ``{"candidates": [...], "election_id": ..., "format":
    "evoting/election-params/v1", "max_selections": "<hex>",
    "min_selections": "<hex>", "n": "<hex>"}`` with sorted keys and no spaces.
    The browser worker receives exactly this document.
    """
    return canonical_json(
        {
            "format": PARAMS_FORMAT,
            "election_id": params.election_id,
            "n": int_to_hex(params.n),
            "candidates": list(params.candidates),
            "min_selections": int_to_hex(params.min_selections),
            "max_selections": int_to_hex(params.max_selections),
        }
    )


def params_from_json(text: str | bytes) -> ElectionParams:
    """Parse ``params_to_json`` output strictly; raises ``ParameterError``."""
    document: Any = load_json(text, max_bytes=64 * 1024, error=ParameterError)
    keys = ("format", "election_id", "n", "candidates", "min_selections", "max_selections")
    document = expect_object(document, keys=keys, field="params", error=ParameterError)
    if document["format"] != PARAMS_FORMAT:
        raise ParameterError("params: unknown format")
    candidates = document["candidates"]
    if not isinstance(candidates, list):
        raise ParameterError("params: candidates must be an array")
    n = parse_hex(
        document["n"], field="n", max_digits=hex_len(2**MAX_KEY_BITS), error=ParameterError
    )
    bounds = [
        parse_hex(document[key], field=key, max_digits=4, error=ParameterError)
        for key in ("min_selections", "max_selections")
    ]
    return ElectionParams(
        election_id=document["election_id"],
        public_key=paillier.PaillierPublicKey(check_modulus(n)),
        candidates=tuple(candidates),
        min_selections=bounds[0],
        max_selections=bounds[1],
    )


def check_voter_context(voter_context: object, *, error: type[CryptoError] = ParameterError) -> str:
    """Check the opaque per-voter string proofs are bound to: 1-200 printable ASCII."""
    return check_text(voter_context, field="voter context", max_len=MAX_VOTER_CONTEXT, error=error)
