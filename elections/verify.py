"""Independent verifier of a public election record (``docs/election-record.md``).

Usage::

    python -m elections.verify record.json [--workers N] [--quiet] [--json]

It needs no Django settings and no database: it imports only the Django-free
``elections.crypto`` and ``elections.board``, so anyone can run it on a
downloaded record. The file is streamed with ijson; memory holds counters,
the running product of the ballots, the sets of trackers and voter contexts
and one batch of ballots, whatever the number of ballots. Proofs are checked
with the batch verifier over a process pool; a ballot the batch rejects is
checked again strictly so the report names the failing check.

Every failure is collected (up to ``MAX_LISTED_FAILURES`` are listed) with the
check that failed and the ballot it concerns. Exit status: 0 when every check
holds, 1 when any check fails, 2 when the file is unreadable, malformed or
truncated (not JSON, a missing or misplaced top-level key, a wrong format tag).
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import IO, Any, Protocol

import gmpy2  # type: ignore[import-untyped]
import ijson

from elections import board, crypto
from elections.crypto.encoding import canonical_json, hex_len, transcript_digest

RECORD_FORMAT = "evoting/election-record/v1"
VOTER_ROLL_TAG = "evoting/record/v1/voter-roll"
TOP_LEVEL_KEYS = (
    "format",
    "election",
    "params",
    "candidates",
    "voter_roll",
    "ballots",
    "chain",
    "encrypted_tally",
    "results",
)
ELECTION_KEYS = (
    "id",
    "slug",
    "title",
    "status",
    "opened_at",
    "closed_at",
    "published_at",
    "ballot_count",
)
CANDIDATE_KEYS = ("id", "position", "name", "affiliation")
VOTER_ROLL_KEYS = ("mode", "eligible", "commitment")
ENTRY_KEYS = ("sequence", "voter_context", "cast_at", "tracker", "chain_hash", "ballot")
CHAIN_KEYS = ("genesis", "head", "closing")
TALLY_KEYS = ("ciphertexts", "ballot_count")
RESULT_KEYS = ("candidate", "count", "ciphertext", "proof")
STATUSES = ("open", "closed", "published")
ROLL_MODES = ("all", "explicit")

MAX_LISTED_FAILURES = 1000
# Pippenger's bucket overhead is shared by a whole batch: 512 ballots cost about
# 17% less per ballot than 128 (bench/crypto.py), for a few MB more per task.
BALLOTS_PER_TASK = 512
# Counts are below 2^64; hex spellings longer than that are refused unread.
MAX_COUNT_DIGITS = 16
MAX_TEXT = 5000
MAX_DEPTH = 32

_HASH_RE = re.compile(r"[0-9a-f]{64}")
# ASCII only: Python's \d also matches other scripts' digits, which the hashes cannot encode.
_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


class ByteSource(Protocol):
    """Anything with ``read(size)`` returning bytes: an open file, a ``ChunkReader``."""

    def read(self, size: int = -1, /) -> bytes: ...


class MalformedRecord(Exception):
    """The file is not an election record that can be read: the run stops (exit 2)."""


class _Stop(Exception):
    """A failure after which nothing further can be checked (unusable parameters)."""


@dataclass(frozen=True)
class Failure:
    """One failed check; ``sequence`` names the ballot when it concerns one."""

    check: str
    message: str
    sequence: int | None = None
    position: int | None = None

    def describe(self) -> str:
        if self.sequence is not None:
            where = f"ballot {self.sequence}: "
        elif self.position is not None:
            where = f"ballot at position {self.position}: "
        else:
            where = ""
        return f"[{self.check}] {where}{self.message}"


@dataclass
class Report:
    """What a verification run found. ``exit_code`` is the CLI's exit status."""

    election: dict[str, str] = field(default_factory=dict)
    ballots: int = 0
    failures: list[Failure] = field(default_factory=list)
    failure_total: int = 0
    warnings: list[str] = field(default_factory=list)
    results: list[tuple[str, int]] | None = None
    malformed: str | None = None
    seconds: float = 0.0
    # The product of the verified ballots' ciphertexts, per candidate, once it is known
    # to equal the encrypted tally: what a decryption may decrypt (not in the JSON report).
    verified_totals: list[int] | None = None

    @property
    def ok(self) -> bool:
        return self.malformed is None and self.failure_total == 0

    @property
    def exit_code(self) -> int:
        if self.malformed is not None:
            return 2
        return 0 if self.ok else 1

    def fail(self, check: str, message: str, **where: int | None) -> None:
        self.failure_total += 1
        if len(self.failures) < MAX_LISTED_FAILURES:
            self.failures.append(Failure(check, message, **where))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "malformed": self.malformed,
            "election": self.election,
            "ballots": self.ballots,
            "failure_count": self.failure_total,
            "failures": [
                {
                    "check": f.check,
                    "sequence": f.sequence,
                    "position": f.position,
                    "message": f.message,
                }
                for f in self.failures
            ],
            "warnings": self.warnings,
            "results": None
            if self.results is None
            else [{"candidate": name, "count": count} for name, count in self.results],
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        title = self.election.get("title", "?")
        lines = [f"Election record: {title} ({self.election.get('slug', '?')})"]
        lines.append(f"Status: {self.election.get('status', '?')}; ballots: {self.ballots}")
        if self.results is not None:
            lines.append("Results:")
            lines.extend(f"  {name}: {count}" for name, count in self.results)
        lines.extend(f"Warning: {warning}" for warning in self.warnings)
        if self.malformed is not None:
            lines.append(f"UNREADABLE: {self.malformed}")
        elif self.ok:
            lines.append(f"VERIFIED: every check holds ({self.seconds:.1f} s).")
        else:
            lines.append(f"FAILED: {self.failure_total} check(s) failed:")
            lines.extend(f"  {failure.describe()}" for failure in self.failures)
            hidden = self.failure_total - len(self.failures)
            if hidden:
                lines.append(f"  ... and {hidden} more")
        return "\n".join(lines)


