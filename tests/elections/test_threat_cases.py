"""Bad inputs, attacks and faults from the threat list, tried against the real site.

Each case goes through the real parts: the Django test client and the real
database in process, or gunicorn on loopback for process kills and load. Every
refusal must be a 4xx with a message (never a 500: the test client re-raises
server errors), must leave the board and the encrypted tally as they were and,
where it concerns security, must leave a trace in the security or audit log.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, Role, User
from elections import crypto, services
from elections.crypto.encoding import int_to_hex
from elections.crypto.errors import ParameterError
from elections.crypto.proofs import CHALLENGE_MODULUS
from elections.crypto.sealing import unseal
from elections.models import (
    Ballot,
    Election,
    EncryptedTally,
    Result,
    RollEntry,
    RollMode,
    Status,
)
from tests.conftest import PASSWORD
from tests.crypto.forgery import build_ballot

from .conftest import TEST_KEY_BITS, OpenElection
from .livesite import (
    PROJECT_ROOT,
    Browser,
    LiveElection,
    LiveSite,
    Response,
    SiteDatabase,
    close_and_count,
    gunicorn_site,
    make_ballots,
    migrate,
    run_django,
    set_up_election,
    site_database,
    site_env,
)

SECURITY = "evoting.security"
CSRF_LOG = "django.security.csrf"


# --- Helpers ----------------------------------------------------------------------------


def cast_url(election: Election) -> str:
    return reverse("elections:cast", kwargs={"slug": election.slug})


def post_ballot(client: Client, election: Election, body: str | bytes, **extra: Any) -> Any:
    return client.post(cast_url(election), data=body, content_type="application/json", **extra)


def state_of(election: Election) -> tuple[list[tuple[int, str]], list[str], int, int]:
    tally = EncryptedTally.objects.get(election=election)
    board = list(election.ballots.order_by("sequence").values_list("sequence", "tracker"))
    return board, list(tally.ciphertexts), tally.ballot_count, tally.version


@contextmanager
def nothing_stored(*elections: Election) -> Iterator[None]:
    """Nothing of any ballot, board or tally moves inside the block."""
    before = [state_of(election) for election in elections]
    ballots = Ballot.objects.count()
    yield
    assert Ballot.objects.count() == ballots
    assert [state_of(election) for election in elections] == before


def refused_json(response: Any, status: int, fragment: str = "") -> str:
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"error"} and body["error"], body
    assert fragment.lower() in body["error"].lower(), body["error"]
    return str(body["error"])


def security_lines(caplog: pytest.LogCaptureFixture, logger: str = SECURITY) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger]


def edit(ballot_json: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(ballot_json)
    change(document)
    return json.dumps(document)


def enforcing_client(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def booth_token(client: Client, election: Election) -> str:
    """The CSRF token the booth page hands its script."""
    page = client.get(reverse("elections:booth", kwargs={"slug": election.slug}))
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    return match.group(1)


@pytest.fixture
def voter_client(login_as, voter) -> Client:
    return login_as(voter)


# --- Ballot content and crypto ----------------------------------------------------------

# Ballots an attacker can really build: true encryptions of forbidden values, with the best
# proofs possible without the private key, bound to the right voter and election.
FORGED: dict[str, tuple[Callable[[int], list[int]], dict[str, Any]]] = {
    "encrypts-5-for-one-candidate": (lambda n: [5, 0, 0], {"claimed": [1, 0, 0]}),
    "encrypts-minus-1-for-one-candidate": (lambda n: [n - 1, 1, 1], {"claimed_counts": [1]}),
    "two-candidates-marked-in-a-one-of-three": (lambda n: [1, 1, 0], {}),
    "every-candidate-zero-where-one-is-required": (lambda n: [0, 0, 0], {}),
    "three-marked": (lambda n: [1, 1, 1], {}),
}


@pytest.mark.parametrize("case", FORGED)
def test_forged_encryptions_with_best_effort_proofs_are_400_and_logged(
    caplog, open_election: OpenElection, voter_client, voter, case
):
    election = open_election.election
    params = services.election_params(election)
    plaintexts, options = FORGED[case]
    forged = build_ballot(
        params, services.voter_context(election, voter), plaintexts(params.n), seed=7, **options
    )
    body = crypto.ballot_to_json(forged, params)
    with caplog.at_level("INFO", logger=SECURITY), nothing_stored(election):
        refused_json(post_ballot(voter_client, election, body), 400, "refused")
    lines = security_lines(caplog)
    assert any(
        "ballot refused" in line and voter.username in line and "InvalidBallotError" in line
        for line in lines
    ), lines
    # The refused ballot is a voter's encrypted choice: it never reaches the log.
    assert not any(int_to_hex(forged.ciphertexts[0]) in line for line in lines)


def test_the_forgery_builder_makes_acceptable_ballots_when_honest(
    open_election: OpenElection, voter_client, voter
):
    """Control: the same builder with an allowed choice is accepted, so refusals are real."""
    election = open_election.election
    params = services.election_params(election)
    honest = build_ballot(params, services.voter_context(election, voter), [0, 1, 0], seed=7)
    response = post_ballot(voter_client, election, crypto.ballot_to_json(honest, params))
    assert response.status_code == 201, response.content


def test_a_ballot_naming_an_unknown_candidate_is_400(
    open_election: OpenElection, voter_client, voter
):
    election = open_election.election
    params = services.election_params(election)
    question = params.questions[0]
    options = list(question.options)
    options[1] = replace(options[1], id="00000000-0000-0000-0000-00000000beef")
    foreign = replace(params, questions=(replace(question, options=tuple(options)),))
    body = crypto.ballot_to_json(
        crypto.encrypt_ballot(foreign, services.voter_context(election, voter), [0, 1, 0]), foreign
    )
    with nothing_stored(election):
        refused_json(post_ballot(voter_client, election, body), 400, "refused")


def test_a_ballot_with_one_candidate_entered_twice_is_400(
    open_election: OpenElection, voter_client, voter, ballot_for
):
    election = open_election.election

    def duplicate_first(document: dict[str, Any]) -> None:
        question = document["questions"][0]
        question["ciphertexts"][1] = question["ciphertexts"][0]
        question["selection_proofs"][1] = question["selection_proofs"][0]

    body = edit(ballot_for(election, voter, [1, 0, 0]), duplicate_first)
    with nothing_stored(election):
        refused_json(post_ballot(voter_client, election, body), 400, "refused")


def test_a_ballot_under_another_key_with_this_elections_id_is_400(
    open_election: OpenElection, voter_client, voter
):
    election = open_election.election
    params = services.election_params(election)
    other_key, _ = crypto.generate_keypair(TEST_KEY_BITS)
    impostor = replace(params, public_key=other_key)
    body = crypto.ballot_to_json(
        crypto.encrypt_ballot(impostor, services.voter_context(election, voter), [1, 0, 0]),
        impostor,
    )
    with nothing_stored(election):
        refused_json(post_ballot(voter_client, election, body), 400, "refused")


def _proof_values(n: int) -> dict[str, Any]:
    return {
        "zero": "0",
        "n": int_to_hex(n),
        "half-n-plus-one": int_to_hex((n - 1) // 2 + 1),
        "n-squared": int_to_hex(n * n),
        "challenge-modulus": int_to_hex(CHALLENGE_MODULUS),
        "negative": "-1",
        "not-hex": "xyz",
        "spaced": " 1",
        "float": 1.5,
        "null": None,
        "true": True,
        "list": ["1"],
    }


PROOF_FIELDS = {
    "selection-commitment": ("selection_proofs", 0, "commitments"),
    "selection-challenge": ("selection_proofs", 1, "challenges"),
    "selection-response": ("selection_proofs", 2, "responses"),
    "count-commitment": ("count_proof", None, "commitments"),
    "count-challenge": ("count_proof", None, "challenges"),
    "count-response": ("count_proof", None, "responses"),
}


@pytest.mark.parametrize("field", PROOF_FIELDS)
def test_out_of_range_and_mistyped_proof_values_are_400(
    open_election: OpenElection, voter_client, voter, ballot_for, field
):
    election = open_election.election
    good = ballot_for(election, voter, [0, 0, 1])
    section, index, part = PROOF_FIELDS[field]
    with nothing_stored(election):
        for name, value in _proof_values(services.election_params(election).n).items():

            def set_value(document: dict[str, Any], value: Any = value) -> None:
                question = document["questions"][0]
                proof = question[section] if index is None else question[section][index]
                proof[part][0] = value

            cache.clear()  # the refusal throttle has its own test
            response = post_ballot(voter_client, election, edit(good, set_value))
            assert response.status_code == 400, (name, response.content[:200])
            assert "refused" in response.json()["error"], name
    cache.clear()
    assert post_ballot(voter_client, election, good).status_code == 201


@pytest.mark.parametrize("part", ["selection", "count"])
def test_a_valid_proof_taken_from_another_ballot_of_the_same_voter_is_400(
    open_election: OpenElection, voter_client, voter, ballot_for, part
):
    election = open_election.election
    target = ballot_for(election, voter, [1, 0, 0])
    donor = json.loads(ballot_for(election, voter, [1, 0, 0]))  # same choice, fresh randomness

    def splice(document: dict[str, Any]) -> None:
        question, donated = document["questions"][0], donor["questions"][0]
        if part == "selection":
            question["selection_proofs"][0] = donated["selection_proofs"][0]
        else:
            question["count_proof"] = donated["count_proof"]

    with nothing_stored(election):
        refused_json(post_ballot(voter_client, election, edit(target, splice)), 400, "refused")


@pytest.mark.parametrize(
    "body",
    [
        '{"format": "evoting/ballot/v2", "format": "evoting/ballot/v2"}',
        '{"format": "evoting/ballot/v2", "questions": [{"ciphertexts": NaN}]}',
        '{"format": "evoting/ballot/v2", "questions": [{"ciphertexts": Infinity}]}',
        '{"format": "evoting/ballot/v2", "questions": [{"ciphertexts": ["\\ud800"]}]}',
        "\ufeff{}",
        "[" * 3000 + "]" * 3000,
        '{"format": "evoting/ballot/v2", "questions": [{"ciphertexts": ["'
        + "1" * 20
        + '"], "ciphertexts": []}]}',
    ],
    ids=[
        "duplicate-key",
        "nan",
        "infinity",
        "lone-surrogate",
        "byte-order-mark",
        "nested-3000-deep",
        "duplicate-ciphertexts-key",
    ],
)
def test_hostile_json_is_400(open_election: OpenElection, voter_client, body):
    election = open_election.election
    with nothing_stored(election):
        refused_json(post_ballot(voter_client, election, body.encode()), 400)


@pytest.mark.parametrize(
    "value", ["zz", "1 2", "1\n", "\u0661\u0662", "+1", "1e5", "0" * 3], ids=repr
)
def test_ciphertext_strings_that_are_not_canonical_hex_are_400(
    open_election: OpenElection, voter_client, voter, ballot_for, value
):
    election = open_election.election

    def set_first(document: dict[str, Any]) -> None:
        document["questions"][0]["ciphertexts"][0] = value

    body = edit(ballot_for(election, voter, [1, 0, 0]), set_first)
    with nothing_stored(election):
        refused_json(post_ballot(voter_client, election, body), 400, "refused")


def test_identity_comes_from_the_session_and_the_url_not_the_query_string(
    open_election: OpenElection,
    make_election,
    admin_user,
    voter_client,
    voter,
    make_user,
    ballot_for,
):
    election = open_election.election
    other_voter = make_user("otto_other", Role.VOTER)
    other = make_election(slug="other-election")
    services.generate_keys(election=other, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=other, actor=admin_user)
    query = f"?voter_id={other_voter.pk}&election_id={other.pk}&election={other.slug}"
    response = voter_client.post(
        cast_url(election) + query,
        data=ballot_for(election, voter, [0, 1, 0]),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    stored = Ballot.objects.get()
    assert (stored.voter, stored.election) == (voter, election)
    assert not Ballot.objects.filter(voter=other_voter).exists()
    assert EncryptedTally.objects.get(election=other).ballot_count == 0


def test_a_ballot_whose_tracker_is_already_stored_is_400_and_nothing_moves(
    open_election: OpenElection, make_election, make_user, voter_client, voter, ballot_for
):
    """A copy planted on the board (here by someone with database access) blocks the original."""
    election = open_election.election
    payload = ballot_for(election, voter, [0, 0, 1])
    params = services.election_params(election)
    tracker = crypto.ballot_tracker(crypto.parse_ballot(params, payload), params)
    elsewhere = make_election(slug="planted")
    planter = make_user("pat_planter", Role.VOTER)
    Ballot.objects.create(
        election=elsewhere,
        voter=planter,
        voter_context="vc1-planted",
        sequence=1,
        tracker=tracker,
        content=payload,
        cast_at=timezone.now(),
        chain_hash="0" * 64,
    )
    with nothing_stored(election):
        refused_json(post_ballot(voter_client, election, payload), 400, "already on the board")
    assert not Ballot.objects.filter(election=election).exists()


# --- Authentication, session, access ----------------------------------------------------


def test_a_session_cookie_kept_after_logout_cannot_cast(
    client, open_election: OpenElection, voter, ballot_for
):
    election = open_election.election
    signed_in = client.post(reverse("login"), {"username": voter.username, "password": PASSWORD})
    assert signed_in.status_code == 302
    stolen = client.cookies["sessionid"].value
    assert client.post(reverse("logout")).status_code == 302
    thief = Client()
    thief.cookies["sessionid"] = stolen
    with nothing_stored(election):
        refused_json(post_ballot(thief, election, ballot_for(election, voter, [1, 0, 0])), 401)


def test_a_real_csrf_token_of_another_visitor_is_refused_and_logged(
    caplog, open_election: OpenElection, voter, make_user, ballot_for
):
    election = open_election.election
    attacker = make_user("mallory", Role.VOTER)
    foreign_token = booth_token(enforcing_client(attacker), election)
    victim = enforcing_client(voter)
    booth_token(victim, election)  # the victim has a CSRF cookie of its own
    with caplog.at_level("WARNING", logger=CSRF_LOG), nothing_stored(election):
        response = post_ballot(
            victim, election, ballot_for(election, voter, [1, 0, 0]), HTTP_X_CSRFTOKEN=foreign_token
        )
    assert response.status_code == 403
    assert any("CSRF token" in line for line in security_lines(caplog, CSRF_LOG))


@pytest.mark.parametrize(
    "origin",
    ["null", "https://evil.example", "http://testserver.evil.example", "https://testserver"],
)
def test_a_cross_site_origin_is_refused_and_logged_even_with_a_good_token(
    caplog, open_election: OpenElection, voter, ballot_for, origin
):
    election = open_election.election
    client = enforcing_client(voter)
    token = booth_token(client, election)
    body = ballot_for(election, voter, [1, 0, 0])
    with caplog.at_level("WARNING", logger=CSRF_LOG), nothing_stored(election):
        response = post_ballot(client, election, body, HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN=origin)
    assert response.status_code == 403
    assert any("Origin checking failed" in line for line in security_lines(caplog, CSRF_LOG))
    # Control: the same request from the site's own origin is accepted.
    same_site = post_ballot(
        client, election, body, HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN="http://testserver"
    )
    assert same_site.status_code == 201


def test_an_outsider_cast_is_logged_with_the_real_address_not_a_spoofed_one(
    caplog, make_election, admin_user, make_user, login_as, ballot_for
):
    election = make_election(slug="roll-only", roll_mode=RollMode.EXPLICIT)
    RollEntry.objects.create(election=election, voter=make_user("rita_roll", Role.VOTER))
    services.generate_keys(election=election, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=election, actor=admin_user)
    outsider = make_user("olga_outsider", Role.VOTER)
    with caplog.at_level("INFO", logger=SECURITY), nothing_stored(election):
        response = post_ballot(
            login_as(outsider),
            election,
            ballot_for(election, outsider, [1, 0, 0]),
            REMOTE_ADDR="198.51.100.23",
            HTTP_X_FORWARDED_FOR="192.0.2.1",
        )
    refused_json(response, 403, "voter roll")
    lines = [line for line in security_lines(caplog) if outsider.username in line]
    assert lines and all("ip=198.51.100.23" in line for line in lines), lines
    assert not any("192.0.2.1" in line for line in lines)


CHANGELIST = "admin:elections_election_changelist"


def admin_action(client: Client, action: str, election: Election, **extra: str) -> Any:
    data = {"action": action, "_selected_action": [str(election.pk)], "post": "yes", **extra}
    return client.post(reverse(CHANGELIST), data)


def key_upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("election.key.json", data, content_type="application/json")


@pytest.fixture
def unapproved_admin(make_user) -> User:
    return make_user("ulrich_unapproved", Role.ADMINISTRATOR, approved=False)


@dataclass
class AdminTargets:
    """An open election with a ballot, a closed one with a ballot, and a draft without a key."""

    open: Election
    closed: Election
    closed_key: bytes
    draft: Election


@pytest.fixture
def targets(open_election, make_election, admin_user, make_user, ballot_for) -> AdminTargets:
    someone = make_user("sue_somebody", Role.VOTER)
    services.cast_ballot(
        election=open_election.election,
        voter=someone,
        payload=ballot_for(open_election.election, someone, [1, 0, 0]),
    )
    closed = make_election(slug="closed-one")
    closed_key = services.generate_keys(election=closed, actor=admin_user, bits=TEST_KEY_BITS)
    services.open_election(election=closed, actor=admin_user)
    services.cast_ballot(
        election=closed, voter=someone, payload=ballot_for(closed, someone, [0, 1, 0])
    )
    services.close_election(election=closed, actor=admin_user)
    return AdminTargets(open_election.election, closed, closed_key, make_election(slug="draft"))


def try_every_admin_step(client: Client, targets: AdminTargets) -> list[Any]:
    publish = reverse("admin:elections_election_publish_trustees", args=[targets.closed.pk])
    return [
        admin_action(client, "close_selected", targets.open),
        admin_action(client, "reset_election", targets.open, confirm=targets.open.slug),
        admin_action(client, "reset_election", targets.closed, confirm=targets.closed.slug),
        admin_action(client, "generate_keys", targets.draft, bits="1024"),
        admin_action(client, "open_selected", targets.draft),
        client.post(publish, {"key_file": key_upload(targets.closed_key)}),
    ]


def assert_nothing_administered(targets: AdminTargets, audit_before: int) -> None:
    for election, status in (
        (targets.open, Status.OPEN),
        (targets.closed, Status.CLOSED),
        (targets.draft, Status.DRAFT),
    ):
        election.refresh_from_db()
        assert election.status == status, election.slug
    assert not targets.draft.public_key
    assert Ballot.objects.filter(election__in=[targets.open, targets.closed]).count() == 2
    assert not Result.objects.exists()
    assert AuditEntry.objects.count() == audit_before


@pytest.mark.parametrize("persona", ["voter", "candidate"])
def test_voters_and_candidates_cannot_close_reset_key_open_or_decrypt(
    request, login_as, targets: AdminTargets, persona
):
    person = request.getfixturevalue(persona)
    client = login_as(person)
    audit_before = AuditEntry.objects.count()
    with nothing_stored(targets.open, targets.closed):
        responses = try_every_admin_step(client, targets)
    for response in responses:
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith(reverse("admin:login"))
    assert_nothing_administered(targets, audit_before)
    # The login page the refusal leads to says why.
    page = client.get(responses[0]["Location"]).content.decode()
    assert f"You are authenticated as {person.username}" in page
    assert "not authorized to access this page" in page


def test_an_unapproved_administrator_cannot_run_an_election(
    login_as, unapproved_admin, targets: AdminTargets
):
    client = login_as(unapproved_admin)
    audit_before = AuditEntry.objects.count()
    with nothing_stored(targets.open, targets.closed):
        responses = try_every_admin_step(client, targets)
    # No action is offered to this account, so the posts just show the list; the
    # publication page is forbidden outright.
    for response in responses[:-1]:
        assert response.status_code == 200
        page = response.content.decode()
        assert "Select election to change" in page and "election(s)." not in page
    assert responses[-1].status_code == 403
    assert_nothing_administered(targets, audit_before)


def test_a_voter_on_admin_urls_leaves_a_security_log_entry(
    caplog, login_as, voter, targets: AdminTargets
):
    with caplog.at_level("INFO"):
        try_every_admin_step(login_as(voter), targets)
    lines = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith(("evoting.security", "django.security"))
    ]
    assert any(voter.username in line for line in lines), lines


def test_get_never_runs_a_state_changing_step(
    login_as, admin_user, voter, targets: AdminTargets, ballot_for
):
    admin = login_as(admin_user)
    audit_before = AuditEntry.objects.count()
    for action, election in (
        ("close_selected", targets.open),
        ("reset_election", targets.closed),
        ("open_selected", targets.draft),
        ("generate_keys", targets.draft),
    ):
        query = {
            "action": action,
            "_selected_action": str(election.pk),
            "post": "yes",
            "confirm": election.slug,
            "bits": "1024",
        }
        response = admin.get(reverse(CHANGELIST), query)
        assert response.status_code in (200, 302), (action, response.status_code)
    ceremony = reverse("admin:elections_election_trustee_key", args=[targets.draft.pk])
    assert admin.get(ceremony, {"public_file": "anything"}).status_code == 200
    importer = reverse("admin:elections_election_import_voters", args=[targets.draft.pk])
    assert admin.get(importer, {"confirm": "anything"}).status_code == 200
    voter_client = login_as(voter)
    body = ballot_for(targets.open, voter, [1, 0, 0])
    assert voter_client.get(cast_url(targets.open), {"ballot": body}).status_code == 405
    assert voter_client.get(reverse("logout")).status_code == 405
    assert voter_client.get(reverse("account")).status_code == 200  # still signed in
    assert_nothing_administered(targets, audit_before)
    assert not targets.draft.roll.exists()


# --- Election lifecycle -----------------------------------------------------------------


def formset_rows(
    prefix: str, parent_field: str, parent: Any, rows: list[dict[str, str]]
) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(sum(1 for row in rows if "id" in row)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data |= {f"{prefix}-{index}-{key}": value for key, value in row.items()}
        data[f"{prefix}-{index}-{parent_field}"] = str(parent.pk)
    return data


def test_candidates_cannot_be_added_or_removed_through_the_admin_once_open(
    login_as, admin_user, open_election: OpenElection
):
    election = open_election.election
    fingerprint = services.election_params(election).fingerprint
    (question,) = election.questions.all()
    candidates = list(election.candidates.order_by("position"))
    rule = {"description": "", "min_selections": "1", "max_selections": "1"}
    questions = [
        {"id": str(question.pk), "position": "1", "title": question.title, "DELETE": "on", **rule},
        {"position": "", "title": "Late question", **rule},
    ]
    data = {
        "description": "Edited while open",
        **formset_rows("questions", "election", election, questions),
    }
    client = login_as(admin_user)
    response = client.post(reverse("admin:elections_election_change", args=[election.pk]), data)
    # The form is accepted (the description may change) but the ballot's questions are not touched.
    assert response.status_code == 302, response.content[:2000]
    assert Election.objects.get(pk=election.pk).description == "Edited while open"
    assert list(election.questions.all()) == [question]
    options = [
        {
            "id": str(candidate.pk),
            "position": str(candidate.position),
            "name": candidate.name,
            "DELETE": "on" if index == 0 else "",
        }
        for index, candidate in enumerate(candidates)
    ]
    options.append({"position": "9", "name": "Late entry"})
    data = {
        "title": question.title,
        **rule,
        **formset_rows("options", "question", question, options),
    }
    response = client.post(reverse("admin:elections_question_change", args=[question.pk]), data)
    assert response.status_code == 403
    assert list(election.candidates.order_by("position")) == candidates
    assert [c.name for c in election.candidates.order_by("position")] == ["Ada", "Grace", "Alan"]
    assert services.election_params(Election.objects.get(pk=election.pk)).fingerprint == (
        fingerprint
    )


# --- Keys and decryption ----------------------------------------------------------------


def secret_spellings(p: int, q: int) -> list[str]:
    return [spelling for prime in (p, q) for spelling in (int_to_hex(prime), str(prime))]


def test_refused_keys_never_show_their_secrets_in_the_message(
    login_as, admin_user, make_election, make_user, ballot_for
):
    passphrase = "an unguessable passphrase 5150"
    election = make_election(slug="guarded")
    key_file = services.generate_keys(
        election=election, actor=admin_user, bits=TEST_KEY_BITS, passphrase=passphrase
    )
    services.open_election(election=election, actor=admin_user)
    someone = make_user("sam_someone", Role.VOTER)
    services.cast_ballot(
        election=election, voter=someone, payload=ballot_for(election, someone, [1, 0, 0])
    )
    services.close_election(election=election, actor=admin_user)
    private_key = crypto.load_private_key(
        key_file,
        passphrase=passphrase,
        expected_public_key=services.election_params(election).public_key,
        election_id=str(election.pk),
    )
    plain = json.loads(
        crypto.dump_private_key(private_key, election_id=str(election.pk), passphrase=None)
    )
    corrupt = json.dumps(plain | {"q": int_to_hex(private_key.q + 2)}).encode()
    relabelled = json.dumps(plain | {"election_id": "someone-else"}).encode()
    attempts = [
        (key_file, "wrong guess 8080"),
        (corrupt, None),
        (relabelled, None),
        (key_file, None),
    ]
    # What `manage.py tally --key` prints when it refuses a key file.
    for data, guess in attempts:
        with pytest.raises(services.ElectionError) as refused:
            services.decrypt_tally(
                election=election, key_file=data, passphrase=guess, actor=admin_user
            )
        message = str(refused.value)
        assert "The key was refused" in message
        for secret in [*secret_spellings(private_key.p, private_key.q), passphrase, "8080"]:
            assert secret not in message
    election.refresh_from_db()
    assert election.status == Status.CLOSED and not Result.objects.exists()


# Committed on purpose: known-answer fixtures sealed under these (public) passphrases,
# each holding a test key below the production floor, so useless for a real election.
SEALED_TEST_FIXTURES = {
    "tests/crypto/sealed-private-key-v1.json": (
        "evoting/paillier-private-key-encrypted/v1",
        "sealed before sealing.py existed",
    ),
    "tests/trustee/golden/trustee-2.sealed.json": (
        "evoting/trustee-share-sealed/v1",
        "golden passphrase of trustee 2",
    ),
}


def _modulus_bits(path: Path, document: dict[str, Any], public: dict[str, str]) -> int:
    """The key size behind a committed private key or share file (a sealed one is opened)."""
    form = document.get("format")
    name = str(path.relative_to(PROJECT_ROOT))
    if form in ("evoting/paillier-private-key-encrypted/v1", "evoting/trustee-share-sealed/v1"):
        assert name in SEALED_TEST_FIXTURES, f"{name}: a sealed key or share is committed"
        sealed_format, passphrase = SEALED_TEST_FIXTURES[name]
        document = json.loads(
            unseal(document, passphrase, sealed_format=sealed_format, error=ParameterError)
        )
    if "n" in document:
        return int(document["n"], 16).bit_length()
    # A share names its public key by fingerprint: the committed public.json beside it.
    return int(public[document["public_fingerprint"]], 16).bit_length()


def test_no_private_key_is_committed_and_key_files_are_ignored():
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    private_formats = (
        "evoting/paillier-private-key/v1",
        "evoting/paillier-private-key-encrypted/v1",
        "evoting/trustee-share/v1",
        "evoting/trustee-share-sealed/v1",
    )
    documents = {}
    for name in filter(None, listed.stdout.decode().split("\0")):
        path = PROJECT_ROOT / name
        if path.suffix == ".json" and path.is_file():
            document = json.loads(path.read_text())
            if isinstance(document, dict):
                documents[path] = document
    public = {
        document["fingerprint"]: document["n"]
        for document in documents.values()
        if document.get("format") == "evoting/trustee-public-key/v1"
    }
    for path, document in documents.items():
        if document.get("format") in private_formats:
            # Only test fixtures, whose keys no real election would accept.
            assert path.is_relative_to(PROJECT_ROOT / "tests"), path
            assert _modulus_bits(path, document, public) < crypto.MIN_KEY_BITS, path
    for candidate in ("var/demo-election.key.json", "election-council.key.json", "var/x"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", candidate], cwd=PROJECT_ROOT, check=False
        )
        assert ignored.returncode == 0, candidate


# --- Load and faults on the real server (gunicorn on loopback) ---------------------------

LIVE_PASSWORD = "live threat voter password 3"
LIVE_BITS = 2048  # other processes do not see the tests' small-key switch
LIVE_CANDIDATES = ("Ada", "Grace")
CALL_TIMEOUT = 120.0

STATE_SCRIPT = """
import json, os
from elections import services
from elections.models import Election, EncryptedTally
election = Election.objects.get(slug=os.environ["LIVE_SLUG"])
tally = EncryptedTally.objects.get(election=election)
product, count = services.product_of_ballots(election, services.election_params(election))
print(json.dumps({
    "status": election.status,
    "sequences": list(election.ballots.order_by("sequence").values_list("sequence", flat=True)),
    "tally_count": tally.ballot_count,
    "product_count": count,
    "tally_is_product": [int(c, 16) for c in tally.ciphertexts] == product,
}))
"""

RECORD_SCRIPT = """
import io, json, os
from elections.models import Election
from elections.record import stream_record
from elections.verify import verify_record
election = Election.objects.get(slug=os.environ["LIVE_SLUG"])
text = "".join(stream_record(election))
report = verify_record(io.BytesIO(text.encode()))
print(json.dumps({"exit_code": report.exit_code}))
"""


@dataclass
class Live:
    site: LiveSite
    env: dict[str, str]
    folder: Path
    workers: int
    database: SiteDatabase
    keys: Path


@pytest.fixture(scope="module")
def live_sites(tmp_path_factory) -> Iterator[Callable[[str], Live]]:
    """The live site on a given database, started when first asked for, stopped at the end.

    Election keys are shared by both databases, so a test run on the second one
    sets up the same election and reuses the ballots made for the first.
    """
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the gunicorn workers")
    keys = tmp_path_factory.mktemp("threat-keys")
    sites: dict[str, Live] = {}
    with ExitStack() as stack:

        def site_on(backend: str) -> Live:
            if backend not in sites:
                folder = tmp_path_factory.mktemp(f"threat-live-{backend}")
                database = stack.enter_context(site_database(backend, folder))
                env = site_env(database.url)
                migrate(env)
                workers = 2
                site = stack.enter_context(
                    gunicorn_site(env, workers=workers, threads=4, log=folder / "gunicorn.log")
                )
                sites[backend] = Live(site, env, folder, workers, database, keys)
            return sites[backend]

        yield site_on


@pytest.fixture
def live(live_sites) -> Live:
    return live_sites("sqlite")


def live_election(
    live: Live,
    slug: str,
    voters: Sequence[str],
    *,
    ballot_boxes: int = 1,
    allow_revoting: bool = False,
) -> LiveElection:
    return set_up_election(
        live.env,
        slug=slug,
        candidates=LIVE_CANDIDATES,
        voters=voters,
        session_voters=voters,
        password=LIVE_PASSWORD,
        bits=LIVE_BITS,
        key_path=live.keys / f"{slug}.key",
        public_key_path=live.keys / f"{slug}.public.json",
        ballot_boxes=ballot_boxes,
        allow_revoting=allow_revoting,
    )


def live_state(live: Live, slug: str) -> dict[str, Any]:
    output = run_django({**live.env, "LIVE_SLUG": slug}, STATE_SCRIPT)
    result = json.loads(output.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


def record_exit_code(live: Live, slug: str) -> int:
    output = run_django({**live.env, "LIVE_SLUG": slug}, RECORD_SCRIPT, timeout=600)
    return int(json.loads(output.strip().splitlines()[-1])["exit_code"])


def browsers_for(live: Live, election: LiveElection, voters: Sequence[str]) -> list[Browser]:
    browsers = []
    for name in voters:
        browser = Browser(live.site, timeout=CALL_TIMEOUT)
        browser.adopt_session(election.sessions[name])
        browsers.append(browser)
    return browsers


def random_choices(count: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[1, 0] if rng.random() < 0.5 else [0, 1] for _ in range(count)]


def worker_pids(master: int) -> set[int]:
    """The processes whose parent is the gunicorn master."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces; the parent follows it.
        after_name = stat[stat.rindex(")") + 2 :].split()
        if int(after_name[1]) == master:
            pids.add(int(entry.name))
    return pids


