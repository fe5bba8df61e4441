"""Trustee fixtures: the golden 3-of-5 key (512 bits, seeded), its tally and partials.

``world`` is what the five trustees and the site hold after the golden
ceremony and election (``golden.regenerate``); ``stranger`` is another
3-of-5 key for the same election id, as a substituted ceremony would give.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from elections.crypto.keys import allow_small_keys_for_tests
from elections.crypto.threshold import KeyShare
from elections.trustee.decryption import partially_decrypt_tally
from elections.trustee.files import EncryptedTally, PartialDecryptionFile, TrusteePublicKey

from .golden.regenerate import CHOICES, SEED, dealt, make_tally, seeded


@dataclass(frozen=True)
class World:
    public: TrusteePublicKey
    shares: list[KeyShare]
    tally: EncryptedTally
    partials: dict[int, PartialDecryptionFile]  # every trustee's, by index


@pytest.fixture(autouse=True, scope="session")
def _small_keys_allowed() -> Iterator[None]:
    with allow_small_keys_for_tests():
        yield


@pytest.fixture(scope="session")
def world(_small_keys_allowed: None) -> World:
    public, shares = dealt()
    tally = make_tally(public)
    partials = {
        share.index: partially_decrypt_tally(
            public, share, tally, randbits=seeded(SEED + share.index)
        )
        for share in shares
    }
    return World(public, shares, tally, partials)


@pytest.fixture(scope="session")
def stranger(_small_keys_allowed: None) -> tuple[TrusteePublicKey, list[KeyShare]]:
    """Another key for the same election id."""
    return dealt(seed=SEED + 1000)


@pytest.fixture(scope="session")
def other_tally(world: World) -> EncryptedTally:
    """Totals of the same election under the same key, from other ballots."""
    return make_tally(world.public, CHOICES[:4], seed=SEED + 7)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path
