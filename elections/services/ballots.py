"""The ballot an election asks for: its questions and options, parameters, voters."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.db.models import Prefetch

from accounts.models import Role, User
from elections import crypto

from ..models import (
    Candidate,
    Election,
    Question,
    RollEntry,
    RollMode,
    Status,
)
from .errors import (
    WrongPhase,
)


def ordered_candidates(election: Election) -> list[Candidate]:
    """Every option of the election in ballot order (questions in order, then options)."""
    return list(
        election.candidates.select_related("question").order_by("question__position", "position")
    )


def ordered_questions(election: Election) -> list[Question]:
    """The election's questions in order, each with its options prefetched in order."""
    return list(
        election.questions.order_by("position").prefetch_related(
            Prefetch("options", queryset=Candidate.objects.order_by("position"))
        )
    )


# (title, description, min, max, blank, ((option id, name, affiliation), ...)) per question.
QuestionShape = tuple[str, str, int, int, bool, tuple[tuple[str, str, str], ...]]


def _question_params(shape: QuestionShape, version: int) -> crypto.QuestionParams:
    title, description, low, high, blank, options = shape
    if version == 1:
        return crypto.QuestionParams(
            options=tuple(crypto.OptionParams(option_id) for option_id, _, _ in options),
            min_selections=low,
            max_selections=high,
        )
    return crypto.QuestionParams(
        options=tuple(crypto.OptionParams(*option) for option in options),
        min_selections=low,
        max_selections=high,
        blank=blank,
        title=title,
        description=description,
    )


@lru_cache(maxsize=64)
def _params(
    election_id: str,
    public_key_json: str,
    version: int,
    title: str,
    shapes: tuple[QuestionShape, ...],
) -> crypto.ElectionParams:
    return crypto.ElectionParams(
        election_id=election_id,
        public_key=crypto.public_key_from_json(public_key_json),
        questions=tuple(_question_params(shape, version) for shape in shapes),
        title=title if version == 2 else "",
        version=version,
    )


def _read_shapes(election_id: uuid.UUID) -> tuple[QuestionShape, ...]:
    election = Election(pk=election_id)
    return tuple(
        (
            question.title,
            question.description,
            question.min_selections,
            question.max_selections,
            question.allow_blank,
            tuple((str(o.pk), o.name, o.affiliation) for o in question.options.all()),
        )
        for question in ordered_questions(election)
    )


@lru_cache(maxsize=256)
def _opened_shapes(
    election_id: uuid.UUID, public_key_json: str, opened_at: datetime
) -> tuple[QuestionShape, ...]:
    # Keyed by the opening: a reset clears the key, and a reopening has a new time.
    return _read_shapes(election_id)


def ballot_shapes(election: Election) -> tuple[QuestionShape, ...]:
    """The questions and options as the parameters see them, in ballot order.

    They change only in a draft, so once the election has opened they are read
    once per opening rather than at every cast.
    """
    if election.status != Status.DRAFT and election.opened_at is not None:
        return _opened_shapes(election.pk, election.public_key, election.opened_at)
    return _read_shapes(election.pk)


def election_params(election: Election) -> crypto.ElectionParams:
    """The cryptographic statement every ballot of ``election`` is proved against.

    Raises ``WrongPhase`` without a key, ``crypto.ParameterError`` when the
    questions break a rule of the ballot format (a draft being edited).
    """
    if not election.public_key:
        raise WrongPhase("This election has no public key yet.")
    return _params(
        str(election.id),
        election.public_key,
        election.ballot_format,
        election.title,
        ballot_shapes(election),
    )


def voter_context(election: Election, voter: User) -> str:
    """A pseudonym of (election, voter) that each ballot's proofs are bound to.

    Binding the proofs to it means a ballot copied from another voter does not
    verify (the Cortier-Smyth replay attack). It is an HMAC so the published
    ballot board does not name the voter.
    """
    key = hashlib.sha256(b"evoting/voter-context/v1" + settings.SECRET_KEY.encode()).digest()
    message = f"{election.id}:{voter.pk}".encode()
    return "vc1-" + hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def is_eligible(election: Election, user: User) -> bool:
    """Approved voter accounts on the roll (every approved voter, or the explicit list)."""
    if not (user.is_authenticated and user.is_active and user.is_approved):
        return False
    if user.role != Role.VOTER:
        return False
    if election.roll_mode == RollMode.ALL_APPROVED_VOTERS:
        return True
    return RollEntry.objects.filter(election=election, voter=user).exists()


def eligible_voter_count(election: Election) -> int:
    if election.roll_mode == RollMode.ALL_APPROVED_VOTERS:
        return User.objects.filter(role=Role.VOTER, is_approved=True, is_active=True).count()
    return election.roll.filter(
        voter__role=Role.VOTER, voter__is_active=True, voter__is_approved=True
    ).count()


def ballot_slots(election: Election) -> list[tuple[Question, Candidate | None]]:
    """Each slot of the ballot in order: (question, option), or (question, None) for a blank."""
    slots: list[tuple[Question, Candidate | None]] = []
    for question in ordered_questions(election):
        slots.extend((question, option) for option in question.options.all())
        if question.allow_blank and election.ballot_format == 2:
            slots.append((question, None))
    return slots


def ballot_problem(election: Election) -> str:
    """What stops the election's questions from making a valid ballot, or ``""``.

    Applies the ballot format's own rules (labels, bounds, limits) to the
    questions as stored, so the admin can show the problem before opening.
    """
    questions = ordered_questions(election)
    if not questions:
        return "an election needs at least one question."
    for question in questions:
        options = list(question.options.all())
        if not options:
            return f"the question {question.title!r} has no options."
        if question.max_selections > len(options):
            return (
                f"the question {question.title!r} allows {question.max_selections} choices "
                f"but has {len(options)} options."
            )
    shapes = _read_shapes(election.pk)
    try:
        crypto.check_ballot_structure(
            election.title, [_question_params(shape, 2) for shape in shapes]
        )
    except crypto.ParameterError as error:
        return f"{error}."
    return ""


def public_key_fingerprint(election: Election) -> str:
    """A short digest of the stored public key that people can compare by eye.

    The first 16 bytes of SHA-256 over the canonical public key JSON, as hex in
    groups of four; empty when the election has no key yet.
    """
    if not election.public_key:
        return ""
    digest = hashlib.sha256(election.public_key.encode("ascii")).hexdigest()[:32]
    return ":".join(digest[i : i + 4] for i in range(0, len(digest), 4))
