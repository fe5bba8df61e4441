"""Fixtures for the ballot cryptography: fixed small keys and parameters.

Keys are derived from fixed seeds (tests.crypto.make_vectors and
tests.crypto.structured_keys) so the suite spends no time on random key
generation and every run sees the same numbers. ``params`` and
``range_params`` are format v1 elections (one list of candidates), as old
records have; ``v2_params`` is an election of today's format with two
questions and a blank vote; ``any_params`` runs a test once with each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from phe import paillier

from elections.crypto import (
    ElectionParams,
    OptionParams,
    QuestionParams,
    allow_small_keys_for_tests,
    single_question_params,
)

from .make_vectors import deterministic_keypair
from .structured_keys import order_three_keypair, safe_prime_keypair

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
def safe_keypair(_small_keys_allowed: None) -> KeyPair:
    """A 512-bit key pair made of two safe primes (p = 2p' + 1): no element of small odd order."""
    return safe_prime_keypair(256, b"tests/safe-512")


@pytest.fixture(scope="session")
def order_three_key(_small_keys_allowed: None) -> KeyPair:
    """A 512-bit key pair whose p - 1 has the factor 3: what a key must not be."""
    return order_three_keypair(256, b"tests/order-3-512")


@pytest.fixture(scope="session")
def params(keypair: KeyPair) -> ElectionParams:
    """A format v1 1-of-3 election under ``keypair``."""
    return single_question_params("election-1", keypair[0], ("ann", "ben", "cleo"))


@pytest.fixture(scope="session")
def range_params(keypair: KeyPair) -> ElectionParams:
    """A format v1 1-to-3-of-4 election under ``keypair``: several count branches."""
    return single_question_params("election-2", keypair[0], ("a", "b", "c", "d"), 1, 3)


def board_election(election_id: str, public_key: paillier.PaillierPublicKey) -> ElectionParams:
    """A v2 election: 1 or 2 of 4 candidates, then yes or no with a blank vote (7 slots)."""
    return ElectionParams(
        election_id=election_id,
        public_key=public_key,
        questions=(
            QuestionParams(
                options=(
                    OptionParams("o-ann", "Ann Ávila", "Civic List"),
                    OptionParams("o-ben", "Ben Brandt", ""),
                    OptionParams("o-cleo", "Cléo Chen", "Independent"),
                    OptionParams("o-dan", "Dan Dahl", ""),
                ),
                min_selections=1,
                max_selections=2,
                title="Board members",
                description="Choose one or two.\nThe term is two years.",
            ),
            QuestionParams(
                options=(OptionParams("o-yes", "Yes"), OptionParams("o-no", "No")),
                blank=True,
                title="Adopt the motion?",
            ),
        ),
        title="General assembly 2027",
    )


@pytest.fixture(scope="session")
def v2_params(keypair: KeyPair) -> ElectionParams:
    """A format v2 election under ``keypair``, see ``board_election``."""
    return board_election("election-v2", keypair[0])


def sample_choice(params: ElectionParams) -> list[int]:
    """A valid choice in ``params``, ``v2_params`` or ``any_params``.

    v1: Ben. v2: Ann and Dan, then a blank vote.
    """
    return [0, 1, 0] if params.version == 1 else [1, 0, 0, 1, 0, 0, 1]


@pytest.fixture(scope="session", params=["v1", "v2"])
def any_params(
    request: pytest.FixtureRequest, params: ElectionParams, v2_params: ElectionParams
) -> ElectionParams:
    """Each format in turn: the v1 1-of-3 election, then the v2 two-question election."""
    return params if request.param == "v1" else v2_params


def load_vectors() -> list[tuple[str, dict[str, Any]]]:
    """Return (file name, document) for every committed vector file."""
    return [(path.name, json.loads(path.read_text())) for path in sorted(VECTOR_DIR.glob("*.json"))]
