"""Fixtures for the ballot cryptography: fixed small keys and parameters.

Keys are derived from fixed seeds (tests.crypto.make_vectors) so the suite
spends no time on key generation and every run sees the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from phe import paillier

from elections.crypto import ElectionParams, allow_small_keys_for_tests

from .make_vectors import deterministic_keypair

VECTOR_DIR = Path(__file__).parent / "vectors"

settings.register_profile(
    "crypto",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("crypto")

KeyPair = tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey]


@pytest.fixture(autouse=True, scope="session")
def _small_keys_allowed() -> Iterator[None]:
    with allow_small_keys_for_tests():
        yield


@pytest.fixture(scope="session")
def keypair(_small_keys_allowed: None) -> KeyPair:
    """A 512-bit key pair: fast enough for property tests."""
    return deterministic_keypair(512, b"tests/512")


@pytest.fixture(scope="session")
def other_keypair(_small_keys_allowed: None) -> KeyPair:
    """A second, unrelated 512-bit key pair."""
    return deterministic_keypair(512, b"tests/512/other")


@pytest.fixture(scope="session")
def params(keypair: KeyPair) -> ElectionParams:
    """A 1-of-3 election under ``keypair``."""
    return ElectionParams("election-1", keypair[0], ("ann", "ben", "cleo"))


@pytest.fixture(scope="session")
def range_params(keypair: KeyPair) -> ElectionParams:
    """A 1-to-3-of-4 election under ``keypair``: several count branches."""
    return ElectionParams("election-2", keypair[0], ("a", "b", "c", "d"), 1, 3)


def load_vectors() -> list[tuple[str, dict[str, Any]]]:
    """Return (file name, document) for every committed vector file."""
    return [(path.name, json.loads(path.read_text())) for path in sorted(VECTOR_DIR.glob("*.json"))]
