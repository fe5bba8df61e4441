"""Cast or audit: an audited ballot opens to its choices, is published without a voter,
is never counted, and can never be cast afterwards."""

import dataclasses
import json

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry
from elections import crypto, services
from elections.crypto.encoding import int_to_hex
from elections.models import AuditedBallot, Ballot, EncryptedTally

pytestmark = pytest.mark.django_db

BLANK_QUESTIONS = [
    {"title": "Chair", "options": ["Ada", "Grace", "Alan"]},
    {"title": "Meet online?", "options": ["Yes", "No"], "allow_blank": True},
]


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def encrypted(election, voter, selections):
    """A ballot as the booth makes it, with what it would reveal on an audit."""
    params = services.election_params(election)
    pre = crypto.client.precompute_ballot(params, services.voter_context(election, voter))
    ballot = crypto.client.finish_ballot(pre, selections)
    return params, ballot, crypto.audit_ballot(pre, ballot, selections)


def audited_json(election, voter, selections) -> str:
    return encrypted(election, voter, selections)[2].to_json()


@pytest.fixture
def assembly(make_election, admin_user):
    election = make_election("assembly", questions=BLANK_QUESTIONS)
    services.generate_keys(election=election, actor=admin_user, bits=1024)
    services.open_election(election=election, actor=admin_user)
    return election


def audit_url(election) -> str:
    return reverse("elections:audit", args=[election.slug])


def post(client: Client, election, body: str | bytes):
    return client.post(audit_url(election), body, content_type="application/json")


# --- The document --------------------------------------------------------------------


def test_an_audited_ballot_opens_to_its_choices(assembly, voter):
    params, ballot, audited = encrypted(assembly, voter, [0, 1, 0, 0, 0, 1])
    checked = crypto.check_audited_ballot(params, audited.to_json())
    assert checked.choices == (0, 1, 0, 0, 0, 1)
    assert checked.tracker == crypto.ballot_tracker(ballot, params)
    assert checked.chosen_slots() == [1, 5]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["choices"].__setitem__(0, "1"), "question 1, option 1: the ciphertext is not"),
        (lambda d: d["choices"].__setitem__(5, "0"), "question 2, blank: the ciphertext is not"),
        (
            lambda d: d["randomness"].__setitem__(3, int_to_hex(int(d["randomness"][3], 16) + 1)),
            "question 2, option 1: the ciphertext is not",
        ),
        (lambda d: d.__setitem__("tracker", "0" * 64), "the tracker is not the SHA-256"),
        (lambda d: d.__setitem__("params_fingerprint", "1" * 64), "other election parameters"),
        (lambda d: d.__setitem__("election_id", "someone-else"), "another election"),
        (lambda d: d["choices"].__setitem__(0, "2"), "must be 0 or 1"),
        (lambda d: d.__setitem__("extra", "1"), "audited ballot"),
        (lambda d: d["randomness"].pop(), "one per slot"),
    ],
)
def test_a_changed_audited_ballot_is_refused_naming_the_check(assembly, voter, change, message):
    params, _, audited = encrypted(assembly, voter, [0, 1, 0, 0, 0, 1])
    document = json.loads(audited.to_json())
    change(document)
    with pytest.raises(crypto.InvalidAudit, match=message):
        crypto.check_audited_ballot(params, json.dumps(document))


def test_revealed_choices_must_obey_the_rules(assembly, voter):
    """A device that encrypted two chairs and a blank: its own audit exposes it."""
    params, ballot, audited = encrypted(assembly, voter, [1, 0, 0, 0, 0, 1])
    choices = (1, 1, 0, 0, 1, 1)
    n, n_square = params.n, params.n_square
    ciphertexts = tuple(
        (1 + m * n) * pow(r, n, n_square) % n_square
        for m, r in zip(choices, audited.randomness, strict=True)
    )
    forged_ballot = dataclasses.replace(ballot, ciphertexts=ciphertexts)
    forged = crypto.AuditedBallot(
        params,
        crypto.ballot_tracker(forged_ballot, params),
        forged_ballot,
        choices,
        audited.randomness,
    )
    with pytest.raises(crypto.InvalidAudit, match="break a rule: question 1: select between 1"):
        crypto.check_audited_ballot(params, forged.to_json())


# --- Posting --------------------------------------------------------------------------


