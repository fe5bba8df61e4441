"""Benchmark of the pre-decryption check beside the standalone verifier, on the same ballots.

Usage::

    .venv/bin/python -m bench.tally_check [--ballots 10000 100000] [--workers 2] [--bits 3072]

Before any decryption ``services.decrypt_tally`` runs ``record.verify_board``:
the election record streamed out of the database into ``verify.verify_record``.
For each size this makes a temporary SQLite database holding one closed
election (format v2, one question: 1 of 5 candidates) whose ballots are valid synthetic ballots
made by ``bench/verify.py``'s generator for that election's own parameters,
each bound to the voter context of the voter account it is stored under, with
the hash chain, trackers, running tally and closing hash a real election would
have. It times ``verify_board(election, workers=W)`` in this process, and, as
the baseline of the same run, ``python -m elections.verify FILE --workers W``
as a child process on the record exported from that database. Both report
wall time and CPU (this process or the child, with their worker processes,
from ``getrusage``) per ballot; each report must be ok. Progress goes to
stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import TypeVar

import gmpy2  # type: ignore[import-untyped]

# bench.verify sets Django up when imported: point it at a throwaway SQLite file first,
# never at the project's database (each size then switches to its own database).
os.environ.pop("MONGODB_URI", None)
os.environ["DATABASE_URL"] = (
    f"sqlite:///{Path(tempfile.gettempdir()) / 'bench-tally-check-unused.sqlite3'}"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evoting.settings")

import django

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connections  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from bench.verify import CANDIDATES, POOL, ROOT, _init_worker, make_ballot  # noqa: E402
from elections import board, crypto, record, services  # noqa: E402
from elections.crypto.encoding import int_to_hex  # noqa: E402
from elections.models import (  # noqa: E402
    Ballot,
    Candidate,
    Election,
    EncryptedTally,
    Question,
    Status,
)
from elections.verify import ProgressPrinter, Report  # noqa: E402
from tests.elections.livesite import migrate, site_env  # noqa: E402

CHUNK = 2000
T = TypeVar("T")


@dataclass
class Timing:
    wall: float
    cpu: float


def cpu_seconds() -> float:
    """User + system CPU of this process and of its children that have been waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def timed(work: Callable[[], T]) -> tuple[T, Timing]:
    cpu, started = cpu_seconds(), time.monotonic()
    result = work()
    return result, Timing(time.monotonic() - started, cpu_seconds() - cpu)


