"""The browser verifier's fixture is what the reference verifier says today.

``tests/js/record-verify.test.mjs`` holds the browser verifier to
``browser-expectations.json``; this holds that file to the reference verifier,
so the two verifiers are pinned to each other by the golden records.
"""

import json
from collections.abc import Iterator

import pytest

from elections.crypto import keys
from elections.crypto.keys import minimum_key_bits
from tests.verify.golden.browser_expectations import (
    CASES,
    EXPECTATIONS_PATH,
    build_expectations,
    dumps,
)

REGENERATE = "regenerate: .venv/bin/python -m tests.verify.golden.browser_expectations"


@pytest.fixture(autouse=True)
def _small_keys(monkeypatch) -> Iterator[None]:
    # Replaces the package's fixture: some cases need the command line's 2048-bit floor,
    # and the expectations allow small keys themselves wherever the other cases need them.
    # Another package's session-wide allowance may still be active: set it aside here.
    monkeypatch.setattr(keys, "_small_keys_depth", 0)
    assert minimum_key_bits() == 2048
    yield


def test_the_browser_expectations_are_up_to_date():
    built = build_expectations()
    stored = json.loads(EXPECTATIONS_PATH.read_text(encoding="ascii"))
    stale = [
        case["name"]
        for case, kept in zip(built["cases"], stored["cases"], strict=False)
        if case != kept
    ]
    assert stale == [], REGENERATE
    assert dumps(built) == EXPECTATIONS_PATH.read_text(encoding="ascii"), REGENERATE


def test_every_case_has_a_distinct_name_and_the_key_floor_is_exercised():
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names)
    assert {case.small_keys for case in CASES} == {True, False}
