"""Verifier test fixtures: small keys allowed, workers stopped, the golden records."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from elections import crypto
from elections.crypto.keys import allow_small_keys_for_tests
from tests.verify.golden.regenerate import GOLDEN_PATH, GOLDEN_V2_PATH


@pytest.fixture(autouse=True)
def _small_keys() -> Iterator[None]:
    with allow_small_keys_for_tests():
        yield


@pytest.fixture(scope="module", autouse=True)
def _stop_workers() -> Iterator[None]:
    yield
    crypto.shutdown_workers()


@pytest.fixture
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN_PATH.read_text(encoding="ascii"))


@pytest.fixture
def golden_v2() -> dict[str, Any]:
    return json.loads(GOLDEN_V2_PATH.read_text(encoding="ascii"))
