"""What the services refuse: errors whose message is safe to show, with an HTTP status."""

from __future__ import annotations


class ElectionError(Exception):
    """A refused operation; the message is meant for the person who asked."""

    status_code = 400


class WrongPhase(ElectionError):
    status_code = 409


class NotEligible(ElectionError):
    status_code = 403


class AlreadyVoted(ElectionError):
    status_code = 409


class InvalidBallotError(ElectionError):
    status_code = 400


class KeyRefused(ElectionError):
    status_code = 400


class TallyMismatch(ElectionError):
    status_code = 409


class TooManyRefusals(ElectionError):
    status_code = 429


class BallotBoxBusy(ElectionError):
    status_code = 503


class AlreadySubmitted(ElectionError):
    status_code = 409
