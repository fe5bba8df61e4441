"""The cast path's queries find their rows by index: none walks an election's ballots.

Otherwise every cast would cost more with every ballot already on the board. Read
from SQLite's query plans, on a real database, for a real cast over HTTP.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from elections import services
from tests.elections.conftest import make_ballot

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans"),
]


def cast(election, voter, selections):
    return services.cast_ballot(
        election=election, voter=voter, payload=make_ballot(election, voter, selections)
    )


def ballot_walks(queries):
    """The queries whose SQLite plan walks an election's ballots instead of looking some up."""
    walks = []
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or "elections_ballot" not in sql:
                continue
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            for *_, step in cursor.fetchall():
                whole_board = re.fullmatch(
                    r"SEARCH elections_ballot USING (COVERING )?INDEX \S+ \(election_id=\?\)", step
                )
                if step.startswith("SCAN elections_ballot") or whole_board:
                    walks.append((sql, step))
    return walks


def test_a_cast_looks_ballots_up_by_index_and_never_walks_the_board(
    open_election, make_user, client
):
    # Otherwise every cast would cost more with every ballot already on the board: an
    # ordering by board position made the database walk them to find one voter's.
    election = open_election.election
    for name in ("v1", "v2"):
        cast(election, make_user(name), [1, 0, 0])
    voter = make_user("v3")
    client.force_login(voter)
    payload = make_ballot(election, voter, [0, 1, 0])
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            reverse("elections:cast", kwargs={"slug": election.slug}),
            payload,
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        assert client.get(reverse("elections:list")).status_code == 200
    assert not ballot_walks(queries.captured_queries)
