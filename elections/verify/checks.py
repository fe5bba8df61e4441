"""The checks of docs/election-record.md, section by section, in the record's order.

``RecordChecker`` receives each section as it is read (the ballots as an
iterator, so they are never all in memory) and reports every failure to its
``Report``. The record's ``format`` selects the ``Layout``; both versions
share every check that means the same thing, under the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import gmpy2  # type: ignore[import-untyped]

from elections import board, crypto
from elections.crypto.encoding import canonical_json, hex_len

from . import audits, reading, results, trustees
from .ballots import BALLOTS_PER_TASK, BatchOutcome, BatchRunner, PendingBallot
from .layout import (
    BOX_CHAIN_KEYS,
    CANDIDATE_KEYS,
    CHAIN_KEYS,
    CHAIN_KEYS_V3,
    LAYOUT_V2,
    LAYOUTS,
    ROLL_MODES,
    STATUSES,
    TALLY_KEYS,
    VOTER_ROLL_KEYS,
    Layout,
)
from .reading import MalformedRecord
from .report import Report, TrackerLookup, TrackerMatch
from .seen import SeenEntries

ProgressCallback = Callable[[int, int], None]


MAX_BOXES = 256


class StopChecks(Exception):
    """A failure after which nothing further can be checked (unusable parameters)."""


class RecordChecker:
    """Runs every check of docs/election-record.md over one record's sections, in order.

    ``report.tracker``, when set, is the tracker to find on the board: the first
    readable entry that carries it is noted there.
    """

    def __init__(
        self, report: Report, *, workers: int = 1, progress: ProgressCallback | None = None
    ) -> None:
        self.report = report
        self.sought: TrackerLookup | None = report.tracker
        self.progress = progress
        self.layout: Layout = LAYOUT_V2
        self.status = ""
        self.election_id = ""
        self.election_title = ""
        self.claimed_ballots = 0
        self.eligible = 0
        self.names: list[str] = []
        self.params: crypto.ElectionParams | None = None
        self.genesis = ""
        self.head = ""
        # v3: the number of boxes, whether ballots may be replaced, each box's head and
        # length, and the box being read (entries come box by box).
        self.boxes = 1
        self.revoting = False
        self.box_heads: list[str] = []
        self.box_lengths: list[int] = []  # the last sequence number read in each box
        self.box_entries: list[int] = []  # entries read in each box, unreadable ones too
        self.box = 0
        self.count = 0
        # Entries not marked as replaced: the ballots the tally counts.
        self.counted = 0
        self.verified = 0
        self.last_sequence = 0
        # Each tracker's first entry and each voter context's latest, off the heap.
        self.seen = SeenEntries()
        self.product: list[Any] = []
        self.unreadable = 0
        self.batch: list[PendingBallot] = []
        self.runner = BatchRunner(workers, self._merge)
        self.tally: list[int] = []
        self.closing = ""
        self.trustees = trustees.TrusteeChecker(report)
        self.results: results.ResultChecker | None = None

    def close(self) -> None:
        """Stop the proof workers and drop what was remembered of the board."""
        try:
            self.runner.close()
        finally:
            self.seen.close()

    def handlers(self) -> dict[str, Callable[[Any], None]]:
        """The check of each section read whole (``ballots`` is streamed apart)."""
        return {
            "election": self.check_election,
            "params": self.check_params,
            "trustees": self.check_trustees,
            "candidates": self.check_candidates,
            "voter_roll": self.check_voter_roll,
            "chain": self.check_chain,
            "encrypted_tally": self.check_encrypted_tally,
            "results": self.check_results,
            "partial_decryptions": self.check_partial_decryptions,
        }

    # Header -----------------------------------------------------------------

    def check_format(self, value: Any) -> Layout:
        layout = LAYOUTS.get(value) if isinstance(value, str) else None
        if layout is None:
            raise MalformedRecord(f"format: expected one of {sorted(LAYOUTS)}")
        self.layout = layout
        return layout

    def check_election(self, value: Any) -> None:
        election = reading.expect_object(value, self.layout.election_keys, "election")
        for key in ("id", "slug", "title"):
            reading.text(election[key], f"election {key}")
        if election["status"] not in STATUSES:
            raise MalformedRecord(f"election status: expected one of {list(STATUSES)}")
        for key in ("opened_at", "closed_at", "published_at"):
            reading.time_value(election[key], f"election {key}")
        self.status = election["status"]
        self.election_id = election["id"]
        self.election_title = election["title"]
        self.claimed_ballots = reading.count(election["ballot_count"], "election ballot_count")
        self.report.election = {key: election[key] for key in ("id", "slug", "title", "status")}
        self._check_times(election)
        if self.layout.boxes:
            self.boxes = reading.count(election["ballot_boxes"], "election ballot_boxes")
            if not 1 <= self.boxes <= MAX_BOXES:
                raise MalformedRecord(f"election ballot_boxes: expected 1 to {MAX_BOXES}")
            if election["revoting"] not in ("0", "1"):
                raise MalformedRecord('election revoting: expected "0" or "1"')
            self.revoting = election["revoting"] == "1"

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
            raise StopChecks from None
        if params.version != self.layout.params_version:
            self.report.fail(
                "params",
                f"the election parameters are refused: parameters of format v{params.version} "
                f"in a record of format {self.layout.format}, which holds "
                f"v{self.layout.params_version}",
            )
            raise StopChecks
        if params.election_id != self.election_id:
            self.report.fail("params", "the parameters belong to another election id")
        if params.version == 2 and params.title != self.election_title:
            self.report.fail("params", "the election title differs from the parameters' title")
        self.params = params
        self.names = results.option_names(params)
        self.genesis = board.genesis_hash(params.fingerprint)
        self.head = self.genesis
        self.box_heads = [
            board.box_genesis_hash(params.fingerprint, box, self.boxes) for box in range(self.boxes)
        ]
        self.box_lengths = [0] * self.boxes
        self.box_entries = [0] * self.boxes
        self.product = [gmpy2.mpz(crypto.encrypted_zero())] * params.slot_count

    def check_trustees(self, value: Any) -> None:
        self.trustees.check_key(value, self._params())

    def check_candidates(self, value: Any) -> None:
        params = self._params()
        if not isinstance(value, list):
            raise MalformedRecord("candidates: expected an array")
        previous = 0
        ids = []
        self.names = []
        for index, item in enumerate(value):
            candidate = reading.expect_object(item, CANDIDATE_KEYS, f"candidate {index}")
            ids.append(reading.text(candidate["id"], "candidate id"))
            self.names.append(reading.text(candidate["name"], "candidate name"))
            reading.text(candidate["affiliation"], "candidate affiliation")
            position = reading.count(candidate["position"], "candidate position")
            if position <= previous:
                self.report.fail("candidates", f"candidate {index}: positions must increase")
            previous = position
        if tuple(ids) != params.option_ids:
            self.report.fail(
                "candidates", "the candidate list differs from the parameters' candidates"
            )

    def check_voter_roll(self, value: Any) -> None:
        roll = reading.expect_object(value, VOTER_ROLL_KEYS, "voter_roll")
        if roll["mode"] not in ROLL_MODES:
            raise MalformedRecord(f"voter_roll mode: expected one of {list(ROLL_MODES)}")
        self.eligible = reading.count(roll["eligible"], "voter_roll eligible")
        reading.hash_value(roll["commitment"], "voter_roll commitment")

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
        self._check_replacements_found()
        self.report.counted = self.counted
        if self.counted > self.eligible:
            self.report.warnings.append(
                f"{self.counted} ballots but {self.eligible} eligible voters at export time "
                "(voters removed from the roll after voting, or ballots from outside it)"
            )

    def _check_entry(self, position: int, entry: Any, duplicate: str | None) -> None:
        try:
            if duplicate is not None:
                raise ValueError(f"duplicate key {duplicate!r}")
            fields = _entry_fields(entry, self.layout, self.boxes)
        except (MalformedRecord, ValueError) as error:
            self.report.fail("entry", str(error), position=position)
            self.unreadable += 1
            self.counted += 1  # it may be a counted ballot: the tally cannot be recomputed
            self._follow_unreadable(entry)
            return
        where = {"sequence": fields.sequence, "position": position if self.boxes > 1 else None}
        box = self._enter_box(fields.box, where)
        if fields.sequence != self.box_lengths[box] + 1:
            self.report.fail(
                "sequence",
                f"expected sequence {self.box_lengths[box] + 1}{self._in_box(box)}, found "
                f"{fields.sequence} (a ballot is missing, inserted or out of order)",
                **where,
            )
        self.box_lengths[box] = fields.sequence
        self.box_entries[box] += 1
        expected = board.ballot_hash(
            self.box_heads[box], fields.sequence, fields.context, fields.cast_at, fields.tracker
        )
        if expected != fields.chain_hash:
            self.report.fail(
                "chain", "the chain hash does not follow from the previous one", **where
            )
        self.box_heads[box] = self.head = fields.chain_hash
        if board.box_of(fields.context, self.boxes) != box:
            self.report.fail(
                "box",
                f"the voter's ballots belong in box {board.box_of(fields.context, self.boxes)}",
                **where,
            )
        if fields.replaced_by is not None and not self.revoting:
            self.report.fail(
                "replacement", "a ballot is marked replaced but revoting is off", **where
            )
        sought = self.sought
        if sought is not None and sought.match is None and fields.tracker == sought.tracker:
            sought.match = TrackerMatch(
                position,
                fields.sequence,
                fields.cast_at,
                fields.chain_hash,
                box=box if self.layout.boxes else None,
                replaced_by=fields.replaced_by,
            )
        self._check_unique(position, fields, box)
        counted = fields.replaced_by is None
        self.counted += counted
        self.batch.append(
            PendingBallot(fields.sequence, fields.context, fields.tracker, fields.document, counted)
        )

    def _enter_box(self, box: int, where: dict[str, int | None]) -> int:
        """Entries come box by box, each box's in sequence order."""
        if box < self.box:
            self.report.fail(
                "sequence", f"an entry of box {box} after those of box {self.box}", **where
            )
        self.box = max(self.box, box)
        return box

    def _in_box(self, box: int) -> str:
        return f" in box {box}" if self.boxes > 1 else ""

    def _follow_unreadable(self, entry: Any) -> None:
        # A recorded chain hash still becomes its chain's head, so one altered entry
        # is reported once rather than at every later entry of its box.
        if not isinstance(entry, dict):
            return
        chain_hash = entry.get("chain_hash")
        if not (isinstance(chain_hash, str) and reading.HASH_RE.fullmatch(chain_hash)):
            return
        box = self.box
        if self.layout.boxes:
            try:
                box = reading.count(entry.get("box"), "box")
            except MalformedRecord:
                return
            if box >= self.boxes:
                return
        self.box_heads[box] = self.head = chain_hash
        self.box_entries[box] += 1

    def _check_unique(self, position: int, fields: EntryFields, box: int) -> None:
        # Keyed by board position: an entry repeated whole repeats its sequence too.
        sequence = fields.sequence
        earlier = self.seen.first_with_tracker(fields.tracker, (position, sequence, box))
        if earlier[0] != position:
            self.report.fail(
                "duplicate",
                f"tracker already on the board as ballot {earlier[1]}{self._in_box(earlier[2])} "
                f"(position {earlier[0]})",
                sequence=sequence,
            )
        previous = self.seen.replace_latest(
            fields.context, (position, sequence, box, fields.replaced_by)
        )
        if previous is None:
            return
        seen_at, seen_sequence, seen_box, replaced_by = previous
        if replaced_by is None or replaced_by != sequence or seen_box != box:
            self.report.fail(
                "duplicate",
                f"voter context already voted as ballot {seen_sequence}{self._in_box(seen_box)} "
                f"(position {seen_at})"
                + ("" if replaced_by is None else f", which says ballot {replaced_by} replaced it"),
                sequence=sequence,
            )

    def _check_replacements_found(self) -> None:
        """A ballot marked replaced must be followed by its voter's replacing ballot."""
        for position, sequence, box, replaced_by in self.seen.latest_entries():
            if replaced_by is not None:
                self.report.fail(
                    "replacement",
                    f"ballot {sequence}{self._in_box(box)} (position {position}) is marked "
                    f"replaced by ballot {replaced_by}, but no later ballot of its voter is "
                    "on the board",
                    sequence=sequence,
                )

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
        if self.layout.boxes:
            self._check_box_chains(value)
            return
        chain = reading.expect_object(value, CHAIN_KEYS, "chain")
        genesis = reading.hash_value(chain["genesis"], "chain genesis")
        head = reading.hash_value(chain["head"], "chain head")
        closing = reading.hash_value(chain["closing"], "chain closing", nullable=True)
        self.closing = closing
        self.report.chain = {"genesis": genesis, "head": head, "closing": closing}
        if genesis != self.genesis:
            self.report.fail("chain", "the genesis hash does not match the parameters")
        if head != self.head:
            self.report.fail("chain", "the head is not the last ballot's chain hash")
        self._check_closing(closing, board.closing_hash(self.head, self.count))

    def _check_closing(self, closing: str, expected: str) -> None:
        if self.status == "open":
            if closing:
                self.report.fail("chain", "an open election has a closing hash")
            self.report.warnings.append(
                "the election is still open: this record is partial (no closing hash, "
                "no results) and later ballots may follow"
            )
        elif closing != expected:
            self.report.fail("chain", f"the closing hash does not seal these {self.count} ballots")

    def _check_box_chains(self, value: Any) -> None:
        chain = reading.expect_object(value, CHAIN_KEYS_V3, "chain")
        boxes = chain["boxes"]
        if not isinstance(boxes, list) or len(boxes) != self.boxes:
            raise MalformedRecord(f"chain boxes: expected an array of {self.boxes} boxes")
        closing = reading.hash_value(chain["closing"], "chain closing", nullable=True)
        self.closing = closing
        fingerprint = self._params().fingerprint
        heads = []
        for index, item in enumerate(boxes):
            box = reading.expect_object(item, BOX_CHAIN_KEYS, f"chain box {index}")
            genesis = reading.hash_value(box["genesis"], f"chain box {index} genesis")
            head = reading.hash_value(box["head"], f"chain box {index} head")
            length = reading.count(box["ballots"], f"chain box {index} ballots")
            if genesis != board.box_genesis_hash(fingerprint, index, self.boxes):
                self.report.fail("chain", f"box {index}: the genesis hash does not match")
            if head != self.box_heads[index]:
                self.report.fail("chain", f"box {index}: the head is not its last ballot's hash")
            if length != self.box_entries[index]:
                self.report.fail(
                    "chain",
                    f"box {index}: says {length} ballots, the board holds "
                    f"{self.box_entries[index]}",
                )
            heads.append((self.box_heads[index], self.box_entries[index]))
        # The board hash is the one head with one box, else the seal over every head.
        board_hash = heads[0][0] if self.boxes == 1 else board.boxes_closing_hash(heads)
        self.report.chain = {"boxes": str(self.boxes), "head": board_hash, "closing": closing}
        self._check_closing(closing, board.boxes_closing_hash(heads))

    def check_encrypted_tally(self, value: Any) -> None:
        params = self._params()
        tally = reading.expect_object(value, TALLY_KEYS, "encrypted_tally")
        ciphertexts = tally["ciphertexts"]
        if not isinstance(ciphertexts, list):
            raise MalformedRecord("encrypted_tally ciphertexts: expected an array")
        digits = hex_len(params.n_square - 1)
        try:
            self.tally = [
                crypto.validate_ciphertext(
                    params.public_key, reading.big(c, digits, "encrypted tally ciphertext")
                )
                for c in ciphertexts
            ]
        except crypto.CryptoError as error:
            self.report.fail("tally", f"invalid encrypted tally: {error}")
            return
        if len(self.tally) != params.slot_count:
            self.report.fail(
                "tally",
                f"the encrypted tally has {len(self.tally)} ciphertexts "
                f"for {params.slot_count} {self.layout.slot_noun}",
            )
            self.tally = []
            return
        self._compare_tally(reading.count(tally["ballot_count"], "encrypted_tally ballot_count"))

    def _compare_tally(self, tally_count: int) -> None:
        if tally_count != self.counted:
            holds = f"the board holds {self.count}"
            if self.counted != self.count:
                holds = f"{self.counted} of the board's {self.count} count (the others replaced)"
            self.report.fail("tally", f"the tally counts {tally_count} ballots, {holds}")
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
        self.results = results.ResultChecker(
            self.report,
            self.layout,
            self._params(),
            self.tally,
            by_trustees=self.trustees.present,
        )
        self.report.questions = self.results.check(value, self.names, self.counted)

    def check_partial_decryptions(self, value: Any) -> None:
        published = self.status == "published"
        tally = None
        if published and self.tally:
            tally = trustees.encrypted_tally(self._params(), self.counted, self.closing, self.tally)
        combined = self.trustees.check_partials(value, tally, published=published)
        if self.results is not None and self.trustees.present:
            self.report.questions = self.results.check_combined(combined)

    def check_audited(self, entries: Iterable[tuple[Any, str | None]]) -> None:
        audits.check_audited_ballots(self.report, self._params(), entries, self.seen)

    def _params(self) -> crypto.ElectionParams:
        if self.params is None:
            raise MalformedRecord("params must come before the sections that use them")
        return self.params