def use_database(path: Path) -> None:
    """Migrate a fresh SQLite database at ``path`` and point this process's Django at it."""
    migrate(site_env(path))
    connections.close_all()
    connections["default"].settings_dict["NAME"] = str(path)


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def make_election(size: int, bits: int, generators: int) -> Election:
    """A closed election with ``size`` valid ballots, stored as casting would store them."""
    started = time.monotonic()
    print(f"  making a {bits}-bit key...", file=sys.stderr)
    public_key, _ = crypto.generate_keypair(bits)
    opened_at = datetime(2026, 3, 1, 8, tzinfo=UTC)
    election = Election.objects.create(
        slug=f"tally-check-{size}",
        title=f"Pre-decryption check, {size:,} ballots",
        public_key=crypto.public_key_to_json(public_key),
    )
    question = Question.objects.create(election=election, position=1, title="Chair")
    Candidate.objects.bulk_create(
        Candidate(
            election=election, question=question, position=position, name=f"Candidate {position}"
        )
        for position in range(1, CANDIDATES + 1)
    )
    # Status and times as an election that has opened and closed; the parameters
    # are those the check will rebuild from the database.
    Election.objects.filter(pk=election.pk).update(status=Status.OPEN, opened_at=opened_at)
    election.refresh_from_db()
    params = services.election_params(election)
    (shape,) = params.questions
    assert params.version == 2 and params.slot_count == len(shape.options) == CANDIDATES
    assert (shape.min_selections, shape.max_selections, shape.blank) == (1, 1, False)

    unusable = make_password(None)  # nobody signs in
    voters = [
        User(
            id=uuid.uuid4(),
            username=f"voter-{number:06}",
            password=unusable,
            role=Role.VOTER,
            is_approved=True,
        )
        for number in range(1, size + 1)
    ]
    for chunk in _chunks(voters):
        User.objects.bulk_create(chunk)
    contexts = [services.voter_context(election, voter) for voter in voters]

    n, n_square = params.n, params.n_square
    seed = random.Random(size)
    bases = [seed.randrange(2, n - 1) for _ in range(POOL)]
    powers = [int(gmpy2.powmod(b, n, n_square)) for b in bases]
    _init_worker(params, bases, powers)
    sample = make_ballot((0, contexts[0]))
    crypto.verify_ballot(params, contexts[0], crypto.parse_ballot(params, sample[0]))

    products = [gmpy2.mpz(1)] * params.slot_count
    head = board.genesis_hash(params.fingerprint)
    pending: list[Ballot] = []
    pool = get_context("fork").Pool(generators, _init_worker, (params, bases, powers))
    with pool:
        tasks = enumerate(contexts, start=1)
        made = pool.imap(make_ballot, tasks, chunksize=64)
        for number, (content, _, ciphertexts) in enumerate(made, start=1):
            context = contexts[number - 1]
            cast_at = opened_at + timedelta(milliseconds=37 * number)
            tracker = crypto.tracker_of_json(content)
            head = board.ballot_hash(head, number, context, board.format_cast_at(cast_at), tracker)
            pending.append(
                Ballot(
                    election=election,
                    voter=voters[number - 1],
                    voter_context=context,
                    sequence=number,
                    tracker=tracker,
                    content=content,
                    cast_at=cast_at,
                    chain_hash=head,
                )
            )
            for index, c in enumerate(ciphertexts):
                products[index] = products[index] * c % n_square
            if len(pending) == CHUNK or number == size:
                Ballot.objects.bulk_create(pending)
                pending = []
                rate = number / (time.monotonic() - started)
                print(
                    f"\r  stored {number:,} / {size:,} ballots ({rate:,.0f}/s)",
                    end="",
                    file=sys.stderr,
                )
    print(file=sys.stderr)
    EncryptedTally.objects.create(
        election=election,
        ciphertexts=[int_to_hex(int(total)) for total in products],
        ballot_count=size,
        counted=size,
        head_hash=head,
        is_closed=True,
    )
    Election.objects.filter(pk=election.pk).update(
        status=Status.CLOSED,
        closed_at=cast_at + timedelta(minutes=1),
        closing_hash=board.closing_hash(head, size),
    )
    election.refresh_from_db()
    print(f"  made the election in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return election


def check_ok(what: str, report: Report | str, size: int) -> None:
    if isinstance(report, Report):
        if not report.ok or report.ballots != size:
            raise SystemExit(f"{what} did not pass on {size:,} ballots:\n{report.summary()}")
    elif "ballots: " + str(size) not in report:
        raise SystemExit(f"{what} did not verify {size:,} ballots:\n{report}")


def run_standalone(path: Path, workers: int) -> tuple[int, str]:
    command = [sys.executable, "-m", "elections.verify", str(path)]
    done = subprocess.run(
        [*command, "--workers", str(workers), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def measure(size: int, bits: int, workers: int, folder: Path) -> tuple[Timing, Timing]:
    print(f"{size:,} ballots:", file=sys.stderr)
    use_database(folder / f"tally-{size}.sqlite3")
    election = make_election(size, bits, os.cpu_count() or 1)

    print("  pre-decryption check (record.verify_board)...", file=sys.stderr)
    report, board_time = timed(
        lambda: record.verify_board(election, workers=workers, progress=ProgressPrinter(sys.stderr))
    )
    check_ok("verify_board", report, size)

    path = folder / f"record-{size}.json"
    with path.open("w", encoding="ascii") as out:
        for chunk in record.stream_record(election, include_unpublished=True):
            out.write(chunk)
    print(f"  standalone verifier on {path.stat().st_size / 1e6:,.0f} MB...", file=sys.stderr)
    (code, output), standalone_time = timed(lambda: run_standalone(path, workers))
    if code != 0:
        raise SystemExit(f"the standalone verifier exited with {code}:\n{output}")
    check_ok("the standalone verifier", output, size)
    path.unlink()
    connections.close_all()
    return board_time, standalone_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, nargs="+", default=[10_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bits", type=int, default=3072)
    options = parser.parse_args()
    if options.workers < 1 or min(options.ballots) < 1:
        parser.error("--workers and --ballots must be positive")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tally-check-") as folder:
        for size in options.ballots:
            rows.append((size, *measure(size, options.bits, options.workers, Path(folder))))
    print(
        f"\n{options.bits}-bit key, 1 of {CANDIDATES} candidates, {options.workers} workers, "
        f"{os.cpu_count()} cores; both reports ok"
    )
    print(
        "ballots  check wall s  check CPU ms/ballot  verifier wall s  verifier CPU ms/ballot"
        "  wall ratio  CPU ratio"
    )
    for size, check, alone in rows:
        print(
            f"{size:>7,}  {check.wall:>12.1f}  {check.cpu / size * 1000:>19.2f}"
            f"  {alone.wall:>15.1f}  {alone.cpu / size * 1000:>22.2f}"
            f"  {check.wall / alone.wall:>10.2f}  {check.cpu / alone.cpu:>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
