"""The trustee page and its endpoint: a partial decryption arrives as JSON, checked like
an upload, and nothing else (a share, a form, an oversized body, a flood) is taken."""

import json

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry
from elections import services
from elections.models import Status, TrusteeDecryption
from elections.trustee.files import dump_share
from elections.trustee_views import ATTEMPTS_PER_WINDOW

from .test_trustees import (  # noqa: F401 (fixtures)
    closed_trustee_election,
    closed_two_of_three,
    trustee_draft,
)


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def page_url(election) -> str:
    return reverse("elections:trustee", args=[election.slug])


def submit_url(election) -> str:
    return reverse("elections:trustee_partial", args=[election.slug])


def post_json(client: Client, election, body: bytes, **extra):
    return client.post(submit_url(election), body, content_type="application/json", **extra)


def test_the_page_gives_the_public_key_and_the_worker_but_takes_nothing(closed_two_of_three):  # noqa: F811
    election = closed_two_of_three.election
    page = Client().get(page_url(election))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Any 2 of the 3 trustees" in html and "None received yet." in html
    assert "elections/js/trustee-worker.js" in html and "elections/js/trustee.js" in html
    key = json.loads(
        html.split('id="trustee-public-key" type="application/json">')[1].split("<")[0]
    )
    assert key == election.trustee_key
    assert reverse("elections:tally_json", args=[election.slug]) in html
    # The page's form has no action and no file field name: nothing is posted by it.
    assert 'name="share' not in html and '<form id="trustee-form" class="form">' in html


def test_a_valid_partial_is_stored_and_the_page_says_so(closed_two_of_three):  # noqa: F811
    world = closed_two_of_three
    client = Client(enforce_csrf_checks=True)
    refused = post_json(client, world.election, world.partial(2))
    assert refused.status_code == 403  # no CSRF token: the page's own token is needed
    token = client.get(page_url(world.election)).cookies["csrftoken"].value
    response = post_json(client, world.election, world.partial(2), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
    assert response.json() == {"trustee": 2, "stored": 1, "threshold": 2}
    assert list(TrusteeDecryption.objects.values_list("trustee", flat=True)) == [2]
    again = post_json(client, world.election, world.partial(2), HTTP_X_CSRFTOKEN=token)
    assert again.status_code == 409 and "Trustee 2 has already submitted" in again.json()["error"]
    html = client.get(page_url(world.election)).content.decode()
    assert "Received so far from trustee 2." in html


def test_a_wrong_proof_is_refused_naming_the_trustee(closed_two_of_three):  # noqa: F811
    world = closed_two_of_three
    document = json.loads(world.partial(3))
    value = document["partials"][1]["value"]
    document["partials"][1]["value"] = value[:-1] + ("1" if value[-1] != "1" else "3")
    response = post_json(Client(), world.election, json.dumps(document).encode())
    assert response.status_code == 400
    assert "trustee 3" in response.json()["error"]
    assert not TrusteeDecryption.objects.exists()


def test_a_share_sent_by_mistake_is_refused_and_audited(closed_two_of_three):  # noqa: F811
    world = closed_two_of_three
    share = dump_share(world.public, world.shares[0], passphrase=None)
    response = post_json(Client(), world.election, share)
    assert response.status_code == 400 and "key share" in response.json()["error"]
    assert AuditEntry.objects.filter(action="elections.trustee.share_refused").count() == 1
    assert not TrusteeDecryption.objects.exists()
    stored = json.dumps([e.data for e in AuditEntry.objects.all()])
    assert json.loads(share)["share"] not in stored


def test_bodies_that_are_not_a_partial_decryption(closed_two_of_three):  # noqa: F811
    world = closed_two_of_three
    client = Client()
    form = client.post(submit_url(world.election), {"partial": world.partial(1).decode()})
    assert form.status_code == 415 and "A partial decryption must be sent" in form.json()["error"]
    huge = post_json(client, world.election, b"{" + b" " * (3 * 1024 * 1024) + b"}")
    assert huge.status_code == 413
    for body in (b"", b"not json", b"[]", b'{"format": "evoting/partial-decryption/v1"}'):
        response = post_json(client, world.election, body)
        assert 400 <= response.status_code < 500 and response.json()["error"]
    assert client.get(submit_url(world.election)).status_code == 405
    assert not TrusteeDecryption.objects.exists()


def test_a_flood_of_attempts_is_cut_off_before_any_proof_is_checked(closed_two_of_three):  # noqa: F811
    world = closed_two_of_three
    client = Client()
    for _ in range(ATTEMPTS_PER_WINDOW):
        assert post_json(client, world.election, b"{}").status_code == 400
    response = post_json(client, world.election, world.partial(1))
    assert response.status_code == 429 and "Too many" in response.json()["error"]
    assert not TrusteeDecryption.objects.exists()


def test_the_page_exists_only_between_close_and_publication(open_election, closed_trustee_election):  # noqa: F811
    assert Client().get(page_url(open_election.election)).status_code == 409
    world = closed_trustee_election
    world.submit(1, 2, 3)
    services.publish_with_trustees(election=world.election, actor=None)
    assert world.election.__class__.objects.get(pk=world.election.pk).status == Status.PUBLISHED
    published = Client().get(page_url(world.election))
    assert published.status_code == 200 and b"no more partial decryptions" in published.content
    late = post_json(Client(), world.election, world.partial(4))
    assert late.status_code == 409


def test_a_single_key_election_has_no_trustee_page(open_election):
    election = open_election.election
    services.close_election(election=election, actor=None)
    response = Client().get(page_url(election))
    assert response.status_code == 409 and b"no trustees" in response.content
