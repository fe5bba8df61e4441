"""What a verification run found: failures by check, warnings, the board's hashes, results
per question, trustees and, when one was asked about, where a tracker is on the board."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_LISTED_FAILURES = 1000
BLANK = "Blank"
# A count the run could not confirm (its decryption failed, or it is not the
# trustees' combination) is shown as this, never as a number.
UNCONFIRMED = "not confirmed (see the failures below)"
# The exit status when the record verifies but the tracker asked about is not on its board.
TRACKER_ABSENT = 3


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


def show_count(count: int | None) -> str:
    return UNCONFIRMED if count is None else str(count)


@dataclass(frozen=True)
class OptionResult:
    """One option's published count; None when the run could not confirm it."""

    id: str
    name: str
    count: int | None


@dataclass(frozen=True)
class QuestionResult:
    """One question's published counts. A v1 record has one question without a title.

    ``blank`` is the count of blank votes when ``blank_allowed``; it is None
    when the question has no blank vote, or when the count is not confirmed.
    """

    title: str
    options: tuple[OptionResult, ...]
    blank: int | None
    blank_allowed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.title,
            "options": [
                {"id": option.id, "name": option.name, "count": option.count}
                for option in self.options
            ],
            "blank": self.blank,
            "blank_allowed": self.blank_allowed,
        }

    def lines(self) -> list[str]:
        indent = "    " if self.title else "  "
        lines = [f"  {self.title}"] if self.title else []
        lines.extend(
            f"{indent}{option.name}: {show_count(option.count)}" for option in self.options
        )
        if self.blank_allowed:
            lines.append(f"{indent}{BLANK}: {show_count(self.blank)}")
        return lines


@dataclass(frozen=True)
class TrusteeSummary:
    """K of N, and the trustees whose partial decryptions hold (empty before decryption)."""

    threshold: int
    trustees: int
    decrypted_by: tuple[int, ...] = ()

    def describe(self) -> str:
        who = ", ".join(map(str, self.decrypted_by)) or "none"
        if len(self.decrypted_by) < self.threshold:
            return (
                f"Trustees: any {self.threshold} of {self.trustees} decrypt; "
                f"valid partial decryptions from: {who}."
            )
        return f"Decrypted by trustees {who} of {self.trustees} ({self.threshold} needed)."

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "trustees": self.trustees,
            "decrypted_by": list(self.decrypted_by),
        }


@dataclass(frozen=True)
class TrackerMatch:
    """The board entry that carries a tracker: ``sequence`` is the receipt's position."""

    position: int
    sequence: int
    cast_at: str
    chain_hash: str
    # v3 records: the ballot's box, and the sequence of the ballot that replaced it.
    box: int | None = None
    replaced_by: int | None = None


