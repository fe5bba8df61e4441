"""The "Verify this election" page: published elections only, the site's own scripts only."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from elections import services
from elections.models import Election

from .conftest import OpenElection


@pytest.fixture
def published(open_election: OpenElection, voter, ballot_for, admin_user) -> Election:
    election = open_election.election
    services.cast_ballot(
        election=election, voter=voter, payload=ballot_for(election, voter, [0, 1, 0])
    )
    services.close_election(election=election, actor=admin_user)
    services.decrypt_tally(
        election=election, key_file=open_election.key_file, passphrase=None, actor=admin_user
    )
    return election


def verify_url(election: Election) -> str:
    return reverse("elections:verify", args=[election.slug])


def test_anyone_may_verify_a_published_election(client: Client, published: Election):
    response = client.get(verify_url(published))
    assert response.status_code == 200
    page = response.content.decode()
    found = re.search(r'<script id="verifier-config" type="application/json">(.*?)</script>', page)
    assert found is not None
    assert json.loads(found.group(1)) == {
        "record": reverse("elections:record_json", args=[published.slug]),
        "worker": "/static/elections/js/verify-worker.js",
        "min_key_bits": 512,  # the test suite's floor; 2048 outside it
    }
    assert "/static/elections/js/verify-page.js" in page
    assert "Verify this election" in page


def test_the_page_runs_under_the_sites_policy(client: Client, published: Election):
    policy = client.get(verify_url(published))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    for name in ("script-src", "worker-src", "connect-src", "style-src"):
        assert directives[name] == "'self'", name
    assert "unsafe" not in policy


@pytest.mark.parametrize("phase", ["open", "closed"])
def test_an_election_before_publication_is_refused(
    client: Client, open_election: OpenElection, admin_user, phase
):
    election = open_election.election
    if phase == "closed":
        services.close_election(election=election, actor=admin_user)
    response = client.get(verify_url(election))
    assert response.status_code == 409
    assert "once its results are published" in response.content.decode()


def test_a_draft_or_unknown_election_is_not_found(client: Client, draft_election, admin_user):
    client.force_login(admin_user)
    assert client.get(verify_url(draft_election)).status_code == 404
    missing = reverse("elections:verify", args=["no-such-election"])
    assert client.get(missing).status_code == 404


def test_the_page_only_reads(client: Client, published: Election):
    assert client.post(verify_url(published)).status_code == 405
