"""Benchmark casting through the real site: gunicorn, SQLite or PostgreSQL, real ballots over HTTP.

Run: .venv/bin/python -m bench.cast [--voters 1000] [--concurrency 32] [--bits 3072]
     [--candidates 5] [--workers 1] [--threads 32] [--verify-batch 64] [--verify-processes 2]
     [--database-url postgres://user:password@host:port/postgres] [--compare-questions]
     [--boxes 1] [--revote 0.1] [--questions one|two]

Sets up a fresh database (a temporary SQLite file, or with ``--database-url`` a
database of its own on that PostgreSQL server, dropped afterwards; the role in the
URL must be allowed to create databases) with one open election and ``--voters`` voters,
each signed in (sessions made server-side before the timed phase), starts the site
under gunicorn on 127.0.0.1, and has ``--concurrency`` simulated voters cast real
pre-generated ballots (made with the Python client on every core and cached in
var/bench-cache, keyed by the election parameters). Prints the sustained accepted
ballots per second, latency percentiles, a latency histogram, the CPU the server
used per ballot, and, measured in the same run, the crypto-only ceiling: strict
``verify_ballot`` per second on one core and on all cores, and ``batch_verify``.
Afterwards it closes the election and checks that the decrypted tally is exactly
the sum of the accepted choices. With ``--compare-questions`` it does all this
for an election of two questions (one of four candidates; yes, no or blank) and
then for one question of ``--candidates`` options, and prints the two side by
side with their ratios. ``--boxes P`` splits the board into P ballot boxes;
``--revote F`` turns revoting on and has a fraction F of the voters cast a second,
different ballot after everyone's first (the decrypted tally must then count each
voter's last ballot). The server's CPU is split into the web processes' own work
and the proof checks (the verifier processes), and on PostgreSQL the transactions
rolled back (lost races, retried) are counted per accepted ballot. Progress goes
to stderr, results to stdout.

The cached private key in var/bench-cache belongs to a throwaway benchmark
election and nothing else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elections import crypto
from tests.elections.livesite import (
    PROJECT_ROOT,
    Browser,
    LiveElection,
    LiveSite,
    Response,
    close_and_count,
    gunicorn_site,
    is_postgres_url,
    make_ballots,
    manage,
    migrate,
    set_up_election,
    site_database,
    site_env,
)

CACHE = PROJECT_ROOT / "var" / "bench-cache"
# The site runs as in production (DEBUG off: no query log, no debug pages), except
# that it speaks plain HTTP on loopback, so cookies are not marked secure.
PRODUCTION_SETTINGS = {
    "DEBUG": "False",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SITE_URL": "http://127.0.0.1",
    "SECURE_COOKIES": "False",
    "SECURE_SSL_REDIRECT": "False",
}
# Voters never sign in with it (their sessions are made server-side), so any value will do.
PASSWORD = secrets.token_urlsafe(16)
CEILING_SAMPLE = 12


def progress(label: str) -> Callable[[int, int], None]:
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        if done == total or done % max(1, total // 20) == 0:
            rate = done / max(time.monotonic() - started, 1e-9)
            print(f"\r{label}: {done}/{total} ({rate:.1f}/s)", end="", file=sys.stderr)
            if done == total:
                print(file=sys.stderr)

    return report


# --- Ballots -------------------------------------------------------------------------


def cached_ballots(
    election: LiveElection,
    voters: Sequence[str],
    choices: Sequence[Sequence[int]],
    round_: int = 1,
) -> list[str]:
    """One ballot per voter, from the cache when the same parameters were used before.

    ``round_`` 2 and up are further ballots of the same voters (revoting): other
    encryptions, so other trackers, even of the same choice.
    """
    digest = hashlib.sha256(election.params_json.encode()).hexdigest()[:16]
    suffix = "" if round_ == 1 else f"-round{round_}"
    path = CACHE / f"ballots-{digest}{suffix}.json"
    cache: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = [
        (election.contexts[v], c)
        for v, c in zip(voters, choices, strict=True)
        if f"{election.contexts[v]}:{c}" not in cache
    ]
    if wanted:
        made = make_ballots(election.params_json, wanted, progress=progress("encrypting ballots"))
        for (context, choice), ballot in zip(wanted, made, strict=True):
            cache[f"{context}:{list(choice)}"] = ballot
        path.write_text(json.dumps(cache))
    return [
        cache[f"{election.contexts[v]}:{list(c)}"] for v, c in zip(voters, choices, strict=True)
    ]


# --- The crypto-only ceiling ------------------------------------------------------------


def _verify_all(job: tuple[str, list[tuple[str, str]]]) -> int:
    params = crypto.params_from_json(job[0])
    for context, ballot in job[1]:
        crypto.verify_ballot(params, context, crypto.parse_ballot(params, ballot))
    return len(job[1])


@dataclass
class Ceiling:
    strict_one_core: float
    strict_all_cores: float
    batch_one_core: float


def measure_ceiling(params_json: str, pairs: list[tuple[str, str]], cores: int) -> Ceiling:
    """Ballots per second the proofs alone allow, strict and batched."""
    started = time.perf_counter()
    _verify_all((params_json, pairs))
    one = len(pairs) / (time.perf_counter() - started)
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_verify_all, [(params_json, pairs[:1])] * cores))  # start the workers
        started = time.perf_counter()
        done = sum(pool.map(_verify_all, [(params_json, pairs)] * cores))
        every = done / (time.perf_counter() - started)
    params = crypto.params_from_json(params_json)
    parsed = [(context, crypto.parse_ballot(params, ballot)) for context, ballot in pairs]
    started = time.perf_counter()
    bad = crypto.batch_verify(params, parsed)
    batch = len(parsed) / (time.perf_counter() - started)
    if bad:
        raise RuntimeError(f"cached ballots failed verification: {bad}")
    return Ceiling(one, every, batch)


# --- The load ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerCpu:
    """CPU seconds of the gunicorn master and workers (web) and of their verifier processes."""

    web: float
    proofs: float

    @property
    def total(self) -> float:
        return self.web + self.proofs

    def __sub__(self, other: ServerCpu) -> ServerCpu:
        return ServerCpu(self.web - other.web, self.proofs - other.proofs)


def server_cpu_seconds(site: LiveSite) -> ServerCpu:
    """User + system CPU of the gunicorn master and all its descendants (Linux /proc).

    Descendants, not just children: the workers' verifier processes do most of the work.
    The master and its workers are the web work; the processes the workers start are
    the proof checks. A process that exited during the run is counted in its parent's
    figures only once the parent has waited for it, so keep the site running until the
    end of a run.
    """
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        seconds[pid] = (int(fields[11]) + int(fields[12])) / tick

    def depth_in_site(pid: int) -> int | None:
        """0 for the master, 1 for a worker, 2 and more for what a worker started."""
        depth = 0
        while pid > 1:
            if pid == site.process.pid:
                return depth
            pid, depth = parents.get(pid, 0), depth + 1
        return None

    web = proofs = 0.0
    for pid, cpu in seconds.items():
        depth = depth_in_site(pid)
        if depth is None:
            continue
        if depth <= 1:
            web += cpu
        else:
            proofs += cpu
    return ServerCpu(web, proofs)


@dataclass
class LoadResult:
    responses: list[Response]
    seconds: float
    server_cpu: ServerCpu
    client_cpu: float
    # PostgreSQL only: transactions rolled back during the load (lost races, retried).
    rollbacks: int | None = None


def run_load(
    site: LiveSite,
    slug: str,
    browsers: list[Browser],
    ballots: list[str],
    concurrency: int,
    rollbacks: Callable[[], int] | None = None,
) -> LoadResult:
    done = 0
    lock = threading.Lock()
    report = progress("casting")

    def cast(index: int) -> Response:
        nonlocal done
        response = browsers[index].cast(slug, ballots[index])
        with lock:
            done += 1
            report(done, len(ballots))
        return response

    cpu_before, client_before = server_cpu_seconds(site), time.process_time()
    rolled_back = rollbacks() if rollbacks else 0
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        responses = list(pool.map(cast, range(len(ballots)), timeout=900))
    seconds = time.perf_counter() - started
    return LoadResult(
        responses,
        seconds,
        server_cpu_seconds(site) - cpu_before,
        time.process_time() - client_before,
        None if rollbacks is None else rollbacks() - rolled_back,
    )


# --- Report -----------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def histogram(latencies: Sequence[float], rows: int = 12, width: int = 50) -> list[str]:
    top = max(latencies)
    step = top / rows or 1.0
    counts = [0] * rows
    for value in latencies:
        counts[min(rows - 1, int(value / step))] += 1
    peak = max(counts)
    return [
        f"  {i * step * 1000:7.0f}-{(i + 1) * step * 1000:<7.0f} ms |"
        f"{'#' * round(width * count / peak):<{width}}| {count}"
        for i, count in enumerate(counts)
    ]


def print_report(
    args: argparse.Namespace, load: LoadResult, ceiling: Ceiling, cores: int, layout: str
) -> None:
    accepted = [r for r in load.responses if r.status == 201]
    latencies = [r.seconds for r in accepted]
    rate = len(accepted) / load.seconds
    others: dict[int, int] = {}
    for r in load.responses:
        if r.status != 201:
            others[r.status] = others.get(r.status, 0) + 1
    rows = [
        (
            "setting",
            f"{args.bits}-bit key, {layout}, "
            f"{'PostgreSQL' if args.database_url else 'SQLite'}, "
            f"gunicorn {args.workers} workers x {args.threads} threads, {cores} cores, "
            f"{args.boxes} ballot box{'es' if args.boxes > 1 else ''}"
            + (f", revoting ({args.revote:.0%} vote twice)" if args.revote else ""),
        ),
        (
            "server verification",
            f"batch up to {args.verify_batch}, in {args.verify_processes} processes per worker"
            if args.verify_batch > 1
            else "strict, one ballot at a time",
        ),
        ("voters / concurrency", f"{len(load.responses)} / {args.concurrency}"),
        ("accepted (201)", f"{len(accepted)}; other statuses: {others or 'none'}"),
        ("sustained rate", f"{rate:.1f} ballots/s over {load.seconds:.1f} s"),
        (
            "latency p50 / p90 / p99 / max",
            " / ".join(f"{percentile(latencies, q) * 1000:.0f}" for q in (0.5, 0.9, 0.99, 1.0))
            + " ms",
        ),
        (
            "server CPU per ballot",
            f"{load.server_cpu.total / max(len(accepted), 1) * 1000:.1f} ms: "
            f"web {load.server_cpu.web / max(len(accepted), 1) * 1000:.1f} + "
            f"proofs {load.server_cpu.proofs / max(len(accepted), 1) * 1000:.1f} "
            f"({load.server_cpu.total / load.seconds:.2f} of {cores} cores busy)",
        ),
        (
            "rolled back per ballot",
            "n/a (SQLite: one writer, no lost races)"
            if load.rollbacks is None
            else f"{load.rollbacks / max(len(accepted), 1):.3f} "
            f"({load.rollbacks} transactions retried)",
        ),
        ("load generator CPU", f"{load.client_cpu / load.seconds:.2f} cores"),
        (
            "ceiling: strict, 1 core",
            f"{ceiling.strict_one_core:.1f} ballots/s "
            f"({1000 / ceiling.strict_one_core:.0f} ms each)",
        ),
        ("ceiling: strict, all cores", f"{ceiling.strict_all_cores:.1f} ballots/s"),
        (
            "ceiling: batch_verify, 1 core",
            f"{ceiling.batch_one_core:.1f} ballots/s (batches of {CEILING_SAMPLE})",
        ),
        ("rate / strict all-core ceiling", f"{rate / ceiling.strict_all_cores:.2f}"),
        (
            "target",
            f">= 100 ballots/s with p99 < 1 s: "
            f"{'met' if rate >= 100 and percentile(latencies, 0.99) < 1 else 'NOT met'}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print("\nlatency of accepted casts:")
    print("\n".join(histogram(latencies)))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--bits", type=int, default=3072)
    parser.add_argument("--candidates", type=int, default=5)
    # One web process: SQLite has a single writer, and its waiting connections poll
    # with sleeps, so casts from several processes leave the write lock idle between
    # them; the proof checks get the cores through the verifier processes instead.
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=32, help="per gunicorn worker")
    parser.add_argument("--verify-batch", type=int, default=64, help="1 = strict per ballot")
    parser.add_argument(
        "--verify-processes",
        type=int,
        default=1,
        help="verifier processes per gunicorn worker (0 = a thread of the worker); 1, the "
        "site's default, checks the largest batches",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgres://user:password@host:port/dbname) to run on, "
        "in a database of its own; default: a temporary SQLite file",
    )
    parser.add_argument("--boxes", type=int, default=1, help="ballot boxes (1 to 256)")
    parser.add_argument(
        "--revote",
        type=float,
        default=0.0,
        help="turn revoting on; this fraction of the voters casts a second ballot",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--questions",
        choices=("one", "two"),
        default="one",
        help="one: one question of --candidates options; two: the demo's two questions "
        "(1 of 4; yes/no/blank)",
    )
    parser.add_argument(
        "--compare-questions",
        action="store_true",
        help="run an election of 2 questions (1 of 4; yes/no/blank) and one of "
        "--candidates options, one after the other, and print them side by side",
    )
    args = parser.parse_args(argv)
    if args.voters < 1 or args.concurrency < 1 or args.candidates < 1:
        parser.error("--voters, --concurrency and --candidates must be positive")
    if not 1 <= args.boxes <= 256 or not 0 <= args.revote <= 1:
        parser.error("--boxes is 1 to 256 and --revote a fraction from 0 to 1")
    if args.database_url is not None and not is_postgres_url(args.database_url):
        parser.error("--database-url must be a postgres:// or postgresql:// URL")
    return args


@dataclass
class Layout:
    """The questions of a benchmark election and one random valid answer per voter."""

    name: str
    questions: list[dict[str, Any]]

    @property
    def slots(self) -> int:
        return sum(len(q["options"]) + int(q["allow_blank"]) for q in self.questions)

    def choose(self, rng: random.Random) -> list[int]:
        """One 0/1 per slot: one option per question, or a blank vote now and then."""
        answer: list[int] = []
        for question in self.questions:
            slots = [0] * (len(question["options"]) + int(question["allow_blank"]))
            if question["allow_blank"] and rng.random() < 0.15:
                slots[-1] = 1
            else:
                slots[rng.randrange(len(question["options"]))] = 1
            answer.extend(slots)
        return answer


def one_question(candidates: int) -> Layout:
    options = [f"Candidate {i + 1}" for i in range(candidates)]
    question = {
        "title": "Who should be elected?",
        "options": options,
        "min_selections": 1,
        "max_selections": 1,
        "allow_blank": False,
    }
    return Layout(f"1 question (1 of {candidates})", [question])


TWO_QUESTIONS = Layout(
    "2 questions (1 of 4; yes/no/blank)",
    [
        {
            "title": "Chair",
            "options": [f"Candidate {i + 1}" for i in range(4)],
            "min_selections": 1,
            "max_selections": 1,
            "allow_blank": False,
        },
        {
            "title": "Adopt the motion?",
            "options": ["Yes", "No"],
            "min_selections": 1,
            "max_selections": 1,
            "allow_blank": True,
        },
    ],
)


@dataclass
class RunFigures:
    layout: Layout
    load: LoadResult
    ceiling: Ceiling
    ballot_bytes: int
    correct: bool


def run_layout(args: argparse.Namespace, layout: Layout, cores: int, tag: str) -> RunFigures:
    """Set up a fresh site with ``layout``, cast every voter's ballot, close, check, decrypt."""
    rng = random.Random(args.seed)
    voters = [f"bench-{i:05}" for i in range(args.voters)]
    choices = [layout.choose(rng) for _ in voters]
    # Revoting: a fraction of the voters cast again, a different answer where there is one.
    twice = sorted(rng.sample(range(len(voters)), round(args.revote * len(voters))))
    again = [layout.choose(rng) for _ in twice]
    backend = "postgresql" if args.database_url else "sqlite"
    with (
        tempfile.TemporaryDirectory(prefix="bench-cast-") as folder,
        site_database(backend, Path(folder), server_url=args.database_url) as database,
    ):
        env = site_env(
            database.url,
            BALLOT_VERIFY_BATCH=str(args.verify_batch),
            BALLOT_VERIFY_PROCESSES=str(args.verify_processes),
            STATIC_ROOT=str(Path(folder) / "static"),
            **PRODUCTION_SETTINGS,
        )
        print(f"[{layout.name}] migrating and setting up the election...", file=sys.stderr)
        migrate(env)
        # As a deployment does: with DEBUG off, the pages name the hashed static files.
        manage(env, "collectstatic", "--noinput", "-v", "0", timeout=300)
        election = set_up_election(
            env,
            slug=f"bench-{tag}",
            questions=layout.questions,
            voters=voters,
            session_voters=voters,
            password=PASSWORD,
            bits=args.bits,
            key_path=CACHE / f"key-{args.bits}-{tag}.json",
            public_key_path=CACHE / f"public-{args.bits}-{tag}.json",
            ballot_boxes=args.boxes,
            allow_revoting=bool(args.revote),
        )
        ballots = cached_ballots(election, voters, choices)
        second = cached_ballots(election, [voters[i] for i in twice], again, round_=2)
        by_tracker = {
            crypto.tracker_of_json(ballot): choice
            for ballot, choice in zip([*ballots, *second], [*choices, *again], strict=True)
        }
        print(f"[{layout.name}] measuring the verification ceiling...", file=sys.stderr)
        sample = [(election.contexts[v], b) for v, b in zip(voters, ballots, strict=True)]
        ceiling = measure_ceiling(election.params_json, sample[:CEILING_SAMPLE], cores)
        with gunicorn_site(
            env, workers=args.workers, threads=args.threads, log=Path(folder) / "gunicorn.log"
        ) as site:
            browsers = [Browser(site) for _ in voters]
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda b_v: b_v[0].adopt_session(election.sessions[b_v[1]]),
                        zip(browsers, voters, strict=True),
                    )
                )
            # Everyone's first ballot, then the second ballots, in one timed load.
            casters = browsers + [browsers[i] for i in twice]
            load = run_load(
                site,
                election.slug,
                casters,
                ballots + second,
                args.concurrency,
                rollbacks=database.rollbacks if args.database_url else None,
            )
        print(f"[{layout.name}] closing, checking and decrypting...", file=sys.stderr)
        audit = close_and_count(env, election)
    print(f"\n=== {layout.name} ===")
    print_report(args, load, ceiling, cores, layout.name)
    correct, expected = tally_matches(audit, by_tracker, layout.slots)
    print(
        f"\ntally check: decrypted {audit['counts']}, expected {expected} "
        f"(each voter's last accepted ballot): {'OK' if correct else 'MISMATCH'}"
    )
    size = sorted(len(ballot.encode()) for ballot in ballots)[len(ballots) // 2]
    return RunFigures(layout, load, ceiling, size, correct)


def tally_matches(
    audit: dict[str, Any], by_tracker: dict[str, list[int]], slots: int
) -> tuple[bool, list[int]]:
    """Whether the decrypted counts are the sum of each voter's last ballot on the board.

    Each ballot on the board is one the site accepted (and answered 201, or the
    load would show another status); a voter's last is the one that counts.
    """
    last: dict[str, tuple[int, str]] = {}
    for _box, _sequence, voter, tracker, revision in audit["ballots"]:
        if voter not in last or revision > last[voter][0]:
            last[voter] = (revision, tracker)
    expected = [0] * slots
    for _, tracker in last.values():
        for slot, chosen in enumerate(by_tracker[tracker]):
            expected[slot] += chosen
    return bool(audit["tally_is_product"]) and audit["counts"] == expected, expected


def print_comparison(runs: list[RunFigures]) -> None:
    """The two elections side by side, with the ratio of the first to the second."""

    def figures(run: RunFigures) -> list[float]:
        accepted = [r for r in run.load.responses if r.status == 201]
        latencies = [r.seconds for r in accepted]
        return [
            run.layout.slots,
            run.ballot_bytes,
            len(accepted) / run.load.seconds,
            percentile(latencies, 0.5) * 1000,
            percentile(latencies, 0.99) * 1000,
            run.load.server_cpu.total / max(len(accepted), 1) * 1000,
            1000 / run.ceiling.strict_one_core,
            1000 / run.ceiling.batch_one_core,
        ]

    names = [
        "slots (options + blank)",
        "ballot bytes (median)",
        "sustained ballots/s",
        "latency p50 ms",
        "latency p99 ms",
        "server CPU ms/ballot",
        "strict check ms/ballot, 1 core",
        "batch check ms/ballot, 1 core",
    ]
    first, second = figures(runs[0]), figures(runs[1])
    print(f"\n| figure | {runs[0].layout.name} | {runs[1].layout.name} | ratio |")
    print("|---|---|---|---|")
    for name, a, b in zip(names, first, second, strict=True):
        print(f"| {name} | {a:,.1f} | {b:,.1f} | {a / b if b else float('nan'):.2f} |")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    cores = os.cpu_count() or 1
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.compare_questions:
        runs = [
            run_layout(args, TWO_QUESTIONS, cores, "two-questions"),
            run_layout(args, one_question(args.candidates), cores, f"one-of-{args.candidates}"),
        ]
        print_comparison(runs)
    elif args.questions == "two":
        runs = [run_layout(args, TWO_QUESTIONS, cores, "two-questions")]
    else:
        runs = [run_layout(args, one_question(args.candidates), cores, str(args.candidates))]
    if not all(run.correct for run in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