@dataclass(frozen=True)
class AuditedSummary:
    """An audited ballot that opened to its choices: never counted, shown in words."""

    position: int
    tracker: str
    answers: list[tuple[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "tracker": self.tracker,
            "revealed": [{"question": q, "answer": a} for q, a in self.answers],
        }

    def lines(self) -> list[str]:
        revealed = "; ".join(f"{question}: {answer}" for question, answer in self.answers)
        return [f"  {self.position}. {self.tracker}", f"     revealed: {revealed}"]


@dataclass
class TrackerLookup:
    """A tracker asked about (normalised to 64 lowercase hex digits) and its entry, if any."""

    tracker: str
    match: TrackerMatch | None = None

    def to_dict(self, counted: bool) -> dict[str, Any]:
        match = self.match
        return {
            "tracker": self.tracker,
            "found": match is not None,
            "sequence": None if match is None else match.sequence,
            "position": None if match is None else match.position,
            "cast_at": None if match is None else match.cast_at,
            "chain_hash": None if match is None else match.chain_hash,
            **(
                {}
                if match is None or match.box is None
                else {"box": match.box, "replaced_by": match.replaced_by}
            ),
            "counted": counted,
        }


@dataclass
class Report:
    """What a verification run found. ``exit_code`` is the CLI's exit status."""

    election: dict[str, str] = field(default_factory=dict)
    ballots: int = 0
    # The ballots the tally counts: all of them, less those replaced (revoting).
    counted: int = 0
    # The record's chain section as read: genesis, head and closing ("" while open).
    chain: dict[str, str] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    failure_total: int = 0
    warnings: list[str] = field(default_factory=list)
    questions: list[QuestionResult] | None = None
    trustees: TrusteeSummary | None = None
    malformed: str | None = None
    tracker: TrackerLookup | None = None
    # The audited ballots that opened to their choices (never counted).
    audited: list[AuditedSummary] = field(default_factory=list)
    seconds: float = 0.0
    # The product of the verified ballots' ciphertexts, per slot, once it is known
    # to equal the encrypted tally: what a decryption may decrypt (not in the JSON report).
    verified_totals: list[int] | None = None

    @property
    def ok(self) -> bool:
        return self.malformed is None and self.failure_total == 0

    @property
    def exit_code(self) -> int:
        """0 valid, 1 a check failed, 2 unreadable, 3 valid but the tracker is not on the board."""
        if self.malformed is not None:
            return 2
        if not self.ok:
            return 1
        if self.tracker is not None and self.tracker.match is None:
            return TRACKER_ABSENT
        return 0

    @property
    def tracker_counted(self) -> bool:
        """The tracker is on the board and every check holds, so its ballot is in the tally."""
        match = None if self.tracker is None else self.tracker.match
        return self.ok and match is not None and match.replaced_by is None

    @property
    def results(self) -> list[tuple[str, int | None]] | None:
        """The published counts slot by slot as (option name, count), blanks as ``Blank``."""
        if self.questions is None:
            return None
        flat: list[tuple[str, int | None]] = []
        for question in self.questions:
            flat.extend((option.name, option.count) for option in question.options)
            if question.blank_allowed:
                flat.append((BLANK, question.blank))
        return flat

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
            # v3 records (boxes, revoting): the ballots counted, each voter's last.
            **({"counted": self.counted} if "boxes" in self.chain else {}),
            "chain": {key: value or None for key, value in self.chain.items()} or None,
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
            "trustees": None if self.trustees is None else self.trustees.to_dict(),
            "results": None
            if self.questions is None
            else [question.to_dict() for question in self.questions],
            "tracker": None
            if self.tracker is None
            else self.tracker.to_dict(counted=self.tracker_counted),
            "audited": [item.to_dict() for item in self.audited],
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        title = self.election.get("title", "?")
        lines = [f"Election record: {title} ({self.election.get('slug', '?')})"]
        lines.append(f"Status: {self.election.get('status', '?')}; {self._ballots_text()}")
        lines.extend(self._chain_lines())
        if self.questions is not None:
            lines.append("Results:")
            for question in self.questions:
                lines.extend(question.lines())
        if self.trustees is not None:
            lines.append(self.trustees.describe())
        if self.audited:
            lines.append(
                f"Audited ballots (opened by their voters, never counted): {len(self.audited)}"
            )
            for item in self.audited:
                lines.extend(item.lines())
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
        if self.tracker is not None:
            lines.extend(self._tracker_lines(self.tracker))
        return "\n".join(lines)

    def _ballots_text(self) -> str:
        text = f"ballots: {self.ballots}"
        if "boxes" in self.chain and self.counted != self.ballots:
            text += f", of which {self.counted} counted (each voter's last)"
        return text

    def _chain_lines(self) -> list[str]:
        if not self.chain:
            return []
        closing = self.chain.get("closing") or "none yet (the election is open)"
        if "boxes" in self.chain:
            return [
                f"Ballot boxes:       {self.chain['boxes']}",
                f"Board hash (boxes): {self.chain.get('head', '')}",
                f"Board closing hash: {closing}",
            ]
        return [
            f"Board genesis hash: {self.chain.get('genesis', '')}",
            f"Board head hash:    {self.chain.get('head', '')}",
            f"Board closing hash: {closing}",
        ]

    def _tracker_lines(self, lookup: TrackerLookup) -> list[str]:
        match = lookup.match
        if match is None:
            return self._absent_lines(lookup.tracker)
        where = f"ballot #{match.sequence}"
        if match.box is not None:
            where += f" of box {match.box}"
        if match.position != match.sequence:
            where += f" (entry {match.position} of the record)"
        return [
            f"Tracker {lookup.tracker}: ON THE BOARD as {where}, cast at {match.cast_at}, "
            f"chain hash {match.chain_hash}.",
            f"  {self._counted(match)}",
        ]

    def _absent_lines(self, tracker: str) -> list[str]:
        if self.malformed is not None:
            return [
                f"TRACKER NOT FOUND: {tracker} is not among the ballots read before the "
                "record proved unreadable."
            ]
        if not self.ok:
            return [
                f"TRACKER NOT FOUND: no readable ballot on this board has the tracker {tracker}.",
                "  The record fails verification as well (see above).",
            ]
        return [
            f"TRACKER NOT FOUND: no ballot on this board has the tracker {tracker}.",
            "  Check that it is the whole tracker from a receipt of this election; if it is "
            "and that ballot was cast, tell the election's administrators.",
        ]

    def _counted(self, match: TrackerMatch) -> str:
        if match.replaced_by is not None:
            return (
                f"REPLACED, NOT COUNTED: its voter cast ballot #{match.replaced_by}"
                " later in the same box, and only a voter's last ballot counts."
            )
        if self.malformed is not None:
            return "NOT CONFIRMED as counted: the record is unreadable."
        if not self.ok:
            return "NOT CONFIRMED as counted: the record fails verification (see above)."
        status = self.election.get("status")
        if status == "published":
            return "Counted: it is in the encrypted tally that the published results decrypt."
        if status == "closed":
            return "Counted: it is in the encrypted tally; the results are not published yet."
        return "Counted so far: it is in the running encrypted tally; the election is still open."
