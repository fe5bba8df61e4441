"""The published results: one decryption per slot, each for the slot it claims to be.

A slot is an option of a question, or a question's blank votes (v2, when the
question allows them). Every result must name its slot (v1: the candidate id;
v2: the question's index and the option id, ``null`` for the blank), decrypt
the encrypted tally's ciphertext of that slot, and the counts of each
question must be possible for the number of ballots
(``crypto.impossible_counts``). A single-key election proves each decryption
with the result's ``proof``; an election decrypted by trustees has no such
proof (``null``): its counts are compared with the combination of the
trustees' partial decryptions once those are read (``check_combined``).
A count the run cannot confirm is None in the report, never a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elections import crypto
from elections.crypto.encoding import hex_len, int_to_hex

from . import reading
from .layout import Layout
from .report import OptionResult, QuestionResult, Report


def slot_owner(params: crypto.ElectionParams, slot: int) -> tuple[int, crypto.OptionParams | None]:
    """The question index of ``slot`` and its option, or None for the question's blank."""
    for index, (start, question) in enumerate(zip(params.offsets, params.questions, strict=True)):
        if start <= slot < start + question.width:
            offset = slot - start
            return index, question.options[offset] if offset < len(question.options) else None
    raise IndexError(slot)


def option_names(params: crypto.ElectionParams) -> list[str]:
    """Each option's name, or its id where the parameters carry no name (v1)."""
    return [
        option.name or option.id for question in params.questions for option in question.options
    ]


def slot_label(params: crypto.ElectionParams, names: Sequence[str], slot: int) -> str:
    """A slot as failures name it: where it is, then what voters saw (``names``: per option).

    ``question 1, option 2 (Grace Hopper)``, ``question 3, blank``,
    ``candidate <id> (Ada)`` for v1, whose names come from its ``candidates``.
    """
    title = params.slot_title(slot)
    question, option = slot_owner(params, slot)
    if option is None:
        return title
    index = sum(len(q.options) for q in params.questions[:question])
    index += slot - params.offsets[question]
    name = names[index] if index < len(names) else option.name
    return f"{title} ({name})" if name else title


def question_results(
    params: crypto.ElectionParams, names: list[str], counts: Sequence[int | None]
) -> list[QuestionResult]:
    """Group per-slot counts by question, options named by ``names`` (one per option)."""
    grouped = []
    option_index = 0
    for question, start in zip(params.questions, params.offsets, strict=True):
        options = []
        for offset, option in enumerate(question.options):
            name = names[option_index] if option_index < len(names) else option.id
            options.append(OptionResult(option.id, name, counts[start + offset]))
            option_index += 1
        blank = counts[start + len(question.options)] if question.blank else None
        grouped.append(QuestionResult(question.title, tuple(options), blank, question.blank))
    return grouped


class ResultChecker:
    """Checks a published election's ``results`` array against the encrypted tally."""

    def __init__(
        self,
        report: Report,
        layout: Layout,
        params: crypto.ElectionParams,
        tally: list[int],
        *,
        by_trustees: bool = False,
    ) -> None:
        self.report = report
        self.layout = layout
        self.params = params
        self.tally = tally
        self.by_trustees = by_trustees
        self.names: list[str] = []
        self.counts: list[int | None] | None = None
        self.ballots = 0

    def check(
        self, value: list[Any], names: list[str], ballots: int
    ) -> list[QuestionResult] | None:
        """Check every result; return the counts per question (None if there are too few)."""
        if len(value) != self.params.slot_count:
            self.report.fail("results", f"expected {self.params.slot_count} results")
            return None
        self.names, self.ballots = names, ballots
        counts = []
        for slot, item in enumerate(value):
            entry = reading.expect_object(item, self.layout.result_keys, f"result {slot}")
            counts.append(self._check_result(slot, entry))
        self.counts = counts
        if not self.by_trustees:
            self._check_possible(counts)
        return question_results(self.params, names, counts)

    def check_combined(self, combined: Sequence[int] | None) -> list[QuestionResult] | None:
        """Compare the counts with the trustees' combined decryptions (None: there are none).

        Returns the counts per question, None for every count the combination
        does not confirm; None if the results were not checked.
        """
        if self.counts is None:
            return None
        counts = list(self.counts)
        for slot, count in enumerate(counts):
            if combined is None:
                counts[slot] = None
            elif count is not None and count != combined[slot]:
                self.report.fail(
                    "decryption",
                    f"{self._label(slot)}: the count {count} is not "
                    f"{combined[slot]}, the combination of the trustees' partial decryptions",
                )
                counts[slot] = None
        self._check_possible(counts)
        return question_results(self.params, self.names, counts)

    def _check_possible(self, counts: list[int | None]) -> None:
        confirmed = [count for count in counts if count is not None]
        if len(confirmed) == len(counts):  # a refused decryption is already reported
            for problem in crypto.impossible_counts(self.params, confirmed, self.ballots):
                self.report.fail("results", problem)

    def _label(self, slot: int) -> str:
        return slot_label(self.params, self.names, slot)

    def _identity(self, slot: int) -> dict[str, str | None]:
        if self.params.version == 1:
            return {"candidate": self.params.option_ids[slot]}
        question, option = slot_owner(self.params, slot)
        return {"question": int_to_hex(question), "option": None if option is None else option.id}

    def _check_result(self, slot: int, entry: dict[str, Any]) -> int | None:
        params = self.params
        title = self._label(slot)
        if any(entry[key] != expected for key, expected in self._identity(slot).items()):
            self.report.fail("results", f"result {slot} is not for {title}")
        try:
            count = reading.big(entry["count"], hex_len(params.n), "count")
            ciphertext = reading.big(entry["ciphertext"], hex_len(params.n_square), "ciphertext")
            self._check_proof(entry["proof"], ciphertext, count)
        except crypto.CryptoError as error:
            self.report.fail("decryption", f"{title}: {error}")
            return None
        if slot < len(self.tally) and ciphertext != self.tally[slot]:
            self.report.fail(
                "results", f"{title}: the decrypted ciphertext is not the encrypted tally"
            )
        return count

    def _check_proof(self, proof: Any, ciphertext: int, count: int) -> None:
        """The single key's decryption proof; trustees prove theirs in their partials."""
        if self.by_trustees:
            if proof is not None:
                raise crypto.InvalidDecryption(
                    "a decryption proof where the trustees decrypt (expected null)"
                )
            return
        if proof is None:
            raise crypto.InvalidDecryption("the decryption proof is missing")
        r = reading.big(proof, hex_len(self.params.n), "proof")
        crypto.verify_decryption(self.params.public_key, ciphertext, count, r)
