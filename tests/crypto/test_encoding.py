"""Canonical JSON, strict JSON decoding, hex integers and the transcript encoding."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elections.crypto import BallotFormatError
from elections.crypto.encoding import (
    canonical_json,
    check_text,
    expect_list,
    expect_object,
    int_to_hex,
    load_json,
    parse_hex,
    transcript_digest,
)
from elections.crypto.errors import CryptoError


@given(st.integers(min_value=0, max_value=2**4096))
def test_hex_round_trip_is_unique(value: int) -> None:
    text = int_to_hex(value)
    assert parse_hex(text, field="x", max_digits=1100, error=BallotFormatError) == value
    assert text == text.lower() and (text == "0" or not text.startswith("0"))


def test_negative_integers_have_no_spelling() -> None:
    with pytest.raises(CryptoError):
        int_to_hex(-1)


@pytest.mark.parametrize(
    "value",
    [
        *("", "00", "01", "0x1", "1F", "-1", "+1", " 1", "1 ", "g", "١٢", "1_0", "1\n", "a b"),
        *(1, 1.0, True, None, [], {}),
    ],
)
def test_non_canonical_hex_is_refused(value: object) -> None:
    with pytest.raises(BallotFormatError):
        parse_hex(value, field="x", max_digits=10, error=BallotFormatError)


# Characters int(text, 16) or bytes.fromhex would take that the grammar refuses:
# capitals, a prefix, separators, whitespace of both kinds, signs, other digits.
_TRICKY = "0123456789abcdefABCDEFxX_ +-\t\n\r\x0b\x0c\u00a0\u0663\uff11g"


@settings(max_examples=400)
@given(st.text(alphabet=_TRICKY, max_size=12))
def test_hex_parsing_follows_the_grammar_exactly(text: str) -> None:
    canonical = re.fullmatch(r"0|[1-9a-f][0-9a-f]*", text) is not None
    try:
        value = parse_hex(text, field="x", max_digits=12, error=BallotFormatError)
    except BallotFormatError:
        assert not canonical
    else:
        assert canonical and value == int(text, 16)


def test_hex_length_is_checked_before_anything_else() -> None:
    with pytest.raises(BallotFormatError, match="1 to 4 digits"):
        parse_hex("f" * (1 << 20), field="x", max_digits=4, error=BallotFormatError)


def test_canonical_json_sorts_keys_and_drops_spaces() -> None:
    assert canonical_json({"b": ["1", "2"], "a": {"d": "x", "c": "y"}}) == (
        '{"a":{"c":"y","d":"x"},"b":["1","2"]}'
    )
    assert canonical_json({"q": 'say "hi"\\'}) == '{"q":"say \\"hi\\"\\\\"}'


@pytest.mark.parametrize(
    "text",
    [
        "1",
        "1.5",
        "[1e400]",
        "NaN",
        "[Infinity]",
        '{"a": -Infinity}',
        '{"a": "1", "a": "2"}',
        '{"a": ',
        "[" * 50_000,
        "\ud800",
    ],
)
def test_strict_json_refusals(text: str) -> None:
    with pytest.raises(BallotFormatError):
        load_json(text, max_bytes=1_000_000, error=BallotFormatError)


def test_json_size_cap_counts_utf8_bytes() -> None:
    assert load_json('"abc"', max_bytes=5, error=BallotFormatError) == "abc"
    with pytest.raises(BallotFormatError):
        load_json('"\u00e9\u00e9"', max_bytes=5, error=BallotFormatError)
    with pytest.raises(BallotFormatError):
        load_json(b"\xc3", max_bytes=5, error=BallotFormatError)
    with pytest.raises(BallotFormatError):
        load_json(12, max_bytes=5, error=BallotFormatError)  # type: ignore[arg-type]


def test_objects_and_lists_are_exact() -> None:
    assert expect_object({"a": 1}, keys=["a"], field="f", error=BallotFormatError) == {"a": 1}
    with pytest.raises(BallotFormatError, match="unexpected"):
        expect_object({"a": 1, "b": 2}, keys=["a"], field="f", error=BallotFormatError)
    with pytest.raises(BallotFormatError, match="missing"):
        expect_object({}, keys=["a"], field="f", error=BallotFormatError)
    with pytest.raises(BallotFormatError):
        expect_object([], keys=["a"], field="f", error=BallotFormatError)
    with pytest.raises(BallotFormatError):
        expect_list(["1"], length=2, field="f", error=BallotFormatError)
    with pytest.raises(BallotFormatError):
        expect_list("12", length=2, field="f", error=BallotFormatError)


@pytest.mark.parametrize("value", ["", "tab\there", "\u00e9", "x" * 11, 5, None])
def test_text_fields_are_printable_ascii(value: object) -> None:
    with pytest.raises(BallotFormatError):
        check_text(value, field="t", max_len=10, error=BallotFormatError)


@given(
    st.lists(st.text(alphabet="ab", max_size=4), max_size=4),
    st.lists(st.text(alphabet="ab", max_size=4), max_size=4),
)
def test_transcript_encoding_is_unambiguous(left: list[str], right: list[str]) -> None:
    if left != right:
        assert transcript_digest(left) != transcript_digest(right)
