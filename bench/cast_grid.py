"""The casting benchmark over a grid: web workers x ballot boxes x concurrent clients.

Run: .venv/bin/python -m bench.cast_grid --database-url postgres://... [--voters 1000]
     [--bits 3072] [--workers 1 2 4] [--boxes 1 8 64] [--clients 32 250 1000]
     [--revote 0.1] [--questions two]

Each cell is one ``bench.cast`` run on a fresh database (the same election, key and
cached ballots in every cell, so only the site's layout changes): the sustained
rate of accepted ballots, latency p50 / p99, the server's CPU per ballot split into
the web processes' work and the proof checks, the transactions PostgreSQL rolled
back (lost races, retried) per ballot, and whether the decrypted tally is exactly
each voter's last accepted ballot (no ballot lost or counted twice). The cells run
one after another on the same machine; the first row is the baseline each rate is
compared with, measured in the same run. Progress goes to stderr, the table
(Markdown) to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import sys
from collections.abc import Sequence

from bench import cast


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server; default: SQLite")
    parser.add_argument("--voters", type=int, default=1000)
    parser.add_argument("--bits", type=int, default=3072)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--boxes", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--clients", type=int, nargs="+", default=[32, 250, 1000])
    parser.add_argument("--revote", type=float, default=0.0)
    parser.add_argument("--questions", choices=("one", "two"), default="two")
    parser.add_argument("--threads", type=int, default=32)
    return parser.parse_args(argv)


def cell_args(args: argparse.Namespace, workers: int, boxes: int, clients: int) -> list[str]:
    argv = [
        f"--voters={args.voters}",
        f"--bits={args.bits}",
        f"--workers={workers}",
        f"--threads={args.threads}",
        f"--boxes={boxes}",
        f"--concurrency={clients}",
        f"--revote={args.revote}",
        f"--questions={args.questions}",
        # One verifier process per worker, as the site runs by default: a second one
        # splits the waiting ballots into smaller batches, each paying its own x^n.
        "--verify-processes=1",
    ]
    if args.database_url:
        argv.append(f"--database-url={args.database_url}")
    return argv


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    cores = os.cpu_count() or 1
    cast.CACHE.mkdir(parents=True, exist_ok=True)
    layout = cast.TWO_QUESTIONS if args.questions == "two" else cast.one_question(5)
    tag = "two-questions" if args.questions == "two" else "5"
    print(
        "| workers | boxes | clients | ballots/s | vs first | p50 ms | p99 ms "
        "| CPU ms/ballot (web + proofs) | cores busy | rolled back/ballot | tally |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    baseline = None
    grid = list(itertools.product(args.workers, args.boxes, args.clients))
    for number, (workers, boxes, clients) in enumerate(grid, start=1):
        print(
            f"[{number}/{len(grid)}] {workers} workers, {boxes} boxes, {clients} clients",
            file=sys.stderr,
        )
        run_args = cast.parse_args(cell_args(args, workers, boxes, clients))
        with contextlib.redirect_stdout(io.StringIO()):
            run = cast.run_layout(run_args, layout, cores, tag)
        accepted = [r for r in run.load.responses if r.status == 201]
        latencies = [r.seconds for r in accepted] or [0.0]
        rate = len(accepted) / run.load.seconds
        baseline = baseline or rate
        per = max(len(accepted), 1)
        cpu = run.load.server_cpu
        rolled = "n/a" if run.load.rollbacks is None else f"{run.load.rollbacks / per:.3f}"
        refused = len(run.load.responses) - len(accepted)
        print(
            f"| {workers} | {boxes} | {clients} | {rate:.1f} | {rate / baseline:.2f} "
            f"| {cast.percentile(latencies, 0.5) * 1000:.0f} "
            f"| {cast.percentile(latencies, 0.99) * 1000:.0f} "
            f"| {cpu.total / per * 1000:.1f} ({cpu.web / per * 1000:.1f} + "
            f"{cpu.proofs / per * 1000:.1f}) | {cpu.total / run.load.seconds:.2f} of {cores} "
            f"| {rolled} | {'OK' if run.correct else 'MISMATCH'}"
            + (f", {refused} refused" if refused else "")
            + " |",
            flush=True,
        )


if __name__ == "__main__":
    main()
