"""Run the real site under gunicorn on 127.0.0.1 and talk to it as voters do.

Everything here works out of process: the site runs in gunicorn workers against
a SQLite file or a PostgreSQL database of its own (``site_database``), set-up and
checks run in ``python`` subprocesses with the same environment, and voters are
plain HTTP clients with their own cookies. Used by the concurrency tests and by
``bench/cast.py``.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from elections import crypto

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A fixed development key: every process (gunicorn workers, set-up scripts) must
# derive the same voter contexts from it.
LIVE_SECRET_KEY = "live-site-secret-key-for-tests-only-" + "x7Qp2Lm9" * 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- The site's database ---------------------------------------------------------------

BACKENDS = ("sqlite", "postgresql")


def postgres_server_url() -> str | None:
    """The PostgreSQL server the tests may use (``TEST_POSTGRES_URL``), or None."""
    return os.environ.get("TEST_POSTGRES_URL") or None


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def with_database_name(url: str, name: str) -> str:
    """``url`` (a server's URL) naming the database ``name`` instead of its own."""
    scheme, netloc, _, query, fragment = urlsplit(url)
    return urlunsplit((scheme, netloc, f"/{name}", query, fragment))


@dataclass(frozen=True)
class SiteDatabase:
    """The database of one live site: which kind it is, its ``DATABASE_URL``, its file."""

    backend: str
    url: str
    sqlite_path: Path | None = None

    def rollbacks(self) -> int:
        """PostgreSQL: the transactions rolled back in this database so far.

        The server publishes its statistics about once a second, hence the wait.
        """
        time.sleep(1.5)
        with psycopg.connect(self.url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        return int(row[0]) if row else 0


@contextmanager
def site_database(
    backend: str, folder: Path, *, server_url: str | None = None
) -> Iterator[SiteDatabase]:
    """A new, empty database for one live site, to ``migrate`` before use.

    ``"sqlite"``: a file in ``folder``. ``"postgresql"``: a database of its own on
    the server of ``server_url`` (by default ``TEST_POSTGRES_URL``, whose role must
    be allowed to create databases; the database named in it is only connected to),
    dropped afterwards together with any connection still open to it.
    """
    if backend == "sqlite":
        path = folder / "site.sqlite3"
        yield SiteDatabase(backend, f"sqlite:///{path}", path)
        return
    if backend != "postgresql":
        raise ValueError(f"unknown database backend {backend!r}")
    server = server_url or postgres_server_url()
    if server is None:
        raise RuntimeError("no PostgreSQL server to use: set TEST_POSTGRES_URL")
    name = f"evoting_live_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield SiteDatabase(backend, with_database_name(server, name))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            # FORCE: connections of killed workers may not have been noticed as gone yet.
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def site_env(database: Path | str, **extra: str) -> dict[str, str]:
    """The environment of every process of one live site.

    ``database`` is a SQLite file or a ``DATABASE_URL`` (``SiteDatabase.url``).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV"}
    }
    env.update(
        DATABASE_URL=database if isinstance(database, str) else f"sqlite:///{database}",
        DEBUG="True",
        SECRET_KEY=LIVE_SECRET_KEY,
        DJANGO_SETTINGS_MODULE="evoting.settings",
        PYTHONPATH=str(PROJECT_ROOT),
        LOG_LEVEL="ERROR",
        # The emails are rendered and handed to a backend that drops them, rather
        # than printed by the development console backend for every cast.
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    env.update(extra)
    return env


def run_django(env: dict[str, str], script: str, *, timeout: float = 120) -> str:
    """Run ``script`` in a fresh Python with Django set up for ``env``; return its stdout.

    Secrets go through the environment or files, never through ``script``.
    """
    prelude = "import django\ndjango.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"set-up script failed:\n{done.stderr[-3000:]}")
    return done.stdout


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> None:
    """Run ``manage.py`` with ``args`` for the site of ``env``; fail if it fails."""
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        timeout=timeout,
    )


def migrate(env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput", "-v", "0")


@dataclass
class LiveSite:
    base_url: str
    host: str
    port: int
    process: subprocess.Popen[bytes]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # gunicorn runs in its own session: signal its whole group (master and workers).
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def gunicorn_site(
    env: dict[str, str], *, workers: int = 3, threads: int = 1, log: Path | None = None
) -> Iterator[LiveSite]:
    """Serve the site on a free 127.0.0.1 port; always stop every gunicorn process."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "evoting.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "--graceful-timeout",
        "5",
    ]
    output = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=output, start_new_session=True
    )
    try:
        site = LiveSite(f"http://127.0.0.1:{port}", "127.0.0.1", port, process)
        _wait_until_serving(site, timeout=30)
        yield site
    finally:
        _stop(process)
        if log is not None and not isinstance(output, int):
            output.close()


