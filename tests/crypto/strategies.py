"""Hypothesis strategies: random v2 elections and valid choices in them.

An election has 1 to 3 questions of 1 to 4 options, random bounds and a
random blank flag; option names are distinct Unicode labels. ``election``
can force one question (the ``target``) to allow a given kind of invalid
answer, so that every example can test it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from hypothesis import strategies as st
from phe import paillier

from elections.crypto import ElectionParams, OptionParams, QuestionParams

# What the target question must allow: "over" (a maximum below the number of
# options), "under" (a minimum of at least one), "blank" (blank votes),
# "two options" (something to swap).
Need = str | None

_LABEL = st.text(st.characters(categories=("L", "N", "Zs", "Pd")), min_size=1, max_size=12).map(
    lambda text: unicodedata.normalize("NFC", text).strip() or "x"
)


@dataclass(frozen=True)
class ElectionCase:
    """Questions of a v2 election, a valid choice (one 0/1 per slot) and a target question."""

    questions: tuple[QuestionParams, ...]
    choice: tuple[int, ...]
    target: int

    def params(
        self, public_key: paillier.PaillierPublicKey, election_id: str = "prop-election"
    ) -> ElectionParams:
        """The election under ``public_key``."""
        return ElectionParams(election_id, public_key, self.questions, "Property election")


@st.composite
def question(draw: st.DrawFn, number: int, need: Need = None) -> QuestionParams:
    """One question; ``need`` forces what it must allow (see ``Need``)."""
    smallest = 2 if need in ("over", "two options") else 1
    options = draw(st.integers(smallest, 4))
    high = draw(st.integers(1, options - 1 if need == "over" else options))
    low = draw(st.integers(1 if need == "under" else 0, high))
    blank = True if need == "blank" else draw(st.booleans())
    names = [draw(_LABEL) for _ in range(options)]
    return QuestionParams(
        options=tuple(
            OptionParams(
                f"q{number}-o{i}", f"{name} {number}.{i}", draw(st.sampled_from(("", "Ind")))
            )
            for i, name in enumerate(names)
        ),
        min_selections=low,
        max_selections=high,
        blank=blank,
        title=f"Question {number + 1}",
        description=draw(st.sampled_from(("", "Choose.\nThink first."))),
    )


@st.composite
def answer(draw: st.DrawFn, spec: QuestionParams) -> list[int]:
    """A valid answer to one question: one 0/1 per slot."""
    options = len(spec.options)
    if spec.blank and draw(st.integers(0, 3)) == 0:
        return [0] * options + [1]
    count = draw(st.integers(spec.min_selections, spec.max_selections))
    chosen = set(draw(st.permutations(range(options)))[:count])
    return [int(i in chosen) for i in range(options)] + ([0] if spec.blank else [])


@st.composite
def election(
    draw: st.DrawFn, need: Need = None, min_questions: int = 1, max_questions: int = 3
) -> ElectionCase:
    """A random election of ``min_questions`` to ``max_questions`` and a valid choice in it."""
    count = draw(st.integers(min_questions, max_questions))
    target = draw(st.integers(0, count - 1))
    questions = tuple(draw(question(q, need if q == target else None)) for q in range(count))
    choice = [value for spec in questions for value in draw(answer(spec))]
    return ElectionCase(questions, tuple(choice), target)
