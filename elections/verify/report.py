"""What a verification run found: failures by check, warnings, results per question, trustees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_LISTED_FAILURES = 1000
BLANK = "Blank"


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


@dataclass(frozen=True)
class OptionResult:
    """One option's published count (-1 when its decryption proof failed)."""

    id: str
    name: str
    count: int


@dataclass(frozen=True)
class QuestionResult:
    """One question's published counts; ``blank`` is None when it has no blank vote.

    A v1 record has one question without a title.
    """

    title: str
    options: tuple[OptionResult, ...]
    blank: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.title,
            "options": [
                {"id": option.id, "name": option.name, "count": option.count}
                for option in self.options
            ],
            "blank": self.blank,
        }

    def lines(self) -> list[str]:
        indent = "    " if self.title else "  "
        lines = [f"  {self.title}"] if self.title else []
        lines.extend(f"{indent}{option.name}: {option.count}" for option in self.options)
        if self.blank is not None:
            lines.append(f"{indent}{BLANK}: {self.blank}")
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


@dataclass
class Report:
    """What a verification run found. ``exit_code`` is the CLI's exit status."""

    election: dict[str, str] = field(default_factory=dict)
    ballots: int = 0
    failures: list[Failure] = field(default_factory=list)
    failure_total: int = 0
    warnings: list[str] = field(default_factory=list)
    questions: list[QuestionResult] | None = None
    trustees: TrusteeSummary | None = None
    malformed: str | None = None
    seconds: float = 0.0
    # The product of the verified ballots' ciphertexts, per slot, once it is known
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

    @property
    def results(self) -> list[tuple[str, int]] | None:
        """The published counts slot by slot as (option name, count), blanks as ``Blank``."""
        if self.questions is None:
            return None
        flat: list[tuple[str, int]] = []
        for question in self.questions:
            flat.extend((option.name, option.count) for option in question.options)
            if question.blank is not None:
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
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        title = self.election.get("title", "?")
        lines = [f"Election record: {title} ({self.election.get('slug', '?')})"]
        lines.append(f"Status: {self.election.get('status', '?')}; ballots: {self.ballots}")
        if self.questions is not None:
            lines.append("Results:")
            for question in self.questions:
                lines.extend(question.lines())
        if self.trustees is not None:
            lines.append(self.trustees.describe())
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
