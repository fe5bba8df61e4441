"""Faults in the middle of a load, against the real site: workers killed, the database restarted.

Whatever fails, afterwards every acknowledged ballot (201) is stored and counted
exactly once, no unacknowledged ballot counts, each box's tally equals the product
of its ballots and the record verifies. A voter whose cast failed got a 503 telling
them to send it again, or lost the connection with the worker that was killed; when
they do send it again, the site either stores it now or shows it was already stored.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from elections import crypto
from evoting.middleware import MESSAGE as UNAVAILABLE_MESSAGE
from evoting.middleware import RETRY_AFTER_SECONDS

from .livesite import (
    Browser,
    LiveElection,
    Response,
    SiteDatabase,
    close_and_count,
    free_port,
    gunicorn_site,
    make_ballots,
    migrate,
    postgres_server_url,
    run_django,
    site_database,
    site_env,
)
from .test_threat_cases import (
    CALL_TIMEOUT,
    Live,
    browsers_for,
    cast_or_none,
    kill_workers_holding_the_write_lock,
    live_election,
    live_sites,  # noqa: F401 - the module's live sites, one per database
    random_choices,
    record_exit_code,
    totals,
    wait_for_workers,
    worker_pids,
    write_in_flight_probe,
)

# The board and tallies of an open election with any number of boxes, read in a
# separate process while the site runs.
BOARD_SCRIPT = """
import json, os
from elections import ballot_box, services
from elections.models import Election
election = Election.objects.get(slug=os.environ["LIVE_SLUG"])
params = services.election_params(election)
tallies = ballot_box.box_tallies(election)
product, count = services.product_of_ballots(election, params)
ballots = election.ballots.select_related("voter").order_by("box", "sequence")
print(json.dumps({
    "status": election.status,
    "folded": {t.box: t.ballot_count for t in tallies},
    "tally_is_product": ballot_box.combined_totals(params, tallies) == product,
    "tally_count": sum(t.counted for t in tallies),
    "product_count": count,
    "ballots": [[b.box, b.sequence, b.voter.username, b.tracker, b.revision] for b in ballots],
}))
"""

# One voter's casts, sent one after the other (a second one replaces the first).
Job = Sequence[tuple[Browser, str]]

# The tests below run the same election (slug, voters, key), each on its own site,
# so the ballots encrypted for the first are reused by the others.
SLUG = "faults"
VOTERS = [f"voter-{i:03}" for i in range(80)]
FIRST_CHOICES = random_choices(len(VOTERS), seed=21)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fault-keys")


@dataclass
class Wave:
    """What one wave of casts met: its answers, and the casts unanswered when the fault struck."""

    answers: dict[int, list[Response | None]]
    in_flight_at_fault: int
    fault_hit_a_write: bool


def board_state(live: Live, slug: str) -> dict[str, Any]:
    output = run_django({**live.env, "LIVE_SLUG": slug}, BOARD_SCRIPT)
    result = json.loads(output.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


def assert_consistent_while_open(state: dict[str, Any]) -> None:
    """Every box's ballots are numbered without gaps and all folded into its tally."""
    assert state["status"] == "open"
    sequences: dict[int, list[int]] = {}
    for box, sequence, *_ in state["ballots"]:
        sequences.setdefault(box, []).append(sequence)
    for box, folded in state["folded"].items():
        assert sequences.get(int(box), []) == list(range(1, folded + 1)), box
    assert state["tally_is_product"] is True
    assert state["tally_count"] == state["product_count"]


