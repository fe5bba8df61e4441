"""The checks of docs/election-record.md, section by section, in the record's order.

``RecordChecker`` receives each section as it is read (the ballots as an
iterator, so they are never all in memory) and reports every failure to its
``Report``. The record's ``format`` selects the ``Layout``; both versions
share every check that means the same thing, under the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import gmpy2  # type: ignore[import-untyped]

from elections import board, crypto
from elections.crypto.encoding import canonical_json, hex_len

from . import audits, reading, results, trustees
from .ballots import BALLOTS_PER_TASK, BatchOutcome, BatchRunner, PendingBallot
from .layout import (
    CANDIDATE_KEYS,
    CHAIN_KEYS,
    ELECTION_KEYS,
    ENTRY_KEYS,
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

ProgressCallback = Callable[[int, int], None]


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
        self.count = 0
        self.verified = 0
        self.last_sequence = 0
        self.trackers: dict[str, tuple[int, int]] = {}
        self.contexts: dict[str, tuple[int, int]] = {}
        self.product: list[Any] = []
        self.unreadable = 0
        self.batch: list[PendingBallot] = []
        self.runner = BatchRunner(workers, self._merge)
        self.tally: list[int] = []
        self.closing = ""
        self.trustees = trustees.TrusteeChecker(report)
        self.results: results.ResultChecker | None = None

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
        election = reading.expect_object(value, ELECTION_KEYS, "election")
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
            if isinstance(chain_hash, str) and reading.HASH_RE.fullmatch(chain_hash):
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
        if self.sought is not None and self.sought.match is None and tracker == self.sought.tracker:
            self.sought.match = TrackerMatch(position, sequence, cast_at, chain_hash)
        self._check_unique(position, sequence, context, tracker)
        self.batch.append(PendingBallot(sequence, context, tracker, document))

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
        self.results = results.ResultChecker(
            self.report,
            self.layout,
            self._params(),
            self.tally,
            by_trustees=self.trustees.present,
        )
        self.report.questions = self.results.check(value, self.names, self.count)

    def check_partial_decryptions(self, value: Any) -> None:
        published = self.status == "published"
        tally = None
        if published and self.tally:
            tally = trustees.encrypted_tally(self._params(), self.count, self.closing, self.tally)
        combined = self.trustees.check_partials(value, tally, published=published)
        if self.results is not None and self.trustees.present:
            self.report.questions = self.results.check_combined(combined)

    def check_audited(self, entries: Iterable[tuple[Any, str | None]]) -> None:
        audits.check_audited_ballots(self.report, self._params(), entries, self.trackers)

    def _params(self) -> crypto.ElectionParams:
        if self.params is None:
            raise MalformedRecord("params must come before the sections that use them")
        return self.params


def _entry_fields(entry: Any) -> tuple[int, str, str, str, str, Any]:
    entry = reading.expect_object(entry, ENTRY_KEYS, "ballot entry")
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
    return sequence, context, cast_at, tracker, chain_hash, entry["ballot"]
