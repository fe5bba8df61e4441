"""Election parameters of both formats: validation, canonical JSON and fingerprint."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from elections.crypto import (
    ElectionParams,
    OptionParams,
    ParameterError,
    QuestionParams,
    check_ballot_structure,
    params_from_dict,
    params_from_json,
    params_to_json,
    single_question_params,
)

from .conftest import KeyPair

# --- format v1 ----------------------------------------------------------------


def test_v1_defaults_and_derived_values(keypair: KeyPair) -> None:
    params = single_question_params("e", keypair[0], ["a", "b"])
    assert params.version == 1 and params.option_ids == ("a", "b")
    (question,) = params.questions
    assert (question.min_selections, question.max_selections, question.count_values) == (1, 1, (1,))
    assert (params.slot_count, params.offsets, question.blank) == (2, (0,), False)
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
def test_invalid_v1_parameters(keypair: KeyPair, changes: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "election_id": "e",
        "public_key": keypair[0],
        "candidates": ("a", "b", "c"),
    }
    with pytest.raises(ParameterError):
        single_question_params(**{**fields, **changes})


def test_v1_has_no_labels_and_no_blank(keypair: KeyPair) -> None:
    params = single_question_params("e", keypair[0], ("a", "b"))
    question = params.questions[0]
    for changes in (
        {"title": "Election"},
        {"questions": (dataclasses.replace(question, blank=True),)},
        {"questions": (dataclasses.replace(question, title="Chair"),)},
        {"questions": (question, question)},
        {"questions": (dataclasses.replace(question, options=(OptionParams("a", "Ann"),)),)},
        {"version": 3},
    ):
        with pytest.raises(ParameterError):
            dataclasses.replace(params, **changes)


def test_v1_fingerprint_changes_with_every_field(
    params: ElectionParams, other_keypair: KeyPair
) -> None:
    def v1(**changes: Any) -> ElectionParams:
        fields: dict[str, Any] = {
            "election_id": params.election_id,
            "public_key": params.public_key,
            "candidates": params.option_ids,
        }
        return single_question_params(**{**fields, **changes})

    variants = [
        v1(election_id="election-x"),
        v1(public_key=other_keypair[0]),
        v1(candidates=("ann", "cleo", "ben")),
        v1(candidates=("ann", "ben")),
        v1(min_selections=0),
        v1(max_selections=2),
    ]
    prints = {params.fingerprint, *(variant.fingerprint for variant in variants)}
    assert len(prints) == len(variants) + 1
    assert v1().fingerprint == params.fingerprint


def test_v1_params_json_round_trip(params: ElectionParams) -> None:
    text = params_to_json(params)
    assert json.loads(text)["format"] == "evoting/election-params/v1"
    assert params_from_json(text) == params
    assert params_from_json(text).fingerprint == params.fingerprint
    assert params_from_json(text).version == 1


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(format="v0"),
        lambda d: d.update(format="evoting/election-params/v2"),
        lambda d: d.update(candidates="ann"),
        lambda d: d.update(min_selections=1),
        lambda d: d.update(n="0" + d["n"]),
        lambda d: d.update(n="10"),
        lambda d: d.pop("max_selections"),
        lambda d: d.update(extra="1"),
        lambda d: d.update(title="Election"),
    ],
)
def test_v1_params_json_is_strict(params: ElectionParams, edit: Callable[[Any], None]) -> None:
    document = json.loads(params_to_json(params))
    edit(document)
    with pytest.raises(ParameterError):
        params_from_json(json.dumps(document))


# --- format v2 ----------------------------------------------------------------


def test_v2_derived_values(v2_params: ElectionParams) -> None:
    assert v2_params.version == 2
    assert v2_params.option_ids == ("o-ann", "o-ben", "o-cleo", "o-dan", "o-yes", "o-no")
    assert (v2_params.slot_count, v2_params.offsets) == (7, (0, 4))
    chair, motion = v2_params.questions
    assert (chair.width, chair.count_values) == (4, (1, 2))
    assert (motion.width, motion.blank_weight, motion.count_values) == (3, 3, (1, 3))
    names = [v2_params.slot_name(slot) for slot in range(7)]
    assert names[0] == "question 1, option 1" and names[3] == "question 1, option 4"
    assert names[4:] == ["question 2, option 1", "question 2, option 2", "question 2, blank"]
    with pytest.raises(ParameterError):
        v2_params.slot_name(7)


def test_v2_count_values_cover_every_answer(keypair: KeyPair) -> None:
    options = tuple(OptionParams(f"o{i}", f"Option {i}") for i in range(4))
    question = QuestionParams(options, 0, 3, blank=True, title="Q")
    assert question.count_values == (0, 1, 2, 3, 5)
    assert QuestionParams(options, 2, 2, title="Q").count_values == (2,)


def _options(count: int, prefix: str = "o") -> tuple[OptionParams, ...]:
    return tuple(OptionParams(f"{prefix}{i}", f"Option {i}") for i in range(count))


GOOD = QuestionParams(_options(2), title="Question")


@pytest.mark.parametrize(
    "changes",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": "tab\there"},
        {"title": "line\nfeed"},
        {"title": "e\u0301"},  # not NFC
        {"title": "\ud800"},
        {"title": None},
        {"questions": ()},
        {"questions": (GOOD,) * 21},
        {"questions": [GOOD, "question"]},
        {"questions": "questions"},
        {"questions": (dataclasses.replace(GOOD, title=""),)},
        {"questions": (dataclasses.replace(GOOD, title="x" * 201),)},
        {"questions": (dataclasses.replace(GOOD, description="x" * 2001),)},
        {"questions": (dataclasses.replace(GOOD, description="bell\x07"),)},
        {"questions": (dataclasses.replace(GOOD, options=()),)},
        {"questions": (dataclasses.replace(GOOD, options=_options(65)),)},
        {"questions": (dataclasses.replace(GOOD, options=("o1", "o2")),)},  # type: ignore[arg-type]
        {"questions": (dataclasses.replace(GOOD, min_selections=2, max_selections=1),)},
        {"questions": (dataclasses.replace(GOOD, max_selections=3),)},
        {"questions": (dataclasses.replace(GOOD, min_selections=0, max_selections=0),)},
        {"questions": (dataclasses.replace(GOOD, min_selections=-1),)},
        {"questions": (dataclasses.replace(GOOD, max_selections=True),)},
        {"questions": (dataclasses.replace(GOOD, blank=1),)},  # type: ignore[arg-type]
        {"questions": (dataclasses.replace(GOOD, options=(OptionParams("a", "A"),) * 2),)},
        {"questions": (GOOD, GOOD)},  # option ids repeat across questions
        {"questions": (dataclasses.replace(GOOD, options=(OptionParams("a", ""),)),)},
        {"questions": (dataclasses.replace(GOOD, options=(OptionParams("a", " "),)),)},
        {"questions": (dataclasses.replace(GOOD, options=(OptionParams("a", "x" * 121),)),)},
        {"questions": (dataclasses.replace(GOOD, options=(OptionParams("a", "A", "\n"),)),)},
        {"questions": (dataclasses.replace(GOOD, options=(OptionParams("\u00e9", "A"),)),)},
        {"questions": (dataclasses.replace(GOOD, options=(OptionParams("", "A"),)),)},
        {
            "questions": tuple(
                QuestionParams(_options(64, f"q{q}-"), blank=q == 3, title="Q") for q in range(4)
            )
        },  # 256 options and a blank: 257 slots
    ],
)
def test_invalid_v2_parameters(keypair: KeyPair, changes: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "election_id": "e",
        "public_key": keypair[0],
        "questions": (GOOD,),
        "title": "Election",
    }
    with pytest.raises(ParameterError):
        ElectionParams(**{**fields, **changes})


def test_v2_limits_are_reachable(keypair: KeyPair) -> None:
    full = tuple(QuestionParams(_options(64, f"q{q}-"), title=f"Q{q}") for q in range(4))
    assert ElectionParams("e", keypair[0], full, "Election").slot_count == 256
    many = tuple(QuestionParams(_options(1, f"q{q}-"), title=f"Q{q}") for q in range(20))
    assert ElectionParams("e", keypair[0], many, "Election").slot_count == 20
    labels = QuestionParams(
        (OptionParams("a", "x" * 120, "y" * 120),),
        title="t" * 200,
        description="d\n" * 1000,
    )
    ElectionParams("e", keypair[0], (labels,), "T" * 200)


def _renamed(params: ElectionParams, question: int, option: int, **changes: str) -> ElectionParams:
    questions = list(params.questions)
    options = list(questions[question].options)
    options[option] = dataclasses.replace(options[option], **changes)
    questions[question] = dataclasses.replace(questions[question], options=tuple(options))
    return dataclasses.replace(params, questions=tuple(questions))


def _with_question(params: ElectionParams, question: int, **changes: Any) -> ElectionParams:
    questions = list(params.questions)
    questions[question] = dataclasses.replace(questions[question], **changes)
    return dataclasses.replace(params, questions=tuple(questions))


def _names_swapped(params: ElectionParams) -> ElectionParams:
    chair = params.questions[0]
    first, second = chair.options[:2]
    options = (
        dataclasses.replace(first, name=second.name),
        dataclasses.replace(second, name=first.name),
        *chair.options[2:],
    )
    return _with_question(params, 0, options=options)


def test_v2_fingerprint_binds_every_label_and_rule(
    v2_params: ElectionParams, other_keypair: KeyPair
) -> None:
    chair, motion = v2_params.questions
    variants = [
        dataclasses.replace(v2_params, election_id="election-x"),
        dataclasses.replace(v2_params, public_key=other_keypair[0]),
        dataclasses.replace(v2_params, title="General assembly 2028"),
        dataclasses.replace(v2_params, questions=(motion, chair)),
        dataclasses.replace(v2_params, questions=(chair,)),
        _with_question(v2_params, 0, title="Board"),
        _with_question(v2_params, 0, description=""),
        _with_question(v2_params, 0, min_selections=0),
        _with_question(v2_params, 0, max_selections=3),
        _with_question(v2_params, 0, blank=True),
        _with_question(v2_params, 1, blank=False),
        _with_question(v2_params, 0, options=chair.options[::-1]),
        _renamed(v2_params, 0, 0, id="o-anna"),
        _renamed(v2_params, 0, 0, name="Ann Avila"),  # only the accent differs
        _renamed(v2_params, 0, 1, affiliation="Civic List"),
        _names_swapped(v2_params),
        _renamed(v2_params, 1, 0, name="Yes, adopt"),
    ]
    prints = {v2_params.fingerprint, *(variant.fingerprint for variant in variants)}
    assert len(prints) == len(variants) + 1


def test_v2_params_json_is_canonical_and_round_trips(v2_params: ElectionParams) -> None:
    text = params_to_json(v2_params)
    assert text.isascii()
    document = json.loads(text)
    assert document["format"] == "evoting/election-params/v2"
    assert list(document) == sorted(document)
    assert document["questions"][1]["blank"] == "1"
    assert [o["position"] for o in document["questions"][0]["options"]] == ["1", "2", "3", "4"]
    assert "\\u00c1vila" in text and "\\n" in text  # Á escaped, line feed as \n
    assert params_from_json(text) == v2_params
    assert params_from_json(text.encode()) == v2_params
    assert params_from_dict(document).fingerprint == v2_params.fingerprint
    assert json.dumps(document, sort_keys=True, separators=(",", ":")) == text


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(format="evoting/election-params/v1"),
        lambda d: d.update(title=1),
        lambda d: d.pop("title"),
        lambda d: d.update(candidates=["a"]),
        lambda d: d.update(questions=[]),
        lambda d: d.update(questions={}),
        lambda d: d["questions"][0].update(blank="2"),
        lambda d: d["questions"][0].update(blank="true"),
        lambda d: d["questions"][0].update(blank=False),
        lambda d: d["questions"][0].update(min_selections="01"),
        lambda d: d["questions"][0].update(max_selections="5"),
        lambda d: d["questions"][0].pop("description"),
        lambda d: d["questions"][0].update(extra="1"),
        lambda d: d["questions"][0].update(options=[]),
        lambda d: d["questions"][0]["options"][0].update(position="2"),
        lambda d: d["questions"][0]["options"][1].update(position="1"),
        lambda d: d["questions"][0]["options"][0].update(position="01"),
        lambda d: d["questions"][0]["options"][0].pop("affiliation"),
        lambda d: d["questions"][0]["options"][0].update(party="x"),
        lambda d: d["questions"][0]["options"].reverse(),
        lambda d: d["questions"][0]["options"][0].update(name="Ann A\u0301vila"),
        lambda d: d["questions"][0]["options"][0].update(id=d["questions"][1]["options"][0]["id"]),
        lambda d: d["questions"].__setitem__(0, "question"),
        lambda d: d.update(n="0" + d["n"]),
    ],
)
def test_v2_params_json_is_strict(v2_params: ElectionParams, edit: Callable[[Any], None]) -> None:
    document = json.loads(params_to_json(v2_params))
    edit(document)
    with pytest.raises(ParameterError):
        params_from_json(json.dumps(document))


@pytest.mark.parametrize(
    "raw",
    [b"", b"[]", b'{"format": "evoting/election-params/v2"}', b'{"n": 5}', b"\xff", 5],
)
def test_garbage_parameters_are_refused(raw: Any) -> None:
    with pytest.raises(ParameterError):
        params_from_json(raw)


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("Zoe\u0308", "normalisation form NFC"),
        ("Ada\u0007", "control characters"),
        ("Ada\n", "control characters"),
        ("A\ud800", "lone surrogates"),
        ("Ada \u0378", "unassigned Unicode code points"),
        ("   ", "must not be empty"),
    ],
)
def test_an_option_name_has_one_spelling(keypair: KeyPair, label: str, reason: str) -> None:
    question = QuestionParams(options=(OptionParams("a", label),), title="Chair")
    with pytest.raises(ParameterError, match=reason):
        ElectionParams("e", keypair[0], (question,), title="Election")
    with pytest.raises(ParameterError, match=reason):
        check_ballot_structure("Election", [question])