def test_a_voter_audits_and_the_ballot_is_listed_without_them(assembly, voter, login_as):
    client = login_as(voter)
    body = audited_json(assembly, voter, [0, 0, 1, 0, 0, 1])
    response = post(client, assembly, body)
    assert response.status_code == 201
    tracker = json.loads(body)["tracker"]
    assert response.json() == {"tracker": tracker, "url": audit_url(assembly) + f"#audit-{tracker}"}
    stored = AuditedBallot.objects.get()
    assert stored.content == body and stored.tracker == tracker
    # Never counted, never on the board, no voter anywhere.
    assert not Ballot.objects.exists()
    assert EncryptedTally.objects.get(election=assembly).ballot_count == 0
    entry = AuditEntry.objects.get(action="elections.ballot.audited")
    assert entry.actor is None and entry.data == {"tracker": tracker}
    page = Client().get(audit_url(assembly)).content.decode()
    assert f'id="audit-{tracker}"' in page
    assert (
        "<dt>Chair</dt><dd>Alan</dd>" in page and "<dt>Meet online?</dt><dd>blank vote</dd>" in page
    )
    assert voter.username not in page
    download = Client().get(reverse("elections:audited_json", args=[assembly.slug, tracker]))
    assert download.status_code == 200 and download.content.decode() == body


def test_an_audited_ballot_can_never_be_cast(assembly, voter, login_as):
    params, ballot, audited = encrypted(assembly, voter, [1, 0, 0, 1, 0, 0])
    assert post(login_as(voter), assembly, audited.to_json()).status_code == 201
    with pytest.raises(services.InvalidBallotError, match="audited"):
        services.cast_ballot(
            election=assembly, voter=voter, payload=crypto.ballot_to_json(ballot, params)
        )
    assert not Ballot.objects.exists()


def test_a_cast_ballot_cannot_be_audited_and_a_voter_who_voted_cannot_audit(
    assembly, voter, make_user, login_as
):
    params, ballot, audited = encrypted(assembly, voter, [1, 0, 0, 1, 0, 0])
    services.cast_ballot(
        election=assembly, voter=voter, payload=crypto.ballot_to_json(ballot, params)
    )
    refused = post(login_as(voter), assembly, audited.to_json())
    assert refused.status_code == 409 and "already voted" in refused.json()["error"]
    other = make_user("other_voter")
    relayed = post(login_as(other), assembly, audited.to_json())
    assert relayed.status_code == 409 and "on the board" in relayed.json()["error"]
    assert not AuditedBallot.objects.exists()


def test_refusals_store_nothing(assembly, voter, make_user, login_as, make_election):
    client = login_as(voter)
    body = audited_json(assembly, voter, [0, 1, 0, 0, 1, 0])
    document = json.loads(body)
    document["choices"][1] = "0"
    wrong = post(client, assembly, json.dumps(document))
    assert wrong.status_code == 400 and "question 1, option 2" in wrong.json()["error"]
    assert (
        Client().post(audit_url(assembly), body, content_type="application/json").status_code == 401
    )
    form = client.post(audit_url(assembly), {"ballot": body})
    assert form.status_code == 415
    huge = post(client, assembly, "{" + " " * 400_000 + "}")
    assert huge.status_code == 413
    assert post(client, assembly, "not json").status_code == 400
    assert post(client, assembly, body).status_code == 201
    assert post(client, assembly, body).status_code == 409  # the same ballot twice
    outsider = make_user("outsider", approved=False)
    assert post(login_as(outsider), assembly, body).status_code == 403
    assert AuditedBallot.objects.count() == 1


def test_audits_are_limited_per_voter(assembly, voter, login_as):
    client = login_as(voter)
    body = audited_json(assembly, voter, [1, 0, 0, 1, 0, 0])
    for _ in range(services.AUDIT_LIMIT):
        post(client, assembly, "{}")
    response = post(client, assembly, body)
    assert response.status_code == 429
    assert not AuditedBallot.objects.exists()


def test_no_audit_outside_an_open_election(assembly, voter, login_as):
    body = audited_json(assembly, voter, [1, 0, 0, 1, 0, 0])
    services.close_election(election=assembly, actor=None)
    response = post(login_as(voter), assembly, body)
    assert response.status_code == 409
    assert Client().get(audit_url(assembly)).status_code == 200
    assert not AuditedBallot.objects.exists()


def test_a_reset_removes_the_audited_ballots(assembly, voter, login_as, admin_user):
    assert (
        post(
            login_as(voter), assembly, audited_json(assembly, voter, [1, 0, 0, 1, 0, 0])
        ).status_code
        == 201
    )
    services.reset_election(election=assembly, actor=admin_user)
    assert not AuditedBallot.objects.exists()
