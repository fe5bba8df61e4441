"""Reading a record as a stream of JSON events, strictly, and its scalar fields.

The record is read with ijson, one section (or one ballot entry) at a time,
so memory does not grow with the number of ballots. ``StrictReader`` refuses
what ijson would let through or crash on (invalid UTF-8, raw control bytes,
lone surrogate escapes) before the parser sees it; ``section`` and
``array_items`` assemble values without recursion and refuse nesting beyond
``MAX_DEPTH``. Every refusal is a ``MalformedRecord``: the record cannot be
read and the run stops (exit status 2). The field readers at the end spell
out section 1 of ``docs/election-record.md`` (hex counts, hashes, times,
free text).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import ijson

from elections import crypto

# Counts are below 2^64; hex spellings longer than that are refused unread.
MAX_COUNT_DIGITS = 16
MAX_TEXT = 5000
MAX_DEPTH = 32

HASH_RE = re.compile(r"[0-9a-f]{64}")
# ASCII only: Python's \d also matches other scripts' digits, which the hashes cannot encode.
_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_COUNT_RE = re.compile(r"0|[1-9a-f][0-9a-f]*")


class ByteSource(Protocol):
    """Anything with ``read(size)`` returning bytes: an open file, a ``ChunkReader``."""

    def read(self, size: int = -1, /) -> bytes: ...


class MalformedRecord(Exception):
    """The file is not an election record that can be read: the run stops (exit 2)."""


class ChunkReader:
    """A binary file-like view of an iterator of text chunks (a streamed record)."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk.encode("utf-8")
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


# --- Bytes -------------------------------------------------------------------------

# Control bytes other than tab, newline and carriage return are valid nowhere in
# JSON: outside strings they are not whitespace, inside strings they must be escaped.
_CONTROL_BYTES = bytes(set(range(0x20)) - {0x09, 0x0A, 0x0D})
# A surrogate escape, or the same letters after an escaped backslash (told apart below).
_SURROGATE_RE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LOW_SURROGATE_RE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SAFE_CUT_RE = re.compile(rb"[^\\0-9a-fA-Fu][\\0-9a-fA-Fu]*\Z")
_PAIR_LENGTH = 12
_CUT_WINDOW = 4096


class StrictReader:
    """A byte source that refuses what ijson would let through or crash on.

    It passes the bytes on unchanged after checking, chunk by chunk and at C
    speed: strict UTF-8 (no overlong forms, no encoded surrogates), no raw
    control bytes (so no form feed or vertical tab as whitespace either) and
    no lone surrogate escape, which ijson would read as ``?`` or crash on.
    Raises ``MalformedRecord``.
    """

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self.pending = b""

    def read(self, size: int = -1, /) -> bytes:
        chunk = self.source.read(size)
        final = not chunk
        try:
            self.decoder.decode(chunk, final=final)
        except UnicodeDecodeError as error:
            raise MalformedRecord(f"not valid UTF-8: {error.reason}") from None
        # Deleting them is several times faster than a regular expression's search.
        if len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk):
            control = bytes([next(byte for byte in chunk if byte in _CONTROL_BYTES)])
            raise MalformedRecord(f"not valid JSON: control byte {control!r}")
        self._check_surrogates(chunk, final)
        return chunk

    def _check_surrogates(self, chunk: bytes, final: bool) -> None:
        text = self.pending + chunk
        end = len(text)
        if not final:
            limit = max(end - _PAIR_LENGTH, 0)
            cut = _SAFE_CUT_RE.search(text, max(limit - _CUT_WINDOW, 0), limit)
            if cut is None and limit > _CUT_WINDOW:
                cut = _SAFE_CUT_RE.search(text, 0, limit)
            end = 0 if cut is None else cut.start() + 1
        if b"\\u" in text:
            _refuse_lone_surrogates(text, end)
        self.pending = text[end:]


def _refuse_lone_surrogates(text: bytes, end: int) -> None:
    # Loops only over surrogate escapes, which only characters beyond U+FFFF need.
    paired_low = -1
    for match in _SURROGATE_RE.finditer(text, 0, end):
        start = match.start()
        if start == paired_low or _escaped_backslashes_before(text, start) % 2:
            continue
        if match[0][3] in b"89abAB" and _LOW_SURROGATE_RE.match(text, match.end(), end):
            paired_low = match.end()
            continue
        raise MalformedRecord(f"not valid JSON: lone surrogate escape {match[0].decode()}")


def _escaped_backslashes_before(text: bytes, index: int) -> int:
    window = text[max(index - 64, 0) : index]
    if index > 64 and not window.strip(b"\\"):
        window = text[:index]
    return len(window) - len(window.rstrip(b"\\"))


# --- JSON events and values ------------------------------------------------------------

Event = tuple[str, Any]
_SCALAR_EVENTS = ("string", "number", "boolean", "null")


