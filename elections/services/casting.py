"""Casting: a ballot checked, then stored and folded into the encrypted tally together."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext

from accounts import throttle
from accounts.models import User
from elections import crypto

from .. import ballot_box, verification
from ..concurrency import WriteConflict, is_transient
from ..models import (
    AuditedBallot,
    Ballot,
    Election,
)
from .ballots import (
    election_params,
    is_eligible,
    voter_context,
)
from .errors import (
    AlreadyVoted,
    BallotBoxBusy,
    InvalidBallotError,
    NotEligible,
    TooManyRefusals,
    WrongPhase,
)

security_log = logging.getLogger("evoting.security")


# An honest booth never sends an invalid ballot, and refusing one costs a strict
# check of every proof: an account that sends this many in the window is refused
# before any proof work until the window ends. Each attempt is counted before its
# proof check and given back if the ballot was valid or could not be checked, so a
# burst sent at once gets at most this many checks (per web process with the
# local-memory cache: see accounts/throttle.py).
REFUSED_BALLOT_LIMIT = 5
REFUSED_BALLOT_WINDOW = 15 * 60


def cast_ballot(*, election: Election, voter: User, payload: str | bytes) -> Ballot:
    """Check a ballot and store it together with its product into the encrypted tally.

    With revoting on, a voter's new ballot replaces their previous one. The
    expensive proof check runs before any write. The ballot box re-reads the
    election when it stores the ballot, so a ballot racing with the close is either
    on the board and in the tally, or refused and not stored.
    """
    if not is_eligible(election, voter):
        raise NotEligible(gettext("You are not on the voter roll of this election."))
    if not election.accepts_ballots_at(timezone.now()):
        raise WrongPhase(gettext("This election is not accepting ballots now."))
    if (
        not election.allow_revoting
        and Ballot.objects.filter(election=election, voter=voter).exists()
    ):
        raise AlreadyVoted(gettext("You have already voted in this election."))
    params = election_params(election)
    context = voter_context(election, voter)
    ballot, content = _checked_ballot(election, voter, params, context, payload)
    tracker = crypto.tracker_of_json(content)
    if AuditedBallot.objects.filter(election=election, tracker=tracker).exists():
        # Its randomness is public: casting it would publish the vote.
        raise InvalidBallotError(
            gettext(
                "This ballot was audited, so its choices are public; it cannot be cast. "
                "Encrypt your choices again."
            )
        )
    cast = ballot_box.CastBallot(
        voter_id=voter.pk,
        voter_context=context,
        ballot=ballot,
        content=content,
        tracker=tracker,
    )
    return _store(election, params, cast)


def _checked_ballot(
    election: Election,
    voter: User,
    params: crypto.ElectionParams,
    context: str,
    payload: str | bytes,
) -> tuple[crypto.Ballot, str]:
    """The ballot once its proofs hold, with its canonical JSON."""
    attempts = f"elections:refused-ballots:{election.pk}:{voter.pk}"
    if throttle.count_attempt(attempts, window=REFUSED_BALLOT_WINDOW) > REFUSED_BALLOT_LIMIT:
        raise TooManyRefusals(
            gettext("Too many invalid ballots from this account; try again in a few minutes.")
        )
    try:
        ballot, content = crypto.parse_ballot_with_json(params, payload)
        verification.verify_ballot(params, context, ballot)
    except crypto.CryptoError as error:
        raise InvalidBallotError(
            gettext("The ballot was refused: %(error)s") % {"error": error}
        ) from error
    except verification.VerifierUnavailable as error:
        # Not the voter's fault, so not counted as a refusal.
        throttle.give_back_attempt(attempts)
        raise BallotBoxBusy(
            gettext(
                "The ballot could not be checked just now and was not stored; please send it again."
            )
        ) from error
    throttle.give_back_attempt(attempts)
    return ballot, content


def _store(
    election: Election, params: crypto.ElectionParams, cast: ballot_box.CastBallot
) -> Ballot:
    """The ballot box's outcome in the words of the person casting."""
    try:
        return ballot_box.store_ballot(election, params, cast)
    except ballot_box.DuplicateVoter:
        raise AlreadyVoted(gettext("You have already voted in this election.")) from None
    except ballot_box.DuplicateBallot:
        raise InvalidBallotError(gettext("This exact ballot is already on the board.")) from None
    except ballot_box.ReplacedBallot:
        raise AlreadyVoted(
            gettext(
                "This ballot is already on the board, and your later ballot replaced it: "
                "only your last ballot counts. Open the booth to cast a new one."
            )
        ) from None
    except ballot_box.BoxClosed:
        raise WrongPhase(gettext("This election closed before your ballot was stored.")) from None
    except ballot_box.ElectionChanged:
        raise WrongPhase(
            gettext(
                "This election was reset while your ballot was being checked; open the booth again."
            )
        ) from None
    except ballot_box.UnverifiedBallot as error:
        # Not this voter's doing: the box refuses to count past an altered ballot.
        security_log.error("election %s: %s; casting stopped", election.slug, error)
        raise BallotBoxBusy(
            gettext(
                "The ballot box cannot take ballots just now and yours was not stored; "
                "please try again later."
            )
        ) from None
    except WriteConflict as error:
        raise BallotBoxBusy(
            gettext("The ballot box is busy and your ballot was not stored; please send it again.")
        ) from error
    except DatabaseError as error:
        if not is_transient(error):
            raise
        # The connection may have been lost while committing: the ballot may be stored.
        raise BallotBoxBusy(
            gettext(
                "The ballot box could not be reached and your ballot may not have been stored; "
                "please send it again (a ballot already stored is not stored twice)."
            )
        ) from error