def _wait_until_serving(site: LiveSite, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if site.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {site.process.returncode}")
        try:
            if Browser(site).get("/accounts/login/").status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start serving in time")


@dataclass
class Response:
    status: int
    body: bytes
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        document = json.loads(self.body)
        assert isinstance(document, dict)
        return document


@dataclass
class Browser:
    """One visitor: its own cookies, one connection per request (loopback only)."""

    site: LiveSite
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 60

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection(
            self.site.host, self.site.port, timeout=self.timeout
        )
        try:
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            content = response.read()
            seconds = time.perf_counter() - started
            for header in response.msg.get_all("Set-Cookie") or []:
                cookie: SimpleCookie = SimpleCookie()
                cookie.load(header)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
            return Response(response.status, content, seconds, dict(response.getheaders()))
        finally:
            connection.close()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def login(self, username: str, password: str) -> None:
        """Sign in through the login form, as a person would."""
        page = self.get("/accounts/login/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        if page.status != 200 or match is None:
            raise RuntimeError(f"no login form (HTTP {page.status})")
        form = urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": match[1].decode()}
        )
        answer = self.request(
            "POST",
            "/accounts/login/",
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if answer.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {username} failed (HTTP {answer.status})")

    def adopt_session(self, session_key: str) -> None:
        """Use a session created server-side, with a CSRF cookie from the login page."""
        self.get("/accounts/login/")
        if "csrftoken" not in self.cookies:
            raise RuntimeError("the login page set no CSRF cookie")
        self.cookies["sessionid"] = session_key

    def cast(self, slug: str, ballot: str) -> Response:
        return self.request(
            "POST",
            f"/elections/{slug}/cast/",
            ballot.encode(),
            {"Content-Type": "application/json", "X-CSRFToken": self.cookies.get("csrftoken", "")},
        )


# --- Ballots, made with the Python client on every core ------------------------------


def _encrypt(job: tuple[str, str, tuple[int, ...]]) -> str:
    params_json, context, selections = job
    params = crypto.params_from_json(params_json)
    return crypto.ballot_to_json(crypto.encrypt_ballot(params, context, list(selections)), params)


# Ballots this process has made, by (parameters, voter context, selections, how many
# identical jobs came before it in the same call). A test run again on another
# database sets up the same election (same identifiers, same key file), so it gets
# the same ballots back instead of encrypting them all again.
_made: dict[tuple[str, str, tuple[int, ...], int], str] = {}


def make_ballots(
    params_json: str,
    jobs: Sequence[tuple[str, Sequence[int]]],
    *,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Encrypt (voter context, selections) pairs in parallel; return ballot JSON in order.

    Identical jobs in one call get distinct encryptions; the same list of jobs given
    again in this process gets the same ballots as the first time.
    """
    keys: list[tuple[str, str, tuple[int, ...], int]] = []
    seen: dict[tuple[str, tuple[int, ...]], int] = {}
    for context, selections in jobs:
        job = (context, tuple(selections))
        keys.append((params_json, *job, seen.get(job, 0)))
        seen[job] = seen.get(job, 0) + 1
    missing = [key for key in keys if key not in _made]
    if missing:
        with multiprocessing.get_context("spawn").Pool(processes or os.cpu_count() or 1) as pool:
            made = pool.imap(_encrypt, [key[:3] for key in missing], chunksize=1)
            for done, (key, ballot) in enumerate(zip(missing, made, strict=True), start=1):
                _made[key] = ballot
                if progress is not None:
                    progress(done, len(missing))
    return [_made[key] for key in keys]


# --- Setting an election up in the site's database -----------------------------------

# Runs in a subprocess (see ``run_django``); reads its plan from LIVE_PLAN and the
# voters' password from LIVE_PASSWORD, prints one JSON line. Identifiers are derived
# from names, so a second run with the same plan gives the same election parameters
# and voter contexts (``bench/cast.py`` reuses cached ballots thanks to that).
SETUP_SCRIPT = """
import json, os, uuid
from pathlib import Path
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import Role, User
from elections import crypto, services
from elections.models import Candidate, Election, Question

plan = json.loads(os.environ["LIVE_PLAN"])
space = uuid.UUID("6f1c7a52-3c1e-4d8e-9a57-0d3c2b1e4f60")
admin = User.objects.filter(username="live_admin").first() or User.objects.create_user(
    username="live_admin", id=uuid.uuid5(space, "live_admin"), role=Role.ADMINISTRATOR,
    is_approved=True, is_staff=True, is_superuser=True,
)
election = Election.objects.create(
    id=uuid.uuid5(space, "election/" + plan["slug"]), slug=plan["slug"], title=plan["slug"],
    ballot_boxes=plan.get("ballot_boxes", 1), allow_revoting=plan.get("allow_revoting", False),
)
for number, spec in enumerate(plan["questions"], start=1):
    question = Question.objects.create(
        id=uuid.uuid5(space, f"{election.id}/question/{number}"), election=election,
        position=number, title=spec["title"], min_selections=spec["min_selections"],
        max_selections=spec["max_selections"], allow_blank=spec["allow_blank"],
    )
    for position, name in enumerate(spec["options"], start=1):
        Candidate.objects.create(
            id=uuid.uuid5(space, f"{election.id}/{number}/{position}"), election=election,
            question=question, position=position, name=name,
        )
password = make_password(os.environ["LIVE_PASSWORD"])
voters = User.objects.bulk_create(
    User(id=uuid.uuid5(space, name), username=name, role=Role.VOTER, is_approved=True,
         password=password)
    for name in plan["voters"]
)
key_path, public_path = Path(plan["key_path"]), Path(plan["public_key_path"])
if key_path.exists() and public_path.exists():
    # A cached throwaway key of a benchmark election with these very identifiers.
    Election.objects.filter(pk=election.pk).update(public_key=public_path.read_text())
else:
    key_file = services.generate_keys(election=election, actor=admin, bits=plan["bits"])
    key_path.touch(mode=0o600)
    key_path.write_bytes(key_file)
    election.refresh_from_db()
    public_path.write_text(election.public_key)
services.open_election(election=election, actor=admin)
sessions = {}
for voter in voters:
    if voter.username in plan["session_voters"]:
        session = SessionStore()
        session[SESSION_KEY] = str(voter.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = voter.get_session_auth_hash()
        session.create()
        sessions[voter.username] = session.session_key
print(json.dumps({
    "slug": election.slug,
    "params": crypto.params_to_json(services.election_params(election)),
    "contexts": {v.username: services.voter_context(election, v) for v in voters},
    "sessions": sessions,
}))
"""


@dataclass
class LiveElection:
    slug: str
    params_json: str
    contexts: dict[str, str]
    sessions: dict[str, str]
    key_path: Path


def set_up_election(
    env: dict[str, str],
    *,
    slug: str,
    candidates: Sequence[str] = (),
    questions: Sequence[dict[str, Any]] = (),
    voters: Sequence[str],
    session_voters: Sequence[str],
    password: str,
    bits: int,
    key_path: Path,
    public_key_path: Path,
    ballot_boxes: int = 1,
    allow_revoting: bool = False,
) -> LiveElection:
    """Create an open election with voters in the site's database; write its key file.

    The ballot asks ``questions`` (dicts with title, options, min_selections,
    max_selections and allow_blank), or one question choosing one of ``candidates``.
    """
    if not questions:
        questions = [
            {
                "title": "Who should be elected?",
                "options": list(candidates),
                "min_selections": 1,
                "max_selections": 1,
                "allow_blank": False,
            }
        ]
    plan = {
        "slug": slug,
        "questions": list(questions),
        "voters": list(voters),
        "session_voters": list(session_voters),
        "bits": bits,
        "key_path": str(key_path),
        "public_key_path": str(public_key_path),
        "ballot_boxes": ballot_boxes,
        "allow_revoting": allow_revoting,
    }
    output = run_django(
        {**env, "LIVE_PLAN": json.dumps(plan), "LIVE_PASSWORD": password}, SETUP_SCRIPT
    )
    result = json.loads(output.strip().splitlines()[-1])
    return LiveElection(
        result["slug"], result["params"], result["contexts"], result["sessions"], key_path
    )


# Runs in a subprocess: reports the board, checks the tally, closes and decrypts.
AUDIT_SCRIPT = """
import json, os
from pathlib import Path
from accounts.models import User
from elections import services
from elections import ballot_box
from elections.models import Election

plan = json.loads(os.environ["LIVE_PLAN"])
election = Election.objects.get(slug=plan["slug"])
admin = User.objects.get(username="live_admin")
if election.status == "open":
    services.close_election(election=election, actor=admin)
params = services.election_params(election)
tallies = ballot_box.box_tallies(election)
product, count = services.product_of_ballots(election, params)
report = services.decrypt_tally(
    election=election, key_file=Path(plan["key_path"]).read_bytes(), passphrase=None, actor=admin
)
board = election.ballots.select_related("voter").order_by("box", "sequence")
print(json.dumps({
    "board": [[b.sequence, b.voter.username, b.tracker] for b in board],
    "ballots": [[b.box, b.sequence, b.voter.username, b.tracker, b.revision] for b in board],
    "tally_is_product": ballot_box.combined_totals(params, tallies) == product,
    "tally_count": sum(tally.counted for tally in tallies),
    "product_count": count,
    "counts": [c.count for c in report.counts],
}))
"""


def close_and_count(env: dict[str, str], election: LiveElection) -> dict[str, object]:
    """Close (if open), check the tally against the board and decrypt it."""
    plan = {"slug": election.slug, "key_path": str(election.key_path)}
    output = run_django({**env, "LIVE_PLAN": json.dumps(plan)}, AUDIT_SCRIPT)
    result = json.loads(output.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


# Runs in a subprocess: set up and waiting, it closes the election when told on stdin.
CLOSE_ON_SIGNAL_SCRIPT = """
import os, sys
from accounts.models import User
from elections import services
from elections.models import Election

election = Election.objects.get(slug=os.environ["LIVE_SLUG"])
admin = User.objects.get(username="live_admin")
print("ready", flush=True)
sys.stdin.readline()
services.close_election(election=election, actor=admin)
print("closed", flush=True)
"""


@contextmanager
def closer(env: dict[str, str], slug: str) -> Iterator[Callable[[], None]]:
    """A process ready to close the election the moment the returned function is called."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import django\ndjango.setup()\n" + CLOSE_ON_SIGNAL_SCRIPT],
        cwd=PROJECT_ROOT,
        env={**env, "LIVE_SLUG": slug},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def close_now() -> None:
        stdin.write("\n")
        stdin.flush()
        if stdout.readline().strip() != "closed":
            raise RuntimeError("the election could not be closed")

    try:
        if stdout.readline().strip() != "ready":
            raise RuntimeError("the closing process did not start")
        yield close_now
    finally:
        stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stdout.close()
