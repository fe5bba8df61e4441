"""Benchmark the ballot cryptography: encryption, strict and batch verification.

Run: .venv/bin/python -m bench.crypto [--quick] [--bits 3072] [--k 5] [--runs 5]

Every figure is a median over several runs, printed in milliseconds and as a
ratio to one x^n mod n^2 measured in the same run (machines are shared and
noisy: compare ratios; x^n is timed before and after every run and each
ratio uses those neighbours). Batch figures are per ballot. Batches are built by
cycling through up to ten distinct ballots: the cost of the small-exponent
test depends only on sizes, and encrypting hundreds of ballots would
dominate the run. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import gmpy2  # type: ignore[import-untyped]

from elections.crypto import (
    ElectionParams,
    allow_small_keys_for_tests,
    batch_verify,
    encrypt_ballot,
    generate_keypair,
    shutdown_workers,
    verify_ballot,
)

DISTINCT_BALLOTS = 10
Row = dict[str, Any]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed_ms(action: Callable[[], object]) -> float:
    """Wall time of one call of ``action``, in milliseconds."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


class Sampler:
    """Times actions against x^n mod n^2 measured just before and after each run.

    Interleaving keeps the ratios honest when the machine's load changes
    during the benchmark; the medians of the per-run ratios are reported.
    """

    def __init__(self, n: int, runs: int) -> None:
        n_square = n * n
        base = secrets.randbelow(n_square)
        self.power = partial(gmpy2.powmod, base, n, n_square)
        self.runs = runs
        self.power_times: list[float] = []

    def sample(self, action: Callable[[], object], divisor: int = 1) -> tuple[float, float]:
        """Return (median ms, median ratio to x^n) of ``action`` divided by ``divisor``."""
        times, ratios = [], []
        for _ in range(self.runs):
            before = timed_ms(self.power)
            elapsed = timed_ms(action) / divisor
            power = (before + timed_ms(self.power)) / 2
            self.power_times.append(power)
            times.append(elapsed)
            ratios.append(elapsed / power)
        return statistics.median(times), statistics.median(ratios)


def measure(bits: int, ks: list[int], batches: list[int], runs: int, workers: int) -> list[Row]:
    progress(f"[{bits}] generating a key pair")
    public_key, _ = generate_keypair(bits)
    rows = []
    for k in ks:
        sampler = Sampler(public_key.n, runs)
        params = ElectionParams("bench", public_key, tuple(f"c{i}" for i in range(k)))
        progress(f"[{bits} k={k}] encrypting {DISTINCT_BALLOTS} ballots")
        ballots = []
        for i in range(DISTINCT_BALLOTS):
            choice = [int(j == i % k) for j in range(k)]
            ballots.append((f"voter-{i}", encrypt_ballot(params, f"voter-{i}", choice)))
        row: Row = {"bits": bits, "k": k}
        row["encrypt"] = sampler.sample(partial(encrypt_ballot, params, "voter-x", choice))
        progress(f"[{bits} k={k}] strict verification")
        row["strict"] = sampler.sample(partial(verify_ballot, params, *ballots[0]))
        for size in batches:
            items = [ballots[i % len(ballots)] for i in range(size)]
            progress(f"[{bits} k={k}] batch of {size}")
            assert batch_verify(params, items) == []
            row[f"batch{size}"] = sampler.sample(partial(batch_verify, params, items), size)
        if workers > 1:
            size = max(batches)
            items = [ballots[i % len(ballots)] for i in range(size)]
            progress(f"[{bits} k={k}] batch of {size} on {workers} processes")
            parallel = partial(batch_verify, params, items, workers=workers)
            parallel()  # start the pool outside the timing
            row["parallel"] = sampler.sample(parallel, size)
        row["power"] = statistics.median(sampler.power_times)
        progress(f"[{bits} k={k}] x^n mod n^2 = {row['power']:.2f} ms (median)")
        rows.append(row)
    return rows


def print_table(rows: list[Row], batches: list[int], workers: int) -> None:
    columns = ["encrypt", "strict", *(f"batch{size}" for size in batches)]
    titles = ["encrypt+prove", "strict verify", *(f"batch B={size}" for size in batches)]
    if workers > 1:
        columns.append("parallel")
        titles.append(f"B={max(batches)}, {workers} procs")
    header = "| bits | k | x^n ms | " + " | ".join(f"{t}: ms (x^n)" for t in titles) + " |"
    print(header)
    print("|" + "---|" * (3 + len(columns)))
    for row in rows:
        cells = [f"{row[c][0]:.2f} ({row[c][1]:.3f})" for c in columns]
        print(f"| {row['bits']} | {row['k']} | {row['power']:.2f} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[2048, 3072])
    parser.add_argument("--k", type=int, nargs="+", default=[2, 5, 10])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--runs", type=int, default=5, help="runs per median")
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel column")
    parser.add_argument("--quick", action="store_true", help="3 runs, k=5 and batches 1, 10")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.k, args.batches = 3, [5], [1, 10]
    rows = []
    with allow_small_keys_for_tests():  # lets --bits 1024 run for a smoke test
        for bits in args.bits:
            rows.extend(measure(bits, args.k, args.batches, args.runs, args.workers))
    shutdown_workers()
    print_table(rows, args.batches, args.workers)


if __name__ == "__main__":
    main()