def voter_roll_commitment(voter_contexts: Iterable[str]) -> str:
    """Commit to the eligible voters' pseudonyms: hex SHA-256 in transcript framing.

    The items hashed are the tag, the number of pseudonyms in hex and the
    pseudonyms sorted in ascending ASCII order.
    """
    ordered = sorted(voter_contexts)
    return transcript_digest([VOTER_ROLL_TAG, format(len(ordered), "x"), *ordered]).hex()


# --- Reading the JSON stream -------------------------------------------------------

Event = tuple[str, Any]
_SCALAR_EVENTS = ("string", "number", "boolean", "null")


# Control bytes other than tab, newline and carriage return are valid nowhere in
# JSON: outside strings they are not whitespace, inside strings they must be escaped.
_CONTROL_RE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
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
        control = _CONTROL_RE.search(chunk)
        if control is not None:
            raise MalformedRecord(f"not valid JSON: control byte {control.group()!r}")
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


def _events(source: ByteSource) -> Iterator[Event]:
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


def _next(events: Iterator[Event]) -> Event:
    try:
        return next(events)
    except StopIteration:
        raise MalformedRecord("the file ends too early (truncated)") from None


class _Duplicates:
    """Records the first duplicate key met while building one value."""

    def __init__(self) -> None:
        self.key: str | None = None


def _build(events: Iterator[Event], first: Event, duplicates: _Duplicates) -> Any:
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
        event, value = _next(events)
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


def _section(events: Iterator[Event], name: str) -> Any:
    duplicates = _Duplicates()
    value = _build(events, _next(events), duplicates)
    if duplicates.key is not None:
        raise MalformedRecord(f"{name}: duplicate key {duplicates.key!r}")
    return value


def _array_items(events: Iterator[Event], name: str) -> Iterator[tuple[Any, str | None]]:
    """Yield each item of an array with the first duplicate key inside it, if any."""
    if _next(events)[0] != "start_array":
        raise MalformedRecord(f"{name}: expected an array")
    while True:
        first = _next(events)
        if first[0] == "end_array":
            return
        duplicates = _Duplicates()
        yield _build(events, first, duplicates), duplicates.key