def cast_in_waves(
    slug: str, jobs: Sequence[Job], *, waves: int, warm_up: int, fault: Callable[[], bool]
) -> list[Wave]:
    """Send the jobs in waves, one thread per voter; strike ``fault`` once in each wave.

    The fault strikes after ``warm_up`` answers of the wave, while the rest is in
    flight; it returns whether it caught a cast inside its transaction.
    """
    results = []
    size = -(-len(jobs) // waves)
    for first in range(0, len(jobs), size):
        wave = range(first, min(first + size, len(jobs)))
        answered = threading.Semaphore(0)

        def send(index: int, answered: threading.Semaphore = answered) -> list[Response | None]:
            answers = []
            for browser, ballot in jobs[index]:
                try:
                    answers.append(cast_or_none(browser, slug, ballot))
                finally:
                    answered.release()
            return answers

        with ThreadPoolExecutor(max_workers=len(wave)) as pool:
            futures = {index: pool.submit(send, index) for index in wave}
            for _ in range(warm_up):
                assert answered.acquire(timeout=CALL_TIMEOUT)
            in_flight = sum(not future.done() for future in futures.values())
            hit = fault()
            answers = {
                index: future.result(timeout=CALL_TIMEOUT) for index, future in futures.items()
            }
        results.append(Wave(answers, in_flight, hit))
    return results


def answers_by_voter(waves: Sequence[Wave]) -> list[list[Response | None]]:
    """Each job's answers, in the order of the jobs."""
    merged = {index: answers for wave in waves for index, answers in wave.answers.items()}
    return [merged[index] for index in range(len(merged))]


def assert_acknowledged_or_told_to_send_again(answer: Response | None) -> None:
    """A cast's first answer: stored (201), "send it again" (503), or a connection lost."""
    if answer is None or answer.status == 201:
        return
    assert answer.status == 503, (answer.status, answer.body[:2000])
    assert "send it again" in answer.json()["error"], answer.body


def tracker_of(election: LiveElection, ballot: str) -> str:
    params = crypto.params_from_json(election.params_json)
    return crypto.ballot_tracker(crypto.parse_ballot(params, ballot), params)


def server_errors_logged(live: Live) -> list[str]:
    log = live.folder / "gunicorn.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return [line for line in text.splitlines() if "Internal Server Error" in line]


def send_again(slug: str, pairs: Sequence[tuple[Browser, str]]) -> list[Response]:
    """The voters whose cast failed send the same ballot again, a few at a time."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda pair: pair[0].cast(slug, pair[1]), pairs))


# --- A PostgreSQL server of the test's own, to restart --------------------------------


@dataclass(frozen=True)
class PrivateServer:
    """A throwaway PostgreSQL server: restarting it disturbs nobody else's tests."""

    url: str
    data: Path
    log: Path
    pg_ctl: Path
    run_as: tuple[str, ...]

    def pg_ctl_run(self, *arguments: str, check: bool = True) -> None:
        done = subprocess.run(
            [*self.run_as, str(self.pg_ctl), *arguments, "-D", str(self.data)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"pg_ctl {arguments[0]} failed:\n{done.stdout}{done.stderr}")

    def restart(self) -> None:
        """Stop the server as an operator does (``-m fast``: sessions cut, work rolled back)."""
        self.pg_ctl_run("restart", "-m", "fast", "-w", "-t", "60", "-l", str(self.log))

    def wait_until_accepting(self, *, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2) as connection:
                    connection.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def postgres_binaries() -> Path | None:
    """The newest installed server's bin folder (Debian's layout), or None."""
    found = [
        path.parent
        for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if path.parts[-3].isdigit() and (path.parent / "pg_ctl").exists()
    ]
    return max(found, key=lambda folder: int(folder.parts[-2]), default=None)


@contextmanager
def private_postgres_server() -> Iterator[PrivateServer]:
    """Create and start a PostgreSQL server on a free loopback port; remove it afterwards.

    As root the server runs as the ``postgres`` user, as Debian's own clusters do.
    """
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql to start one")
    run_as: tuple[str, ...] = ()
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run a server as")
        run_as = ("runuser", "-u", "postgres", "--")
    home = Path(tempfile.mkdtemp(prefix="evoting-faults-pg-"))
    try:
        password = secrets.token_hex(16)
        password_file = home / "password"
        password_file.write_text(password)
        if owner is not None:
            for path in (home, password_file):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        data = home / "data"
        subprocess.run(
            [
                *run_as,
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "evoting",
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        password_file.unlink()
        port = free_port()
        server = PrivateServer(
            f"postgresql://evoting:{password}@127.0.0.1:{port}/postgres",
            data,
            home / "server.log",
            binaries / "pg_ctl",
            run_as,
        )
        options = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={home}"
        try:
            server.pg_ctl_run("start", "-w", "-t", "60", "-l", str(server.log), "-o", options)
            yield server
        finally:
            server.pg_ctl_run("stop", "-m", "immediate", "-w", check=False)
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def live_site_on(server: PrivateServer, folder: Path, keys: Path) -> Iterator[Live]:
    with site_database("postgresql", folder, server_url=server.url) as database:
        env = site_env(database.url)
        migrate(env)
        workers = 2
        with gunicorn_site(env, workers=workers, threads=4, log=folder / "gunicorn.log") as site:
            yield Live(site, env, folder, workers, database, keys)


def wait_for_a_write_in_flight(database: SiteDatabase, *, timeout: float) -> bool:
    with write_in_flight_probe(database) as write_in_flight:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if write_in_flight():
                return True
            time.sleep(0.0005)
    return False


# --- The database server restarted mid-load -----------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_restarted_mid_load_loses_and_doubles_nothing(tmp_path, keys):
    with private_postgres_server() as server, live_site_on(server, tmp_path, keys) as live:
        voters, choices = VOTERS, FIRST_CHOICES
        election = live_election(live, SLUG, voters, ballot_boxes=4)
        browsers = browsers_for(live, election, voters)
        ballots = make_ballots(
            election.params_json,
            [(election.contexts[v], c) for v, c in zip(voters, choices, strict=True)],
        )
        trackers = [tracker_of(election, ballot) for ballot in ballots]

        def restart_mid_write() -> bool:
            hit = wait_for_a_write_in_flight(live.database, timeout=10)
            server.restart()
            server.wait_until_accepting()
            return hit

        waves = cast_in_waves(
            election.slug,
            [[pair] for pair in zip(browsers, ballots, strict=True)],
            waves=3,
            warm_up=8,
            fault=restart_mid_write,
        )

        assert all(wave.in_flight_at_fault > 0 for wave in waves), "a restart missed the load"
        assert any(wave.fault_hit_a_write for wave in waves), "no restart caught a write"
        first = [answers[0] for answers in answers_by_voter(waves)]
        for answer in first:
            assert_acknowledged_or_told_to_send_again(answer)
        failed = [i for i, answer in enumerate(first) if answer is None or answer.status != 201]
        assert any(answer is not None and answer.status == 503 for answer in first)
        for i, answer in enumerate(first):
            if answer is not None and answer.status == 201:
                assert answer.json()["tracker"] == trackers[i]
        before = board_state(live, election.slug)
        assert_consistent_while_open(before)
        stored_before = {voter: tracker for _, _, voter, tracker, _ in before["ballots"]}

        answers_again = send_again(election.slug, [(browsers[i], ballots[i]) for i in failed])

        # A failed cast either stored nothing (the resend stores it now: 201), or its
        # commit went through and only the answer was lost to the restart (the resend
        # finds it: 409 "already voted"). Which one happened is read from the board as
        # it stood before the resends, so each 409 is a ballot that was on the board
        # and each 201 a ballot that was not: nothing unacknowledged is counted
        # without its voter having been told.
        for i, again in zip(failed, answers_again, strict=True):
            if voters[i] in stored_before:
                assert stored_before[voters[i]] == trackers[i]
                assert again.status == 409, (voters[i], again.status, again.body)
                assert "already voted" in again.json()["error"]
            else:
                assert again.status == 201, (voters[i], again.status, again.body)
                assert again.json()["tracker"] == trackers[i]
        assert server_errors_logged(live) == []

        audit = close_and_count(live.env, election)
        board = audit["ballots"]
        assert isinstance(board, list)
        assert sorted((voter, tracker) for _, _, voter, tracker, _ in board) == sorted(
            zip(voters, trackers, strict=True)
        )
        assert audit["tally_is_product"] is True
        assert audit["tally_count"] == audit["product_count"] == len(voters)
        assert audit["counts"] == totals(choices)
        assert record_exit_code(live, election.slug) == 0


# --- Workers killed mid-load, with several boxes and revoting -------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_workers_killed_repeatedly_with_boxes_and_revoting(
    live_sites,  # noqa: F811
    keys,
    backend,
):
    live = replace(live_sites(backend), keys=keys)
    voters = VOTERS
    election = live_election(live, SLUG, voters, ballot_boxes=4, allow_revoting=True)
    browsers = browsers_for(live, election, voters)
    # Every fifth voter changes their mind and casts the other choice in the same load.
    wanted = [[c] if i % 5 else [c, c[::-1]] for i, c in enumerate(FIRST_CHOICES)]
    made = iter(
        make_ballots(
            election.params_json,
            [(election.contexts[v], c) for v, cs in zip(voters, wanted, strict=True) for c in cs],
        )
    )
    ballots = [[next(made) for _ in cs] for cs in wanted]
    trackers = [[tracker_of(election, ballot) for ballot in own] for own in ballots]

    def kill_mid_write() -> bool:
        before = worker_pids(live.site.process.pid)
        hit = kill_workers_holding_the_write_lock(live, timeout=20)
        if hit:
            wait_for_workers(live, excluding=before)
        return hit

    jobs = [[(browsers[i], ballot) for ballot in own] for i, own in enumerate(ballots)]
    waves = cast_in_waves(election.slug, jobs, waves=3, warm_up=3, fault=kill_mid_write)

    assert sum(wave.fault_hit_a_write for wave in waves) >= 2, "kills missed the writes"
    answers = answers_by_voter(waves)
    assert any(answer is None for own in answers for answer in own), "no cast died"
    for own, own_trackers in zip(answers, trackers, strict=True):
        for answer, tracker in zip(own, own_trackers, strict=True):
            assert_acknowledged_or_told_to_send_again(answer)
            if answer is not None and answer.status == 201:
                assert answer.json()["tracker"] == tracker
    before = board_state(live, election.slug)
    assert_consistent_while_open(before)
    stored_before = {tracker: sequence for _, sequence, _, tracker, _ in before["ballots"]}

    # Each voter whose last ballot got no 201 sends that ballot again. With revoting a
    # resend is never refused: a ballot already on the board is acknowledged as it
    # stands (201, its own sequence number, nothing stored twice), one that is not
    # is stored now.
    failed = [i for i, own in enumerate(answers) if own[-1] is None or own[-1].status != 201]
    answers_again = send_again(election.slug, [(browsers[i], ballots[i][-1]) for i in failed])
    for i, again in zip(failed, answers_again, strict=True):
        assert again.status == 201, (voters[i], again.status, again.body)
        assert again.json()["tracker"] == trackers[i][-1]
        if trackers[i][-1] in stored_before:
            assert again.json()["sequence"] == stored_before[trackers[i][-1]]
    assert server_errors_logged(live) == []

    audit = close_and_count(live.env, election)
    board = audit["ballots"]
    assert isinstance(board, list)
    by_voter: dict[str, list[tuple[int, str]]] = {}
    for _, _, voter, tracker, revision in board:
        by_voter.setdefault(voter, []).append((revision, tracker))
    assert sorted(by_voter) == sorted(voters)
    for i, voter in enumerate(voters):
        stored = sorted(by_voter[voter])
        assert [revision for revision, _ in stored] == list(range(1, len(stored) + 1))
        # The last ballot counts; only an earlier ballot of the same voter is replaced.
        assert stored[-1][1] == trackers[i][-1], voter
        assert {tracker for _, tracker in stored[:-1]} <= set(trackers[i][:-1]), voter
    assert any(len(stored) == 2 for stored in by_voter.values()), "nothing was replaced"
    assert audit["tally_is_product"] is True
    assert audit["tally_count"] == audit["product_count"] == len(voters)
    assert audit["counts"] == totals([own[-1] for own in wanted])
    assert record_exit_code(live, election.slug) == 0


# --- A database that refuses connections ----------------------------------------------


@contextmanager
def connections_refused(database: SiteDatabase) -> Iterator[None]:
    """The site's database refuses new connections and its open ones are cut, then comes back."""
    server = postgres_server_url()
    assert server is not None
    name = urlsplit(database.url).path.lstrip("/")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [name],
            )
            yield
        finally:
            admin.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(
                    sql.Identifier(name)
                )
            )


@pytest.mark.slow
@pytest.mark.postgres
def test_a_database_that_cannot_be_reached_is_a_503_to_send_again(live_sites):  # noqa: F811
    live = live_sites("postgresql")
    voters = ["patient-voter"]
    election = live_election(live, "patient", voters)
    (browser,) = browsers_for(live, election, voters)
    (ballot,) = make_ballots(election.params_json, [(election.contexts[voters[0]], [1, 0])])
    page = f"/elections/{election.slug}/"

    with connections_refused(live.database):
        refused = browser.cast(election.slug, ballot)
        refused_page = browser.request("GET", page, headers={"Accept": "text/html"})

    assert refused.status == 503, refused.body
    assert refused.json() == {"error": UNAVAILABLE_MESSAGE}
    assert refused.headers.get("Retry-After") == RETRY_AFTER_SECONDS
    assert refused_page.status == 503, refused_page.body[:2000]
    assert refused_page.headers.get("Content-Type", "").startswith("text/html")
    assert refused_page.headers.get("Retry-After") == RETRY_AFTER_SECONDS
    assert b"send it again" in refused_page.body
    assert board_state(live, election.slug)["ballots"] == []

    stored = browser.cast(election.slug, ballot)
    assert stored.status == 201, stored.body
    assert browser.get(page).status == 200
    state = board_state(live, election.slug)
    assert [row[2:4] for row in state["ballots"]] == [["patient-voter", stored.json()["tracker"]]]
    assert server_errors_logged(live) == []