@dataclass(frozen=True)
class EntryFields:
    sequence: int
    box: int
    context: str
    cast_at: str
    tracker: str
    chain_hash: str
    replaced_by: int | None
    document: Any


def _entry_fields(entry: Any, layout: Layout, boxes: int) -> EntryFields:
    entry = reading.expect_object(entry, layout.entry_keys, "ballot entry")
    sequence = reading.count(entry["sequence"], "sequence")
    try:
        context = crypto.check_voter_context(entry["voter_context"])
    except crypto.CryptoError as error:
        raise ValueError(str(error)) from None
    cast_at = reading.time_value(entry["cast_at"], "cast_at")
    if not cast_at:
        raise ValueError("cast_at: missing")
    tracker = reading.hash_value(entry["tracker"], "tracker")
    chain_hash = reading.hash_value(entry["chain_hash"], "chain_hash")
    box, replaced_by = 0, None
    if layout.boxes:
        box = reading.count(entry["box"], "box")
        if box >= boxes:
            raise ValueError(f"box: {box} is not one of the election's {boxes} boxes")
        if entry["replaced_by"] is not None:
            replaced_by = reading.count(entry["replaced_by"], "replaced_by")
            if replaced_by <= sequence:
                raise ValueError("replaced_by: a ballot is replaced by a later one of its box")
    return EntryFields(
        sequence, box, context, cast_at, tracker, chain_hash, replaced_by, entry["ballot"]
    )