def events(source: ByteSource) -> Iterator[Event]:
    """The ijson events of ``source``, read through ``StrictReader``."""
    # use_float: ijson's C backend crashes the interpreter on integers longer
    # than Python's 4,300-digit limit unless numbers go through C doubles,
    # which turns them into a clean parse error. The format has no numbers.
    try:
        yield from ijson.basic_parse(StrictReader(source), use_float=True)
    except ijson.JSONError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise MalformedRecord(f"not valid JSON: {reason}") from None
    except UnicodeError as error:
        raise MalformedRecord(f"not valid JSON: {type(error).__name__}") from None
    except OSError as error:
        raise MalformedRecord(f"cannot read the file: {error}") from None


def next_event(stream: Iterator[Event]) -> Event:
    try:
        return next(stream)
    except StopIteration:
        raise MalformedRecord("the file ends too early (truncated)") from None


def expect_key(stream: Iterator[Event], key: str) -> None:
    """Consume the next top-level key, which must be ``key``."""
    event, value = next_event(stream)
    if event != "map_key" or value != key:
        found = value if event == "map_key" else event
        raise MalformedRecord(f"expected the key {key!r} here, found {str(found)[:40]!r}")


class _Duplicates:
    """Records the first duplicate key met while building one value."""

    def __init__(self) -> None:
        self.key: str | None = None


def _build(stream: Iterator[Event], first: Event, duplicates: _Duplicates) -> Any:
    """Assemble one JSON value from the event stream, without recursion."""
    event, value = first
    if event in _SCALAR_EVENTS:
        return value
    if event not in ("start_map", "start_array"):
        raise MalformedRecord(f"unexpected {event}")
    root: Any = {} if event == "start_map" else []
    stack: list[Any] = [root]
    keys: list[str] = [""]
    while stack:
        # No record value is legitimately nested deeper; a deeper one would make the
        # recursive code downstream (canonical JSON, pickling for the workers) crash.
        if len(stack) > MAX_DEPTH:
            raise MalformedRecord(f"a value is nested more than {MAX_DEPTH} levels deep")
        event, value = next_event(stream)
        top = stack[-1]
        if event == "map_key":
            if value in top and duplicates.key is None:
                duplicates.key = str(value)[:40]
            keys[-1] = value
            continue
        if event in ("end_map", "end_array"):
            stack.pop()
            keys.pop()
            continue
        child: Any = {} if event == "start_map" else [] if event == "start_array" else value
        if isinstance(top, dict):
            top[keys[-1]] = child
        else:
            top.append(child)
        if event in ("start_map", "start_array"):
            stack.append(child)
            keys.append("")
    return root


def section(stream: Iterator[Event], name: str) -> Any:
    """Read one whole section value; a duplicate key anywhere in it is unreadable."""
    duplicates = _Duplicates()
    value = _build(stream, next_event(stream), duplicates)
    if duplicates.key is not None:
        raise MalformedRecord(f"{name}: duplicate key {duplicates.key!r}")
    return value


def array_items(stream: Iterator[Event], name: str) -> Iterator[tuple[Any, str | None]]:
    """Yield each item of an array with the first duplicate key inside it, if any."""
    if next_event(stream)[0] != "start_array":
        raise MalformedRecord(f"{name}: expected an array")
    while True:
        first = next_event(stream)
        if first[0] == "end_array":
            return
        duplicates = _Duplicates()
        yield _build(stream, first, duplicates), duplicates.key


# --- Fields ------------------------------------------------------------------------------


def expect_object(value: Any, keys: Sequence[str], name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedRecord(f"{name}: expected an object")
    if set(value) != set(keys):
        missing = sorted(set(keys) - set(value))
        extra = sorted(str(key)[:40] for key in set(value) - set(keys))
        raise MalformedRecord(f"{name}: missing keys {missing}, unexpected keys {extra}")
    return value


def text(value: Any, name: str, *, nullable: bool = False) -> str:
    if value is None and nullable:
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise MalformedRecord(f"{name}: expected a string")
    return value


def count(value: Any, name: str, error: type[Exception] = MalformedRecord) -> int:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_COUNT_DIGITS:
        raise error(f"{name}: expected a hex integer string")
    if _COUNT_RE.fullmatch(value) is None:
        raise error(f"{name}: not a canonical lowercase hex integer")
    return int(value, 16)


def hash_value(value: Any, name: str, *, nullable: bool = False) -> str:
    if value is None and nullable:
        return ""
    if not isinstance(value, str) or HASH_RE.fullmatch(value) is None:
        raise MalformedRecord(f"{name}: expected 64 lowercase hex digits")
    return value


def time_value(value: Any, name: str) -> str:
    if value is not None and (not isinstance(value, str) or not _TIME_RE.fullmatch(value)):
        raise MalformedRecord(f"{name}: expected a UTC time YYYY-MM-DDTHH:MM:SS.mmmZ or null")
    return value or ""


def big(value: Any, digits: int, name: str) -> int:
    """A big hex integer of a result (count, ciphertext, proof); ``InvalidDecryption`` if not."""
    return crypto.encoding.parse_hex(
        value, field=name, max_digits=digits, error=crypto.InvalidDecryption
    )