def wait_for_workers(live: Live, *, excluding: set[int], timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(live.site.process.pid) - excluding
        if len(pids) >= live.workers:
            return pids
        time.sleep(0.05)
    raise RuntimeError("gunicorn did not replace its killed worker")


def cast_or_none(browser: Browser, slug: str, ballot: str) -> Response | None:
    """The server's answer, or None when the connection died with the worker."""
    try:
        return browser.cast(slug, ballot)
    except (OSError, http.client.HTTPException):
        return None


def totals(choices: Sequence[Sequence[int]]) -> list[int]:
    return [sum(column) for column in zip(*choices, strict=True)] if choices else [0, 0]


def all_at_once(slug: str, pairs: Sequence[tuple[Browser, str]]) -> list[Response]:
    """Cast every (browser, ballot) pair from its own thread, released together."""
    start = threading.Barrier(len(pairs), timeout=CALL_TIMEOUT)

    def cast(pair: tuple[Browser, str]) -> Response:
        start.wait()
        return pair[0].cast(slug, pair[1])

    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        return list(pool.map(cast, pairs))


@pytest.mark.slow
def test_hundreds_of_voters_at_once_are_all_counted_exactly_once(live: Live):
    voters = [f"throng-{i:03}" for i in range(300)]
    election = live_election(live, "throng", voters)
    browsers = browsers_for(live, election, voters)
    choices = random_choices(len(voters), seed=11)
    ballots = make_ballots(
        election.params_json,
        [(election.contexts[v], c) for v, c in zip(voters, choices, strict=True)],
    )
    responses = all_at_once(election.slug, list(zip(browsers, ballots, strict=True)))

    statuses = [r.status for r in responses]
    assert statuses == [201] * len(voters), sorted(set(statuses))
    assert sorted(r.json()["sequence"] for r in responses) == list(range(1, len(voters) + 1))
    audit = close_and_count(live.env, election)
    board = audit["board"]
    assert isinstance(board, list)
    assert {voter: tracker for _, voter, tracker in board} == {
        voter: r.json()["tracker"] for voter, r in zip(voters, responses, strict=True)
    }
    assert audit["tally_is_product"] is True
    assert audit["tally_count"] == audit["product_count"] == len(voters)
    assert audit["counts"] == totals(choices)


@pytest.mark.slow
def test_fifty_ballots_of_one_voter_at_once_count_once(live: Live):
    election = live_election(live, "fifty", ["keen-voter"])
    (browser,) = browsers_for(live, election, ["keen-voter"])
    choices = random_choices(50, seed=13)
    context = election.contexts["keen-voter"]
    ballots = make_ballots(election.params_json, [(context, c) for c in choices])

    responses = all_at_once(election.slug, [(browser, ballot) for ballot in ballots])

    assert sorted(r.status for r in responses) == [201] + [409] * 49, {r.status for r in responses}
    assert all("already voted" in r.json()["error"] for r in responses if r.status == 409)
    winner = next(i for i, r in enumerate(responses) if r.status == 201)
    audit = close_and_count(live.env, election)
    assert audit["board"] == [[1, "keen-voter", responses[winner].json()["tracker"]]]
    assert audit["tally_is_product"] is True
    assert audit["tally_count"] == audit["product_count"] == 1
    assert audit["counts"] == choices[winner]


# A transaction other than the probe's that has written to the ballots table and not
# ended: INSERT (and DELETE) take this lock on the table and keep it until then.
BALLOT_WRITE_IN_FLIGHT = """
SELECT 1 FROM pg_locks
WHERE locktype = 'relation' AND relation = 'elections_ballot'::regclass
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND mode = 'RowExclusiveLock' AND granted AND pid <> pg_backend_pid()
LIMIT 1
"""


@contextmanager
def write_in_flight_probe(database: SiteDatabase) -> Iterator[Callable[[], bool]]:
    """A check of whether some transaction is writing to the database at this instant.

    Casts are the only writers during the kill test, so a write in flight is a worker
    between storing a ballot and committing it. SQLite: its one write lock cannot be
    taken. PostgreSQL, where many writers proceed at once: a transaction holds the
    lock its INSERT took on the ballots table.
    """
    if database.sqlite_path is not None:
        probe = sqlite3.connect(database.sqlite_path, timeout=0, isolation_level=None)

        def sqlite_write_in_flight() -> bool:
            try:
                probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            probe.execute("ROLLBACK")
            return False

        try:
            yield sqlite_write_in_flight
        finally:
            probe.close()
        return
    with psycopg.connect(database.url, autocommit=True) as connection:
        yield lambda: connection.execute(BALLOT_WRITE_IN_FLIGHT).fetchone() is not None


def kill_workers_holding_the_write_lock(live: Live, *, timeout: float) -> bool:
    """SIGKILL every worker at a moment when one of them is inside a cast's transaction.

    Returns False if no such moment came within ``timeout``.
    """
    with write_in_flight_probe(live.database) as write_in_flight:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if write_in_flight():
                for pid in worker_pids(live.site.process.pid):
                    os.kill(pid, signal.SIGKILL)
                return True
            time.sleep(0.0005)
        return False


def cast_in_waves_killing_mid_write(
    live: Live, slug: str, browsers: Sequence[Browser], ballots: Sequence[str], *, waves: int
) -> tuple[list[Response | None], int]:
    """Send the casts in waves; in each, kill every worker while one is mid-write.

    Returns each cast's answer (None when its connection died) and how many waves
    caught a worker inside a cast's transaction.
    """
    answers: list[Response | None] = [None] * len(ballots)
    hits = 0
    size = -(-len(ballots) // waves)
    for first in range(0, len(ballots), size):
        wave = range(first, min(first + size, len(ballots)))
        answered = threading.Semaphore(0)

        def cast(index: int, answered: threading.Semaphore = answered) -> Response | None:
            try:
                return cast_or_none(browsers[index], slug, ballots[index])
            finally:
                answered.release()

        with ThreadPoolExecutor(max_workers=len(wave)) as pool:
            futures = {index: pool.submit(cast, index) for index in wave}
            for _ in range(3):  # some ballots through, the rest of the wave in flight
                assert answered.acquire(timeout=CALL_TIMEOUT)
            before = worker_pids(live.site.process.pid)
            if kill_workers_holding_the_write_lock(live, timeout=20):
                hits += 1
                wait_for_workers(live, excluding=before)
            for index, future in futures.items():
                answers[index] = future.result(timeout=CALL_TIMEOUT)
    return answers, hits


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_workers_killed_mid_cast_leave_no_ballot_outside_the_tally(live_sites, backend):
    live = live_sites(backend)
    voters = [f"doomed-{i:03}" for i in range(120)]
    election = live_election(live, "doomed", voters)
    browsers = browsers_for(live, election, voters)
    choices = random_choices(len(voters), seed=12)
    ballots = make_ballots(
        election.params_json,
        [(election.contexts[v], c) for v, c in zip(voters, choices, strict=True)],
    )

    first, hits = cast_in_waves_killing_mid_write(live, election.slug, browsers, ballots, waves=3)

    assert hits >= 1, "no kill caught a worker inside a cast's transaction"
    assert any(r is None for r in first), "no cast died with its worker"
    for response in first:
        assert response is None or response.status in (201, 503), response
    # While the election is still open, every stored ballot is already in the tally.
    state = live_state(live, election.slug)
    assert state["status"] == "open"
    assert state["sequences"] == list(range(1, len(state["sequences"]) + 1))
    assert state["tally_is_product"] is True
    assert state["tally_count"] == state["product_count"] == len(state["sequences"])

    # Voters whose answer was lost send the same ballot again: it is either already there
    # (409) or was never stored (201 now); nobody is refused for any other reason.
    on_board: dict[str, str] = {}
    for i, response in enumerate(first):
        if response is not None and response.status == 201:
            on_board[voters[i]] = response.json()["tracker"]
            continue
        again = browsers[i].cast(election.slug, ballots[i])
        assert again.status in (201, 409), again.body
        if again.status == 201:
            on_board[voters[i]] = again.json()["tracker"]
        else:
            assert "already voted" in again.json()["error"]
            params = crypto.params_from_json(election.params_json)
            on_board[voters[i]] = crypto.ballot_tracker(
                crypto.parse_ballot(params, ballots[i]), params
            )
    assert len(on_board) == len(voters)

    audit = close_and_count(live.env, election)
    board = audit["board"]
    assert isinstance(board, list)
    assert [sequence for sequence, _, _ in board] == list(range(1, len(voters) + 1))
    assert {voter: tracker for _, voter, tracker in board} == on_board
    assert audit["tally_is_product"] is True
    assert audit["tally_count"] == audit["product_count"] == len(voters)
    assert audit["counts"] == totals(choices)
    assert record_exit_code(live, election.slug) == 0


@pytest.mark.slow
def test_a_huge_declared_body_is_refused_before_it_is_sent(live: Live):
    voters = ["heavy-voter"]
    election = live_election(live, "heavy", voters)
    (browser,) = browsers_for(live, election, voters)
    connection = http.client.HTTPConnection(live.site.host, live.site.port, timeout=30)
    try:
        connection.putrequest("POST", f"/elections/{election.slug}/cast/")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(10 * 1024 * 1024))
        connection.putheader("X-CSRFToken", browser.cookies["csrftoken"])
        cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        connection.putheader("Cookie", cookies)
        connection.endheaders(b"{")  # one byte of the announced ten megabytes
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 413
    assert "too large" in body["error"]
    state = live_state(live, election.slug)
    assert state["sequences"] == [] and state["tally_count"] == 0
