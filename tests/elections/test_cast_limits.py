"""What the cast endpoint refuses before it reads a ballot: bursts of invalid ballots, other bodies.

A burst of invalid ballots from one account must not buy more proof checks than
the throttle allows, however many arrive at once; a body the booth never sends
(a form, a file upload, plain text) is a 415 with a JSON message, never a 500.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.test.client import encode_multipart

from accounts.models import User
from elections import services, verification
from elections.services import casting

from .conftest import OpenElection
from .test_cast_http import booth_csrf_token, cast_url, nothing_stored, post, refused, tampered

BURST = 12


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


@pytest.fixture
def proof_checks(monkeypatch) -> list[int]:
    """Count the ballots that reach the proof check; each is still checked for real."""
    checked: list[int] = []
    real_verify = verification.verify_ballot

    def counting_verify(*args: Any) -> None:
        checked.append(1)
        # Proof work takes a while at real key sizes: long enough for a burst to arrive.
        time.sleep(0.2)
        real_verify(*args)

    monkeypatch.setattr(verification, "verify_ballot", counting_verify)
    return checked


def forged_ballot(election: Any, voter: User, ballot_for: Any) -> str:
    good = ballot_for(election, voter, [1, 0, 0])
    return tampered(good, lambda d: d["questions"][0]["selection_proofs"].reverse())


# --- A burst of invalid ballots ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_invalid_ballots_gets_at_most_the_limit_of_proof_checks(
    open_election: OpenElection, login_as, voter, ballot_for, proof_checks
):
    election = open_election.election
    voter_client = login_as(voter)
    forged = forged_ballot(election, voter, ballot_for).encode()
    start = threading.Barrier(BURST)

    def send(_: int) -> int:
        try:
            start.wait(timeout=30)
            return int(post(voter_client, election, forged).status_code)
        finally:
            connections.close_all()

    with nothing_stored(election), ThreadPoolExecutor(max_workers=BURST) as pool:
        statuses = list(pool.map(send, range(BURST)))
    assert len(proof_checks) <= services.REFUSED_BALLOT_LIMIT
    assert sorted(statuses) == sorted(
        [400] * len(proof_checks) + [429] * (BURST - len(proof_checks))
    )


def test_a_valid_ballot_is_accepted_one_refusal_short_of_the_limit(
    open_election: OpenElection, login_as, voter, ballot_for, proof_checks
):
    election = open_election.election
    voter_client = login_as(voter)
    forged = forged_ballot(election, voter, ballot_for).encode()
    for _ in range(services.REFUSED_BALLOT_LIMIT - 1):
        refused(post(voter_client, election, forged), 400, "refused")
    response = post(voter_client, election, ballot_for(election, voter, [0, 1, 0]))
    assert response.status_code == 201, response.content


def test_valid_ballots_are_never_counted_against_the_account(
    open_election: OpenElection, login_as, voter, ballot_for, proof_checks
):
    election = open_election.election
    voter_client = login_as(voter)
    forged = forged_ballot(election, voter, ballot_for).encode()
    params = services.election_params(election)
    context = services.voter_context(election, voter)
    for _ in range(services.REFUSED_BALLOT_LIMIT + 1):
        casting._checked_ballot(
            election, voter, params, context, ballot_for(election, voter, [0, 0, 1])
        )
    refused(post(voter_client, election, forged), 400, "refused")


# --- Bodies the booth never sends --------------------------------------------------------


@pytest.fixture
def csrf_voter(open_election: OpenElection, voter) -> tuple[Client, str]:
    """A signed-in eligible voter whose client enforces CSRF, with the booth's token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(voter, backend="django.contrib.auth.backends.ModelBackend")
    return client, booth_csrf_token(client, open_election.election)


def _multipart(ballot: str) -> tuple[bytes, str]:
    return encode_multipart(
        "BoUnDaRy", {"ballot": ballot}
    ), "multipart/form-data; boundary=BoUnDaRy"


def _form(ballot: str) -> tuple[bytes, str]:
    return b"ballot=" + ballot.encode(), "application/x-www-form-urlencoded"


def _text(ballot: str) -> tuple[bytes, str]:
    return ballot.encode(), "text/plain"


def _json_in_latin1(ballot: str) -> tuple[bytes, str]:
    return ballot.encode(), "application/json; charset=latin-1"


@pytest.mark.parametrize("body_of", [_multipart, _form, _text, _json_in_latin1])
def test_a_body_the_booth_never_sends_is_415_json(
    open_election: OpenElection, csrf_voter, voter, ballot_for, body_of
):
    election = open_election.election
    client, token = csrf_voter
    body, content_type = body_of(ballot_for(election, voter, [1, 0, 0]))
    with nothing_stored(election):
        response = client.post(
            cast_url(election), data=body, content_type=content_type, HTTP_X_CSRFTOKEN=token
        )
    refused(response, 415, "application/json")


def test_a_body_without_a_content_type_is_415_json(
    open_election: OpenElection, csrf_voter, voter, ballot_for
):
    election = open_election.election
    client, token = csrf_voter
    body = ballot_for(election, voter, [1, 0, 0]).encode()
    with nothing_stored(election):
        response = client.generic(
            "POST", cast_url(election), data=body, content_type="", HTTP_X_CSRFTOKEN=token
        )
    assert (
        "CONTENT_TYPE" not in response.wsgi_request.META
        or not (response.wsgi_request.META["CONTENT_TYPE"])
    )
    refused(response, 415, "application/json")


def test_json_with_a_utf8_charset_is_still_a_ballot(
    open_election: OpenElection, csrf_voter, voter, ballot_for
):
    election = open_election.election
    client, token = csrf_voter
    response = client.post(
        cast_url(election),
        data=ballot_for(election, voter, [0, 0, 1]).encode(),
        content_type="Application/JSON; charset=UTF-8",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201, response.content
