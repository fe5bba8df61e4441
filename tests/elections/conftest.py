"""Fixtures for elections: small keys, elections in each phase, ballots from the Python client."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import User
from elections import crypto, services
from elections.crypto.keys import allow_small_keys_for_tests
from elections.models import Candidate, Election, Question

# Small keys keep the suite fast; production defaults stay at 3072 bits.
TEST_KEY_BITS = 1024


@pytest.fixture(autouse=True)
def _small_keys() -> Iterator[None]:
    with allow_small_keys_for_tests():
        yield


@dataclass
class OpenElection:
    election: Election
    key_file: bytes
    candidates: list[Candidate]


def add_question(
    election: Election,
    title: str,
    options: Sequence[str],
    *,
    min_selections: int = 1,
    max_selections: int = 1,
    allow_blank: bool = False,
) -> Question:
    """Append a question with the given options (names) to ``election``."""
    question = Question.objects.create(
        election=election,
        position=election.questions.count() + 1,
        title=title,
        min_selections=min_selections,
        max_selections=max_selections,
        allow_blank=allow_blank,
    )
    for position, name in enumerate(options, start=1):
        Candidate.objects.create(election=election, question=question, position=position, name=name)
    return question


@pytest.fixture
def make_election(db) -> Callable[..., Election]:
    """An election with one question of ``candidates`` (rules from the keyword arguments).

    ``questions`` (a list of dicts for ``add_question``) replaces the single question.
    """

    def make(
        slug: str = "council-2026",
        candidates: Sequence[str] = ("Ada", "Grace", "Alan"),
        *,
        min_selections: int = 1,
        max_selections: int = 1,
        allow_blank: bool = False,
        questions: Sequence[dict[str, Any]] | None = None,
        **fields,
    ) -> Election:
        election = Election.objects.create(slug=slug, title=f"Election {slug}", **fields)
        if questions is None:
            questions = [
                {
                    "title": "Who should be elected?",
                    "options": candidates,
                    "min_selections": min_selections,
                    "max_selections": max_selections,
                    "allow_blank": allow_blank,
                }
            ]
        for question in questions:
            question = dict(question)
            add_question(election, question.pop("title"), question.pop("options"), **question)
        return election

    return make


@pytest.fixture
def draft_election(make_election) -> Election:
    return make_election()


@pytest.fixture
def open_election(draft_election, admin_user) -> OpenElection:
    key_file = services.generate_keys(election=draft_election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=draft_election, actor=admin_user)
    return OpenElection(draft_election, key_file, services.ordered_candidates(draft_election))


def make_ballot(election: Election, voter: User, selections: Sequence[int]) -> str:
    """A real encrypted ballot with proofs, bound to ``voter``, as the browser would post it."""
    params = services.election_params(election)
    context = services.voter_context(election, voter)
    return crypto.ballot_to_json(crypto.encrypt_ballot(params, context, list(selections)), params)


@pytest.fixture
def ballot_for() -> Callable[[Election, User, Sequence[int]], str]:
    return make_ballot


@pytest.fixture(autouse=True)
def _tally_check_in_process(settings) -> None:
    # The pre-decryption check in this process: a pool per decryption would cost more
    # than the few ballots of a test (the pool path has tests of its own).
    settings.TALLY_CHECK_PROCESSES = 1
