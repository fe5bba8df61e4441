"""Casting against the real site under gunicorn, several processes and many clients at once.

Nothing here shares memory with the site: gunicorn workers serve a SQLite file or,
as truly concurrent writers, a PostgreSQL database; set-up, closing and counting
run in their own Python processes, and every voter is an HTTP client with its own
session. Afterwards every accepted ballot must be on the board exactly once, in
sequence, inside the tally, and the decrypted totals must be exactly the sum of the
accepted choices.
"""

import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .livesite import (
    Browser,
    LiveElection,
    LiveSite,
    Response,
    close_and_count,
    closer,
    gunicorn_site,
    make_ballots,
    migrate,
    set_up_election,
    site_database,
    site_env,
)

pytestmark = pytest.mark.slow

PASSWORD = "live site voter password 9"
BITS = 2048  # the production floor: other processes do not see the tests' small-key switch
CANDIDATES = ("Ada", "Grace")
CALL_TIMEOUT = 60.0


@dataclass
class Live:
    site: LiveSite
    env: dict[str, str]
    folder: Path
    keys: Path


@pytest.fixture(scope="module")
def election_keys(tmp_path_factory) -> Path:
    """Election keys shared by both databases, so the second one reuses the ballots."""
    return tmp_path_factory.mktemp("live-keys")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def live(request, tmp_path_factory, election_keys) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp(f"live-{request.param}")
    with site_database(request.param, folder) as database:
        env = site_env(database.url)
        migrate(env)
        with gunicorn_site(env, workers=3, log=folder / "gunicorn.log") as site:
            yield Live(site, env, folder, election_keys)


def election_with_voters(
    live: Live, slug: str, voters: Sequence[str], *, by_form: int
) -> tuple[LiveElection, list[Browser]]:
    """An open election; the first ``by_form`` voters sign in through the login form.

    The others get sessions created server-side (Argon2 makes each form login cost
    most of a second of CPU, which would swamp the test).
    """
    election = set_up_election(
        live.env,
        slug=slug,
        candidates=CANDIDATES,
        voters=voters,
        session_voters=voters[by_form:],
        password=PASSWORD,
        bits=BITS,
        key_path=live.keys / f"{slug}.key",
        public_key_path=live.keys / f"{slug}.public.json",
    )
    browsers = []
    for name in voters:
        browser = Browser(live.site)
        if name in election.sessions:
            browser.adopt_session(election.sessions[name])
        else:
            browser.login(name, PASSWORD)
        browsers.append(browser)
    return election, browsers


def one_choice(rng: random.Random) -> list[int]:
    return [1, 0] if rng.random() < 0.5 else [0, 1]


def cast_all_at_once(pairs: Sequence[tuple[Browser, str]], slug: str) -> list[Response]:
    """Cast every (browser, ballot) pair from its own thread, released together."""
    start = threading.Barrier(len(pairs), timeout=CALL_TIMEOUT)

    def cast(pair: tuple[Browser, str]) -> Response:
        start.wait()
        return pair[0].cast(slug, pair[1])

    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        futures = [pool.submit(cast, pair) for pair in pairs]
        return [future.result(timeout=CALL_TIMEOUT) for future in futures]


def totals(choices: Sequence[Sequence[int]]) -> list[int]:
    return [sum(column) for column in zip(*choices, strict=True)] if choices else [0, 0]


def assert_board_is_exactly(
    audit: dict[str, object], accepted: Mapping[str, tuple[Response, Sequence[int]]]
) -> None:
    board = audit["board"]
    assert isinstance(board, list)
    assert [sequence for sequence, _, _ in board] == list(range(1, len(accepted) + 1))
    by_voter = {voter: (sequence, tracker) for sequence, voter, tracker in board}
    assert len(by_voter) == len(board)  # nobody twice
    assert set(by_voter) == set(accepted)
    for voter, (response, _) in accepted.items():
        answer = response.json()
        assert (answer["sequence"], answer["tracker"]) == by_voter[voter]
    assert audit["tally_is_product"] is True
    assert audit["tally_count"] == audit["product_count"] == len(accepted)
    assert audit["counts"] == totals([choice for _, choice in accepted.values()])


def test_many_voters_at_once_are_all_counted(live):
    rng = random.Random(1)
    voters = [f"crowd-{i:02}" for i in range(40)]
    election, browsers = election_with_voters(live, "crowd", voters, by_form=2)
    choices = [one_choice(rng) for _ in voters]
    ballots = make_ballots(
        election.params_json,
        [(election.contexts[v], c) for v, c in zip(voters, choices, strict=True)],
    )

    responses = cast_all_at_once(list(zip(browsers, ballots, strict=True)), election.slug)

    assert [r.status for r in responses] == [201] * len(voters), [r.body for r in responses]
    assert sorted(r.json()["sequence"] for r in responses) == list(range(1, 41))
    audit = close_and_count(live.env, election)
    assert_board_is_exactly(
        audit,
        {v: (r, c) for v, r, c in zip(voters, responses, choices, strict=True)},
    )


def test_one_voter_casting_many_times_at_once_is_counted_once(live):
    rng = random.Random(2)
    election, (browser,) = election_with_voters(live, "eager", ["eager-voter"], by_form=1)
    choices = [one_choice(rng) for _ in range(20)]
    context = election.contexts["eager-voter"]
    ballots = make_ballots(election.params_json, [(context, c) for c in choices])

    responses = cast_all_at_once([(browser, ballot) for ballot in ballots], election.slug)

    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [409] * 19, [r.body for r in responses]
    refused = [r.json() for r in responses if r.status == 409]
    assert all("already voted" in str(answer["error"]) for answer in refused)
    winner = next(i for i, r in enumerate(responses) if r.status == 201)
    audit = close_and_count(live.env, election)
    assert_board_is_exactly(audit, {"eager-voter": (responses[winner], choices[winner])})


def test_closing_while_casts_are_in_flight_loses_nothing(live):
    rng = random.Random(3)
    voters = [f"late-{i:02}" for i in range(40)]
    election, browsers = election_with_voters(live, "closing", voters, by_form=0)
    choices = [one_choice(rng) for _ in voters]
    ballots = make_ballots(
        election.params_json,
        [(election.contexts[v], c) for v, c in zip(voters, choices, strict=True)],
    )
    in_flight, after_close = 30, 10
    answered = threading.Semaphore(0)

    def cast(index: int) -> Response:
        response = browsers[index].cast(election.slug, ballots[index])
        answered.release()
        return response

    with closer(live.env, election.slug) as close_now, ThreadPoolExecutor(in_flight) as pool:
        futures = [pool.submit(cast, i) for i in range(in_flight)]
        for _ in range(10):  # close once some ballots are through, with the rest in flight
            assert answered.acquire(timeout=CALL_TIMEOUT)
        close_now()
        first_wave = [future.result(timeout=CALL_TIMEOUT) for future in futures]
    second_wave = [browsers[i].cast(election.slug, ballots[i]) for i in range(in_flight, 40)]

    assert {r.status for r in first_wave} <= {201, 409}, [r.body for r in first_wave]
    assert sum(r.status == 201 for r in first_wave) >= 10
    assert [r.status for r in second_wave] == [409] * after_close
    accepted = {voters[i]: (r, choices[i]) for i, r in enumerate(first_wave) if r.status == 201}
    audit = close_and_count(live.env, election)
    assert_board_is_exactly(audit, accepted)
