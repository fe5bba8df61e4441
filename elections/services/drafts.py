"""Setting an election up while it is a draft: keys, questions and options, copies, opening."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from accounts.audit import log_action
from accounts.models import User
from elections import crypto

from .. import ballot_box
from ..concurrency import atomic_write
from ..models import (
    Candidate,
    Election,
    Question,
    RollEntry,
    RollMode,
    Status,
)
from .ballots import (
    ballot_problem,
    election_params,
    ordered_questions,
)
from .errors import (
    ElectionError,
    KeyRefused,
    WrongPhase,
)


def require_draft(election: Election, what: str) -> None:
    if election.status != Status.DRAFT:
        raise WrongPhase(f"{what} can only change while the election is a draft.")


@sensitive_variables("private_key", "key_file", "passphrase")
def generate_keys(
    *, election: Election, actor: User | None, bits: int = 3072, passphrase: str | None = None
) -> bytes:
    """Make the election's key pair; store the public key; return the private key file.

    The private key exists only in the returned bytes: the caller hands them to the
    administrator (a file or a download) and keeps no copy.
    """
    election.refresh_from_db()
    require_draft(election, "The key")
    try:
        public_key, private_key = crypto.generate_keypair(bits)
    except crypto.CryptoError as error:
        raise KeyRefused(str(error)) from error
    key_file = crypto.dump_private_key(
        private_key, election_id=str(election.id), passphrase=passphrase or None
    )
    public_json = crypto.public_key_to_json(public_key)
    # Conditional, so an election opened by someone else meanwhile keeps its key.
    # A generated key replaces any key the trustees made.
    if not Election.objects.filter(pk=election.pk, status=Status.DRAFT).update(
        public_key=public_json, trustee_key=""
    ):
        raise WrongPhase(gettext("The key can only change while the election is a draft."))
    election.public_key, election.trustee_key = public_json, ""
    log_action(
        actor=actor,
        action="elections.key.generated",
        target=election,
        data={"bits": bits, "passphrase": bool(passphrase)},
    )
    return key_file


def open_election(*, election: Election, actor: User | None) -> None:
    election.refresh_from_db()
    if election.status != Status.DRAFT:
        raise WrongPhase(gettext("Only a draft election can be opened."))
    if not election.has_key:
        raise WrongPhase(gettext("Generate the election's key before opening it."))
    problem = ballot_problem(election)
    if problem:
        raise WrongPhase(gettext("The election cannot open: %(problem)s") % {"problem": problem})
    if election.roll_mode == RollMode.EXPLICIT and not election.roll.exists():
        raise WrongPhase(gettext("The voter roll is empty."))
    try:
        election_params(election)
    except crypto.CryptoError as error:
        raise WrongPhase(
            gettext("The election cannot open: %(problem)s") % {"problem": error}
        ) from error
    opened_at = timezone.now()
    with atomic_write():
        # Conditional on the draft and the very key the genesis hash is made from, so a
        # second open (a double submit, another administrator) or a key replaced
        # meanwhile changes nothing.
        if not Election.objects.filter(
            pk=election.pk,
            status=Status.DRAFT,
            public_key=election.public_key,
            ballot_boxes=election.ballot_boxes,
        ).update(status=Status.OPEN, opened_at=opened_at):
            raise WrongPhase(gettext("Only a draft election can be opened."))
        # Read again now that the election is no longer a draft, so an edit of the
        # options that committed since the check above is in the genesis hashes too.
        ballot_box.create_boxes(election, election_params(election))
    election.status, election.opened_at = Status.OPEN, opened_at
    log_action(actor=actor, action="elections.election.opened", target=election)


POSITION_OFFSET = 10_000


def add_question(
    *, election: Election, question: Question, options: Sequence[Candidate]
) -> Question:
    """Store an unsaved ``question`` and its unsaved ``options`` (numbered from 1) in a draft.

    For the callers that build a whole ballot at once (a copy, a definition file),
    inside their own transaction.
    """
    require_draft(election, "The questions and options")
    question.election = election
    question.save()
    for position, option in enumerate(options, start=1):
        option.election, option.question, option.position = election, question, position
    Candidate.objects.bulk_create(options)
    return question


def save_in_order(
    *,
    election: Election,
    items: Sequence[Question | Candidate],
    removed: Sequence[Question | Candidate] = (),
) -> None:
    """Save the questions of ``election``, or the options of one question, numbered 1, 2, 3...

    ``items`` are all the siblings that remain, in their new order (new ones
    included, unsaved); ``removed`` are deleted. The others' positions move out
    of the way first, so a reordering never collides with the unique positions
    midway. Draft only: raises ``WrongPhase`` once the election has opened.
    """
    require_draft(election, "The questions and options")
    with atomic_write():
        election.refresh_from_db()
        require_draft(election, "The questions and options")
        for item in removed:
            item.delete()
        if not items:
            return
        first = items[0]
        siblings: QuerySet[Question] | QuerySet[Candidate]
        if isinstance(first, Question):
            siblings = Question.objects.filter(election=election)
        else:
            siblings = Candidate.objects.filter(question_id=first.question_id)
        siblings.update(position=F("position") + POSITION_OFFSET)
        for number, item in enumerate(items, start=1):
            item.position = number
            item.save()


COPY_SUFFIX = " (copy)"


def _free_slug(base: str) -> str:
    max_length = Election._meta.get_field("slug").max_length or 64
    for number in range(1, 1000):
        tail = "-copy" if number == 1 else f"-copy-{number}"
        slug = base[: max_length - len(tail)] + tail
        if not Election.objects.filter(slug=slug).exists():
            return slug
    raise ElectionError("No free identifier for the copy; give one explicitly.")


def _check_new_slug(slug: str) -> None:
    max_length = Election._meta.get_field("slug").max_length or 64
    try:
        validate_slug(slug)
    except ValidationError:
        raise ElectionError(
            f"{slug!r} is not a valid identifier: use letters, digits, hyphens and underscores."
        ) from None
    if len(slug) > max_length:
        raise ElectionError(f"An identifier has at most {max_length} characters.")
    if Election.objects.filter(slug=slug).exists():
        raise ElectionError(f"An election with the identifier {slug!r} already exists.")


def copy_as_draft(*, election: Election, actor: User | None, slug: str | None = None) -> Election:
    """A new draft with the questions, options, rules and voter roll of ``election``.

    The copy has no key, ballots, tally or results, a fresh slug (``slug``, or the
    original's with ``-copy``) and the title with " (copy)". Schedule times already
    past are cleared, future ones kept. Raises ``ElectionError`` if ``slug`` is taken.
    """
    election.refresh_from_db()
    if slug is not None:
        _check_new_slug(slug)
    now = timezone.now()
    closes_at = election.closes_at if election.closes_at and election.closes_at > now else None
    opens_at = election.opens_at if election.opens_at and election.opens_at > now else None
    title_length = Election._meta.get_field("title").max_length or 200
    with atomic_write():
        copy = Election.objects.create(
            slug=slug or _free_slug(election.slug),
            title=election.title[: title_length - len(COPY_SUFFIX)] + COPY_SUFFIX,
            description=election.description,
            roll_mode=election.roll_mode,
            ballot_boxes=election.ballot_boxes,
            allow_revoting=election.allow_revoting,
            opens_at=opens_at,
            closes_at=closes_at,
        )
        for question in ordered_questions(election):
            add_question(
                election=copy,
                question=Question(
                    position=question.position,
                    title=question.title,
                    description=question.description,
                    min_selections=question.min_selections,
                    max_selections=question.max_selections,
                    allow_blank=question.allow_blank,
                ),
                options=[
                    Candidate(
                        name=option.name,
                        affiliation=option.affiliation,
                        statement=option.statement,
                        account_id=option.account_id,
                    )
                    for option in question.options.all()
                ],
            )
        RollEntry.objects.bulk_create(
            RollEntry(election=copy, voter_id=voter_id)
            for voter_id in election.roll.values_list("voter_id", flat=True)
        )
    log_action(
        actor=actor,
        action="elections.election.copied",
        target=copy,
        data={
            "source": election.slug,
            "questions": copy.questions.count(),
            "candidates": copy.candidates.count(),
            "roll": copy.roll.count(),
            "schedule_cleared": (opens_at, closes_at) != (election.opens_at, election.closes_at),
        },
    )
    return copy
