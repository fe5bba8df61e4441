"""Audited ballots: a voter opens an encrypted ballot instead of casting it (Benaloh).

The booth posts the audited-ballot document (``crypto.audit``); it is stored
once it opens to its choices and is then public, never counted and never on
the cast board. Nothing stored names the voter: the account is used only to
check that it may vote here and has not voted yet, and to limit how many
audits it posts.
"""

from __future__ import annotations

import json

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext

from accounts import throttle
from accounts.audit import log_action
from accounts.models import User
from elections import crypto

from ..concurrency import atomic_write
from ..models import AuditedBallot, Ballot, Election, Status
from .ballots import election_params, is_eligible
from .errors import AlreadyVoted, InvalidBallotError, NotEligible, TooManyRefusals, WrongPhase

# Auditing is the voter's check of their device; a few tries are plenty, and each
# stored audit is public and permanent once the election is published.
AUDIT_LIMIT = 20
AUDIT_WINDOW = 60 * 60


class AlreadyAudited(InvalidBallotError):
    status_code = 409


def post_audited_ballot(*, election: Election, voter: User, payload: str | bytes) -> AuditedBallot:
    """Check an audited ballot from a voter of this open election and publish it.

    Refuses: a voter not on the roll (``NotEligible``), an election not
    accepting ballots (``WrongPhase``), a voter who has already cast a ballot
    (``AlreadyVoted``: auditing is for before the cast), more than
    ``AUDIT_LIMIT`` audits an hour (``TooManyRefusals``), a document that does
    not open to its choices or is of other parameters (``InvalidBallotError``
    naming the check and slot), and a ballot already audited or already cast
    (``AlreadyAudited``). Stores only the canonical document.
    """
    if not is_eligible(election, voter):
        raise NotEligible(gettext("You are not on the voter roll of this election."))
    if not election.accepts_ballots_at(timezone.now()):
        raise WrongPhase(gettext("Ballots can be audited only while the election accepts ballots."))
    if Ballot.objects.filter(election=election, voter=voter).exists():
        raise AlreadyVoted(gettext("You have already voted: audits are for before casting."))
    key = f"elections:audits:{election.pk}:{voter.pk}"
    if throttle.count_attempt(key, window=AUDIT_WINDOW) > AUDIT_LIMIT:
        raise TooManyRefusals(
            gettext("Too many audited ballots from this account; try again later.")
        )
    params = election_params(election)
    try:
        audited = crypto.check_audited_ballot(params, payload)
    except crypto.CryptoError as error:
        raise InvalidBallotError(
            gettext("The audited ballot was refused: %(error)s") % {"error": error}
        ) from error
    if Ballot.objects.filter(election=election, tracker=audited.tracker).exists():
        raise AlreadyAudited(
            gettext("This ballot is on the board: a cast ballot cannot be audited.")
        )
    try:
        with atomic_write():
            if not Election.objects.filter(pk=election.pk, status=Status.OPEN).exists():
                raise WrongPhase(
                    gettext("The election closed before the audited ballot was stored.")
                )
            stored = AuditedBallot.objects.create(
                election=election, tracker=audited.tracker, content=audited.to_json()
            )
    except IntegrityError:
        raise AlreadyAudited(gettext("This ballot has already been audited.")) from None
    log_action(
        actor=None,
        action="elections.ballot.audited",
        target=election,
        data={"tracker": audited.tracker},
    )
    return stored


def published_audits(election: Election) -> list[tuple[AuditedBallot, list[tuple[str, str]]]]:
    """The election's audited ballots in posting order, each with its answers in words.

    The stored documents were checked (re-encrypted) when they were posted, so
    listing them reads their choices only: no exponentiation per page view.
    """
    params = election_params(election)
    rows = AuditedBallot.objects.filter(election=election).order_by("posted_at", "id")
    return [
        (
            row,
            crypto.answers_in_words(
                params, [int(m, 16) for m in json.loads(row.content)["choices"]]
            ),
        )
        for row in rows
    ]