def _expect_object(value: Any, keys: Sequence[str], name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedRecord(f"{name}: expected an object")
    if set(value) != set(keys):
        missing = sorted(set(keys) - set(value))
        extra = sorted(str(key)[:40] for key in set(value) - set(keys))
        raise MalformedRecord(f"{name}: missing keys {missing}, unexpected keys {extra}")
    return value


def _text(value: Any, name: str, *, nullable: bool = False) -> str:
    if value is None and nullable:
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise MalformedRecord(f"{name}: expected a string")
    return value


def _count(value: Any, name: str, error: type[Exception] = MalformedRecord) -> int:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_COUNT_DIGITS:
        raise error(f"{name}: expected a hex integer string")
    if re.fullmatch(r"0|[1-9a-f][0-9a-f]*", value) is None:
        raise error(f"{name}: not a canonical lowercase hex integer")
    return int(value, 16)


def _hash(value: Any, name: str, *, nullable: bool = False) -> str:
    if value is None and nullable:
        return ""
    if not isinstance(value, str) or _HASH_RE.fullmatch(value) is None:
        raise MalformedRecord(f"{name}: expected 64 lowercase hex digits")
    return value


def _time(value: Any, name: str) -> str:
    if value is not None and (not isinstance(value, str) or not _TIME_RE.fullmatch(value)):
        raise MalformedRecord(f"{name}: expected a UTC time YYYY-MM-DDTHH:MM:SS.mmmZ or null")
    return value or ""


# --- The checks ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Pending:
    sequence: int
    voter_context: str
    tracker: str
    document: Any


@dataclass
class BatchOutcome:
    """What the cryptographic checks of one batch found, and its ciphertexts' product."""

    failures: list[tuple[str, str, int]]
    product: list[int]
    unreadable: int


def check_ballot_batch(params: crypto.ElectionParams, batch: Sequence[_Pending]) -> BatchOutcome:
    """Parse, hash and verify a batch of ballots; runs in a worker process.

    Each ballot is parsed strictly, its tracker recomputed and its proofs
    checked by ``crypto.batch_verify`` (a ballot it rejects is checked again
    strictly, for the message). Returns the failures as (check, message,
    sequence), the per-candidate product of the readable ballots' ciphertexts
    and the number of unreadable ballots.
    """
    failures: list[tuple[str, str, int]] = []
    product = [gmpy2.mpz(crypto.encrypted_zero())] * len(params.candidates)
    parsed: list[tuple[int, str, crypto.Ballot]] = []
    for item in batch:
        try:
            ballot = crypto.parse_ballot(params, item.document)
        except crypto.CryptoError as error:
            failures.append(("ballot", f"not a well-formed ballot: {error}", item.sequence))
            continue
        if crypto.ballot_tracker(ballot) != item.tracker:
            failures.append(("tracker", "the tracker is not the hash of the ballot", item.sequence))
        for index, ciphertext in enumerate(ballot.ciphertexts):
            product[index] = product[index] * ciphertext % params.n_square
        parsed.append((item.sequence, item.voter_context, ballot))
    for index in crypto.batch_verify(params, [(context, b) for _, context, b in parsed]):
        sequence, context, ballot = parsed[index]
        failures.append(("proof", _strict_verdict(params, context, ballot), sequence))
    return BatchOutcome(failures, [int(total) for total in product], len(batch) - len(parsed))


def _strict_verdict(params: crypto.ElectionParams, context: str, ballot: crypto.Ballot) -> str:
    try:
        crypto.verify_ballot(params, context, ballot)
    except crypto.CryptoError as error:
        return f"invalid proof: {error}"
    return "invalid proof: the batch test rejects it on its own"


class _BatchRunner:
    """Runs ``check_ballot_batch`` in this process, or over a pool with bounded work in flight."""

    def __init__(self, workers: int, merge: Callable[[BatchOutcome, int], None]) -> None:
        self.merge = merge
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1:
            # spawn: the caller may be a threaded server whose locks a fork would copy.
            self.pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
        self.limit = 2 * workers
        self.in_flight: deque[tuple[Future[BatchOutcome], int]] = deque()

    def submit(self, params: crypto.ElectionParams, batch: list[_Pending]) -> None:
        if self.pool is None:
            self.merge(check_ballot_batch(params, batch), len(batch))
            return
        while len(self.in_flight) >= self.limit:
            self._collect()
        self.in_flight.append((self.pool.submit(check_ballot_batch, params, batch), len(batch)))

    def _collect(self) -> None:
        future, size = self.in_flight.popleft()
        self.merge(future.result(), size)

    def finish(self) -> None:
        while self.in_flight:
            self._collect()

    def close(self) -> None:
        if self.pool is not None:
            for future, _ in self.in_flight:
                future.cancel()
            self.pool.shutdown(wait=True)


ProgressCallback = Callable[[int, int], None]


class RecordChecker:
    """Runs every check of docs/election-record.md over one record's sections, in order."""

    def __init__(
        self, report: Report, *, workers: int = 1, progress: ProgressCallback | None = None
    ) -> None:
        self.report = report
        self.workers = workers
        self.progress = progress
        self.status = ""
        self.election_id = ""
        self.claimed_ballots = 0
        self.eligible = 0
        self.names: list[str] = []
        self.params: crypto.ElectionParams | None = None
        self.genesis = ""
        self.head = ""
        self.count = 0
        self.verified = 0
        self.last_sequence = 0
        self.trackers: dict[str, tuple[int, int]] = {}
        self.contexts: dict[str, tuple[int, int]] = {}
        self.product: list[Any] = []
        self.unreadable = 0
        self.batch: list[_Pending] = []
        self.runner = _BatchRunner(workers, self._merge)
        self.tally: list[int] = []

    # Header -----------------------------------------------------------------

    def check_format(self, value: Any) -> None:
        if value != RECORD_FORMAT:
            raise MalformedRecord(f"format: expected {RECORD_FORMAT!r}")

    def check_election(self, value: Any) -> None:
        election = _expect_object(value, ELECTION_KEYS, "election")
        for key in ("id", "slug", "title"):
            _text(election[key], f"election {key}")
        if election["status"] not in STATUSES:
            raise MalformedRecord(f"election status: expected one of {list(STATUSES)}")
        for key in ("opened_at", "closed_at", "published_at"):
            _time(election[key], f"election {key}")
        self.status = election["status"]
        self.election_id = election["id"]
        self.claimed_ballots = _count(election["ballot_count"], "election ballot_count")
        self.report.election = {key: election[key] for key in ("id", "slug", "title", "status")}
        self._check_times(election)

    def _check_times(self, election: dict[str, Any]) -> None:
        expected = {
            "opened_at": True,
            "closed_at": self.status != "open",
            "published_at": self.status == "published",
        }
        for key, present in expected.items():
            if bool(election[key]) != present:
                state = "missing" if present else "set"
                self.report.fail("election", f"{key} is {state} for a {self.status} election")

    def check_params(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise MalformedRecord("params: expected an object")
        try:
            params = crypto.params_from_json(canonical_json(value))
        except (crypto.CryptoError, ValueError, TypeError, RecursionError) as error:
            self.report.fail("params", f"the election parameters are refused: {error}")
            raise _Stop from None
        if params.election_id != self.election_id:
            self.report.fail("params", "the parameters belong to another election id")
        self.params = params
        self.genesis = board.genesis_hash(params.fingerprint)
        self.head = self.genesis
        self.product = [gmpy2.mpz(crypto.encrypted_zero())] * len(params.candidates)

    def check_candidates(self, value: Any) -> None:
        params = self._params()
        if not isinstance(value, list):
            raise MalformedRecord("candidates: expected an array")
        previous = 0
        ids = []
        for index, item in enumerate(value):
            candidate = _expect_object(item, CANDIDATE_KEYS, f"candidate {index}")
            ids.append(_text(candidate["id"], "candidate id"))
            self.names.append(_text(candidate["name"], "candidate name"))
            _text(candidate["affiliation"], "candidate affiliation")
            position = _count(candidate["position"], "candidate position")
            if position <= previous:
                self.report.fail("candidates", f"candidate {index}: positions must increase")
            previous = position
        if tuple(ids) != params.candidates:
            self.report.fail(
                "candidates", "the candidate list differs from the parameters' candidates"
            )

    def check_voter_roll(self, value: Any) -> None:
        roll = _expect_object(value, VOTER_ROLL_KEYS, "voter_roll")
        if roll["mode"] not in ROLL_MODES:
            raise MalformedRecord(f"voter_roll mode: expected one of {list(ROLL_MODES)}")
        self.eligible = _count(roll["eligible"], "voter_roll eligible")
        _hash(roll["commitment"], "voter_roll commitment")

    # Ballots ----------------------------------------------------------------

    def check_ballots(self, items: Iterator[tuple[Any, str | None]]) -> None:
        for position, (entry, duplicate) in enumerate(items, start=1):
            self.count = position
            self._check_entry(position, entry, duplicate)
            if len(self.batch) >= BALLOTS_PER_TASK:
                self._flush()
        self._flush()
        self.runner.finish()
        self.report.ballots = self.count
        if self.count > self.eligible:
            self.report.warnings.append(
                f"{self.count} ballots but {self.eligible} eligible voters at export time "
                "(voters removed from the roll after voting, or ballots from outside it)"
            )

    def _check_entry(self, position: int, entry: Any, duplicate: str | None) -> None:
        try:
            if duplicate is not None:
                raise ValueError(f"duplicate key {duplicate!r}")
            fields = _entry_fields(entry)
        except (MalformedRecord, ValueError) as error:
            self.report.fail("entry", str(error), position=position)
            self.unreadable += 1
            chain_hash = entry.get("chain_hash") if isinstance(entry, dict) else None
            if isinstance(chain_hash, str) and _HASH_RE.fullmatch(chain_hash):
                self.head = chain_hash
            return
        sequence, context, cast_at, tracker, chain_hash, document = fields
        where = {"sequence": sequence}
        if sequence != self.last_sequence + 1:
            self.report.fail(
                "sequence",
                f"expected sequence {self.last_sequence + 1}, found {sequence} "
                "(a ballot is missing, inserted or out of order)",
                **where,
            )
        self.last_sequence = sequence
        expected = board.ballot_hash(self.head, sequence, context, cast_at, tracker)
        if expected != chain_hash:
            self.report.fail(
                "chain", "the chain hash does not follow from the previous one", **where
            )
        self.head = chain_hash
        self._check_unique(position, sequence, context, tracker)
        self._queue_ballot(sequence, context, tracker, document)

    def _check_unique(self, position: int, sequence: int, context: str, tracker: str) -> None:
        # Keyed by board position: an entry repeated whole repeats its sequence too.
        for seen, value, what in (
            (self.trackers, tracker, "tracker already on the board"),
            (self.contexts, context, "voter context already voted"),
        ):
            earlier = seen.setdefault(value, (position, sequence))
            if earlier[0] != position:
                self.report.fail(
                    "duplicate",
                    f"{what} as ballot {earlier[1]} (position {earlier[0]})",
                    sequence=sequence,
                )

    def _queue_ballot(self, sequence: int, context: str, tracker: str, document: Any) -> None:
        self.batch.append(_Pending(sequence, context, tracker, document))

    def _flush(self) -> None:
        if self.batch:
            batch, self.batch = self.batch, []
            self.runner.submit(self._params(), batch)

    def _merge(self, outcome: BatchOutcome, size: int) -> None:
        for check, message, sequence in outcome.failures:
            self.report.fail(check, message, sequence=sequence)
        n_square = self._params().n_square
        for index, total in enumerate(outcome.product):
            self.product[index] = self.product[index] * total % n_square
        self.unreadable += outcome.unreadable
        self.verified += size
        if self.progress is not None:
            self.progress(self.verified, max(self.claimed_ballots, self.count))

    # Trailer ----------------------------------------------------------------

    def check_chain(self, value: Any) -> None:
        chain = _expect_object(value, CHAIN_KEYS, "chain")
        genesis = _hash(chain["genesis"], "chain genesis")
        head = _hash(chain["head"], "chain head")
        closing = _hash(chain["closing"], "chain closing", nullable=True)
        if genesis != self.genesis:
            self.report.fail("chain", "the genesis hash does not match the parameters")
        if head != self.head:
            self.report.fail("chain", "the head is not the last ballot's chain hash")
        if self.status == "open":
            if closing:
                self.report.fail("chain", "an open election has a closing hash")
            self.report.warnings.append(
                "the election is still open: this record is partial (no closing hash, "
                "no results) and later ballots may follow"
            )
        elif closing != board.closing_hash(self.head, self.count):
            self.report.fail("chain", f"the closing hash does not seal these {self.count} ballots")

    def check_encrypted_tally(self, value: Any) -> None:
        params = self._params()
        tally = _expect_object(value, TALLY_KEYS, "encrypted_tally")
        ciphertexts = tally["ciphertexts"]
        if not isinstance(ciphertexts, list):
            raise MalformedRecord("encrypted_tally ciphertexts: expected an array")
        digits = hex_len(params.n_square - 1)
        try:
            self.tally = [
                crypto.validate_ciphertext(
                    params.public_key,
                    _big(c, digits, "encrypted tally ciphertext"),
                )
                for c in ciphertexts
            ]
        except crypto.CryptoError as error:
            self.report.fail("tally", f"invalid encrypted tally: {error}")
            return
        if len(self.tally) != len(params.candidates):
            self.report.fail(
                "tally",
                f"the encrypted tally has {len(self.tally)} ciphertexts "
                f"for {len(params.candidates)} candidates",
            )
            self.tally = []
            return
        self._compare_tally(_count(tally["ballot_count"], "encrypted_tally ballot_count"))

    def _compare_tally(self, tally_count: int) -> None:
        if tally_count != self.count:
            self.report.fail(
                "tally", f"the tally counts {tally_count} ballots, the board holds {self.count}"
            )
        if self.claimed_ballots != self.count:
            self.report.fail(
                "election",
                f"ballot_count says {self.claimed_ballots}, the board holds {self.count}",
            )
        if self.unreadable:
            self.report.fail(
                "tally",
                f"the product of the ballots cannot be recomputed: {self.unreadable} "
                "ballot(s) are unreadable",
            )
        elif [int(value) for value in self.product] != self.tally:
            self.report.fail(
                "tally", "the encrypted tally is not the product of the ballots on the board"
            )
        else:
            self.report.verified_totals = list(self.tally)

    def check_results(self, value: Any) -> None:
        if self.status != "published":
            if value is not None:
                self.report.fail("results", f"a {self.status} election has results")
            return
        if not isinstance(value, list):
            raise MalformedRecord("results: expected an array for a published election")
        params = self._params()
        if len(value) != len(params.candidates):
            self.report.fail("results", f"expected {len(params.candidates)} results")
            return
        counts = []
        for index, item in enumerate(value):
            entry = _expect_object(item, RESULT_KEYS, f"result {index}")
            count = self._check_result(index, entry)
            counts.append(count)
        self.report.results = [
            (name, count) for name, count in zip(self.names, counts, strict=False)
        ]
        self._check_totals(counts)

    def _check_result(self, index: int, entry: dict[str, Any]) -> int:
        params = self._params()
        candidate = params.candidates[index]
        if entry["candidate"] != candidate:
            self.report.fail("results", f"result {index} is not for candidate {candidate}")
        try:
            count = _big(entry["count"], hex_len(params.n), "count")
            ciphertext = _big(entry["ciphertext"], hex_len(params.n_square), "ciphertext")
            r = _big(entry["proof"], hex_len(params.n), "proof")
            crypto.verify_decryption(params.public_key, ciphertext, count, r)
        except crypto.CryptoError as error:
            self.report.fail("decryption", f"candidate {candidate}: {error}")
            return -1
        if index < len(self.tally) and ciphertext != self.tally[index]:
            self.report.fail(
                "results",
                f"candidate {candidate}: the decrypted ciphertext is not the encrypted tally",
            )
        return count

    def _check_totals(self, counts: list[int]) -> None:
        if any(count < 0 for count in counts):
            return  # a refused decryption, already reported
        for problem in crypto.impossible_counts(self._params(), counts, self.count):
            self.report.fail("results", problem)

    def _params(self) -> crypto.ElectionParams:
        if self.params is None:
            raise MalformedRecord("params must come before the sections that use them")
        return self.params


def _entry_fields(entry: Any) -> tuple[int, str, str, str, str, Any]:
    entry = _expect_object(entry, ENTRY_KEYS, "ballot entry")
    sequence = _count(entry["sequence"], "sequence")
    try:
        context = crypto.check_voter_context(entry["voter_context"])
    except crypto.CryptoError as error:
        raise ValueError(str(error)) from None
    cast_at = _time(entry["cast_at"], "cast_at")
    if not cast_at:
        raise ValueError("cast_at: missing")
    tracker = _hash(entry["tracker"], "tracker")
    chain_hash = _hash(entry["chain_hash"], "chain_hash")
    return sequence, context, cast_at, tracker, chain_hash, entry["ballot"]


def _big(value: Any, digits: int, name: str) -> int:
    return crypto.encoding.parse_hex(
        value, field=name, max_digits=digits, error=crypto.InvalidDecryption
    )


# --- Running a verification -------------------------------------------------------------


def verify_record(
    source: ByteSource, *, workers: int = 1, progress: ProgressCallback | None = None
) -> Report:
    """Read a record from a binary stream and run every check; return the report.

    Never raises for a bad record: a malformed one gives ``report.malformed``
    (exit 2), failed checks give ``report.failures`` (exit 1).
    """
    started = time.monotonic()
    report = Report()
    checker = RecordChecker(report, workers=workers, progress=progress)
    try:
        _read(_events(source), checker)
    except MalformedRecord as error:
        report.malformed = str(error)
    except _Stop:
        pass
    finally:
        checker.runner.close()
    report.seconds = time.monotonic() - started
    return report


def _read(events: Iterator[Event], checker: RecordChecker) -> None:
    if _next(events)[0] != "start_map":
        raise MalformedRecord("the record must be a JSON object")
    handlers: dict[str, Callable[[Any], None]] = {
        "format": checker.check_format,
        "election": checker.check_election,
        "params": checker.check_params,
        "candidates": checker.check_candidates,
        "voter_roll": checker.check_voter_roll,
        "chain": checker.check_chain,
        "encrypted_tally": checker.check_encrypted_tally,
        "results": checker.check_results,
    }
    for key in TOP_LEVEL_KEYS:
        event, value = _next(events)
        if event != "map_key" or value != key:
            found = value if event == "map_key" else event
            raise MalformedRecord(f"expected the key {key!r} here, found {str(found)[:40]!r}")
        if key == "ballots":
            checker.check_ballots(_array_items(events, "ballots"))
        else:
            handlers[key](_section(events, key))
    event, value = _next(events)
    if event != "end_map":
        raise MalformedRecord(f"unexpected key {str(value)[:40]!r} after 'results'")
    for _ in events:
        raise MalformedRecord("unexpected content after the record")


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


class ProgressPrinter:
    """Writes 'ballots verified / total, rate' to a stream at most twice a second."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.shown = 0.0
        self.inline = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.shown < (0.5 if self.inline else 5.0) and done < total:
            return
        self.shown = now
        rate = done / max(now - self.started, 1e-9)
        end = "\r" if self.inline and done < total else "\n"
        self.stream.write(f"ballots verified: {done:,} / {total:,} ({rate:,.0f}/s){end}")
        self.stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m elections.verify",
        description="Verify a public election record (docs/election-record.md).",
    )
    parser.add_argument("record", help="the record.json file")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes for the proof checks (default: one per core)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    options = parser.parse_args(argv)
    if options.workers < 1:
        parser.error("--workers must be at least 1")
    progress = None if options.quiet else ProgressPrinter(sys.stderr)
    try:
        with open(options.record, "rb") as source:
            report = verify_record(source, workers=options.workers, progress=progress)
    except OSError as error:
        report = Report(malformed=f"cannot open {options.record}: {error.strerror}")
    if options.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(report.summary() + "\n")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
