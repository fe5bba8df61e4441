"""What the two verifiers say about a ballot, and assertions that they say the same."""

from __future__ import annotations

import pytest

from elections.crypto import Ballot, ElectionParams, InvalidBallot, batch_verify, verify_ballot
from elections.crypto.ballots import check_challenges, check_shape


def strict_verdict(params: ElectionParams, voter_context: str, ballot: Ballot) -> str | None:
    """``None`` if ``verify_ballot`` accepts, else the ``check`` it names."""
    try:
        verify_ballot(params, voter_context, ballot)
    except InvalidBallot as refused:
        return refused.check
    return None


def batch_accepts(params: ElectionParams, voter_context: str, ballot: Ballot) -> bool:
    """Whether ``batch_verify`` accepts the ballot on its own."""
    return batch_verify(params, [(voter_context, ballot)]) == []


def assert_accepted(params: ElectionParams, voter_context: str, ballot: Ballot) -> None:
    """Both verifiers accept."""
    verify_ballot(params, voter_context, ballot)
    assert batch_verify(params, [(voter_context, ballot)]) == []


def assert_rejected(params: ElectionParams, voter_context: str, ballot: Ballot) -> InvalidBallot:
    """Both verifiers refuse: strict with ``InvalidBallot`` (returned), batch by index."""
    with pytest.raises(InvalidBallot) as caught:
        verify_ballot(params, voter_context, ballot)
    assert batch_verify(params, [(voter_context, ballot)]) == [0]
    return caught.value


def assert_refused_by_the_equations(
    params: ElectionParams,
    voter_context: str,
    ballot: Ballot,
    *,
    check: str,
    index: int,
    honest: Ballot | None = None,
) -> None:
    """The ballot is well formed and its challenges match, yet both verifiers refuse it.

    So the refusal comes from the branch equations: ``verify_ballot`` names
    ``check`` (``selection_response`` or ``count_response``) at ``index``
    (the slot or the question), and the batch test fails, alone and, when
    ``honest`` is given, between two honest ballots.
    """
    check_shape(params, ballot)
    check_challenges(params, voter_context, ballot)
    error = assert_rejected(params, voter_context, ballot)
    assert (error.check, error.index) == (check, index)
    if honest is not None:
        items = [(voter_context, honest), (voter_context, ballot), (voter_context, honest)]
        assert batch_verify(params, items) == [1]
