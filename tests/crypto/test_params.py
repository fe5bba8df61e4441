"""Election parameters: validation, canonical JSON and fingerprint."""

from __future__ import annotations

import dataclasses
import json

import pytest

from elections.crypto import ElectionParams, ParameterError, params_from_json, params_to_json

from .conftest import KeyPair


def test_defaults_and_derived_values(keypair: KeyPair) -> None:
    params = ElectionParams("e", keypair[0], ["a", "b"])  # type: ignore[arg-type]
    assert params.candidates == ("a", "b")
    assert (params.min_selections, params.max_selections, params.count_values) == (1, 1, (1,))
    assert params.n_square == params.n**2 and params.half_n == (params.n - 1) // 2
    assert len(params.fingerprint) == 64


@pytest.mark.parametrize(
    "changes",
    [
        {"election_id": ""},
        {"election_id": "x" * 129},
        {"election_id": "caf\u00e9"},
        {"election_id": 7},
        {"candidates": ()},
        {"candidates": ("a", "a")},
        {"candidates": ("a", "")},
        {"candidates": "ab"},
        {"candidates": tuple(str(i) for i in range(257))},
        {"min_selections": 2, "max_selections": 1},
        {"min_selections": -1},
        {"max_selections": 4},
        {"max_selections": True},
        {"max_selections": 1.0},
        {"public_key": "n"},
    ],
)
def test_invalid_parameters(keypair: KeyPair, changes: dict[str, object]) -> None:
    fields = {"election_id": "e", "public_key": keypair[0], "candidates": ("a", "b", "c")}
    with pytest.raises(ParameterError):
        ElectionParams(**{**fields, **changes})


def test_fingerprint_changes_with_every_field(
    params: ElectionParams, other_keypair: KeyPair
) -> None:
    variants = [
        dataclasses.replace(params, election_id="election-x"),
        dataclasses.replace(params, public_key=other_keypair[0]),
        dataclasses.replace(params, candidates=("ann", "cleo", "ben")),
        dataclasses.replace(params, candidates=("ann", "ben")),
        dataclasses.replace(params, min_selections=0),
        dataclasses.replace(params, max_selections=2),
    ]
    prints = {params.fingerprint, *(variant.fingerprint for variant in variants)}
    assert len(prints) == len(variants) + 1


def test_params_json_round_trip(params: ElectionParams) -> None:
    text = params_to_json(params)
    assert json.loads(text)["format"] == "evoting/election-params/v1"
    assert params_from_json(text) == params
    assert params_from_json(text).fingerprint == params.fingerprint


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(format="v0"),
        lambda d: d.update(candidates="ann"),
        lambda d: d.update(min_selections=1),
        lambda d: d.update(n="0" + d["n"]),
        lambda d: d.update(n="10"),
        lambda d: d.pop("max_selections"),
        lambda d: d.update(extra="1"),
    ],
)
def test_params_json_is_strict(params: ElectionParams, edit: object) -> None:
    document = json.loads(params_to_json(params))
    edit(document)  # type: ignore[operator]
    with pytest.raises(ParameterError):
        params_from_json(json.dumps(document))
