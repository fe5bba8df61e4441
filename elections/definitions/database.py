"""Definitions and the database: a draft election created from a file, and back.

``load_definition`` checks, with the file's own rules, what only the database
knows (that the identifier is free, that every linked username is an approved
candidate account) and then creates the draft, its questions and options in one
write. One problem anywhere means nothing is created, and every problem is
reported. ``dump_definition`` writes an election back in the same format.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError
from django.db.models import Prefetch
from django.utils.text import slugify

from accounts.audit import log_action
from accounts.models import Role, User
from accounts.usernames import normalise_username
from elections import services
from elections.concurrency import atomic_write
from elections.models import Candidate, Election, Question

from .document import (
    DEFINITION_FORMAT,
    MAX_SLUG_LENGTH,
    DefinitionError,
    ElectionDefinition,
    OptionDefinition,
    Problem,
    ProblemList,
    QuestionDefinition,
    as_bytes,
    definition_to_json,
    quote,
)
from .reading import read_definition, slug_problem


def load_definition(
    *, definition: bytes | str, actor: User | None, slug: str | None = None
) -> Election:
    """Create a draft election with the questions and options of ``definition``.

    ``definition`` is the file's content (UTF-8 bytes, or text). ``slug``, when
    given, replaces the file's identifier. Without either, the identifier is
    derived from the title and made unique. Raises ``DefinitionError`` listing
    every problem, and then creates nothing; on success writes the audit entry
    ``elections.election.loaded``.
    """
    problems = ProblemList()
    parsed = read_definition(definition, problems)
    if parsed is None:
        raise problems.error()
    chosen = ""
    try:
        with atomic_write():
            chosen = _choose_slug(problems, parsed, override=slug)
            accounts = _resolve_accounts(problems, parsed)
            if problems:
                raise problems.error()
            election = _create(parsed, chosen, accounts)
            log_action(
                actor=actor,
                action="elections.election.loaded",
                target=election,
                data={
                    "format": DEFINITION_FORMAT,
                    "slug": chosen,
                    "questions": len(parsed.questions),
                    "options": sum(len(q.options) for q in parsed.questions),
                    "linked_accounts": len(accounts),
                    "sha256": hashlib.sha256(as_bytes(definition)).hexdigest(),
                },
            )
    except IntegrityError:
        # Only a concurrent load or copy taking the same identifier gets here.
        if not Election.objects.filter(slug=chosen).exists():
            raise
        problem = Problem("slug", f"an election with the identifier {chosen!r} already exists")
        raise DefinitionError([problem]) from None
    return election


def _create(
    parsed: ElectionDefinition, slug: str, accounts: dict[tuple[int, int], User]
) -> Election:
    election = Election.objects.create(
        slug=slug,
        title=parsed.title,
        description=parsed.description,
        opens_at=parsed.opens_at,
        closes_at=parsed.closes_at,
        roll_mode=parsed.roll_mode,
    )
    for q_index, item in enumerate(parsed.questions):
        services.add_question(
            election=election,
            question=Question(
                position=q_index + 1,
                title=item.title,
                description=item.description,
                min_selections=item.min_selections,
                max_selections=item.max_selections,
                allow_blank=item.allow_blank,
            ),
            options=[
                Candidate(
                    name=option.name,
                    affiliation=option.affiliation,
                    statement=option.statement,
                    account=accounts.get((q_index, o_index)),
                )
                for o_index, option in enumerate(item.options)
            ],
        )
    return election


def _choose_slug(problems: ProblemList, parsed: ElectionDefinition, *, override: str | None) -> str:
    """The new election's identifier; reports one that is invalid or taken."""
    slug = parsed.slug if override is None else override
    problem = slug_problem(override) if override is not None else ""
    if problem:
        problems.add("slug", problem)
        return ""
    if slug is None:
        return _derived_slug(parsed.title)
    if Election.objects.filter(slug=slug).exists():
        problems.add("slug", f"an election with the identifier {slug!r} already exists")
    return slug


def _derived_slug(title: str) -> str:
    base = slugify(title)[:MAX_SLUG_LENGTH].strip("-_") or "election"
    for number in range(1, 1000):
        tail = "" if number == 1 else f"-{number}"
        slug = base[: MAX_SLUG_LENGTH - len(tail)] + tail
        if not Election.objects.filter(slug=slug).exists():
            return slug
    raise DefinitionError([Problem("slug", "no free identifier from the title; give a slug")])


def _resolve_accounts(
    problems: ProblemList, parsed: ElectionDefinition
) -> dict[tuple[int, int], User]:
    """The account of each linked option, by (question, option) index; reports bad links."""
    keys = sorted(
        {
            normalise_username(option.candidate)
            for question in parsed.questions
            for option in question.options
            if option.candidate is not None
        }
    )
    found: dict[str, User] = {}
    for start in range(0, len(keys), 500):
        for account in User.objects.filter(username_key__in=keys[start : start + 500]):
            found[account.username_key] = account
    links: dict[tuple[int, int], User] = {}
    for q_index, question in enumerate(parsed.questions):
        linked: dict[Any, int] = {}
        for o_index, option in enumerate(question.options):
            if option.candidate is None:
                continue
            path = f"questions[{q_index}].options[{o_index}].candidate"
            user = found.get(normalise_username(option.candidate))
            problem = _account_problem(user, option.candidate)
            if user is None or problem:
                problems.add(path, problem)
            elif user.pk in linked:
                problems.add(path, f"already linked to options[{linked[user.pk]}] of this question")
            else:
                linked[user.pk] = o_index
                links[(q_index, o_index)] = user
    return links


def _account_problem(user: User | None, username: str) -> str:
    if user is None:
        return f"no account has the username {quote(username)}"
    if user.role != Role.CANDIDATE:
        return f"the account {quote(username)} is not a candidate (its role is {user.role})"
    if not user.is_approved:
        return f"the candidate account {quote(username)} is not approved yet"
    return ""


# --- Writing ----------------------------------------------------------------------


def definition_of(election: Election) -> ElectionDefinition:
    """The definition of ``election`` as stored: questions and options in ballot order."""
    return ElectionDefinition(
        title=election.title,
        description=election.description,
        slug=election.slug,
        opens_at=election.opens_at,
        closes_at=election.closes_at,
        roll_mode=election.roll_mode,
        questions=tuple(
            QuestionDefinition(
                title=question.title,
                description=question.description,
                min_selections=question.min_selections,
                max_selections=question.max_selections,
                allow_blank=question.allow_blank,
                options=tuple(
                    OptionDefinition(
                        name=option.name,
                        affiliation=option.affiliation,
                        statement=option.statement,
                        candidate=option.account.username if option.account else None,
                    )
                    for option in question.options.all()
                ),
            )
            for question in _questions_with_accounts(election)
        ),
    )


def _questions_with_accounts(election: Election) -> list[Question]:
    options = Candidate.objects.select_related("account").order_by("position")
    return list(
        election.questions.order_by("position").prefetch_related(Prefetch("options", options))
    )


def dump_definition(election: Election) -> str:
    """The definition of ``election`` as a file: UTF-8 JSON indented by two, a final newline.

    ``load_definition`` of the result creates an equal draft (but for the
    identifier, which must be free). The key, roll, ballots and results are not
    part of a definition.
    """
    return definition_to_json(definition_of(election))
