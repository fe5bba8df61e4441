"""Benchmark the ballot cryptography: encryption, strict and batch verification.

Run: .venv/bin/python -m bench.crypto [--quick] [--bits 3072] [--k 5] [--runs 5]
     .venv/bin/python -m bench.crypto --compare-only [--bits 3072] [--compare-batch 100]

Every figure is a median over several runs, printed in milliseconds and as a
ratio to one x^n mod n^2 measured in the same run (machines are shared and
noisy: compare ratios; x^n is timed before and after every run and each
ratio uses those neighbours). Batch figures are per ballot. Batches are built by
cycling through up to ten distinct ballots: the cost of the small-exponent
test depends only on sizes, and encrypting hundreds of ballots would
dominate the run. Progress goes to stderr, the tables to stdout.

The first table has one row per key size and number of options k (a single
1-of-k question). The second sets two elections side by side at the largest
key size given: two questions (1 of 4 options, then yes or no with a blank
vote: 7 slots) and one question of 5 options (1 of 5: 5 slots), with the
canonical ballot's size in bytes, the size cap of ``max_ballot_bytes`` and
the ratio of the first to the second; ``--compare-only`` prints only that.
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
from phe import paillier

from elections.crypto import (
    Ballot,
    ElectionParams,
    OptionParams,
    QuestionParams,
    allow_small_keys_for_tests,
    ballot_to_json,
    batch_verify,
    encrypt_ballot,
    generate_keypair,
    max_ballot_bytes,
    shutdown_workers,
    verify_ballot,
)

DISTINCT_BALLOTS = 10
Row = dict[str, Any]


def one_question(public_key: paillier.PaillierPublicKey, k: int) -> ElectionParams:
    """A v2 election of one 1-of-k question."""
    options = tuple(OptionParams(f"c{i}", f"Candidate {i}") for i in range(k))
    question = QuestionParams(options, title="Chair")
    return ElectionParams("bench", public_key, (question,), "Benchmark election")


def two_questions(public_key: paillier.PaillierPublicKey) -> ElectionParams:
    """A v2 election of 1 of 4 candidates, then yes or no with a blank vote (7 slots)."""
    candidates = tuple(OptionParams(f"c{i}", f"Candidate {i}") for i in range(4))
    motion = (OptionParams("yes", "Yes"), OptionParams("no", "No"))
    return ElectionParams(
        "bench",
        public_key,
        (
            QuestionParams(candidates, title="Chair"),
            QuestionParams(motion, blank=True, title="Adopt the motion?"),
        ),
        "Benchmark election",
    )


def valid_choice(params: ElectionParams, i: int) -> list[int]:
    """The i-th of several valid choices: per question one option, or the blank, in turn."""
    choice: list[int] = []
    for question in params.questions:
        width = question.width
        choice.extend(int(j == i % width) for j in range(width))
    return choice


def sample_ballots(params: ElectionParams) -> list[tuple[str, Ballot]]:
    """DISTINCT_BALLOTS valid ballots of different voters and choices."""
    return [
        (f"voter-{i}", encrypt_ballot(params, f"voter-{i}", valid_choice(params, i)))
        for i in range(DISTINCT_BALLOTS)
    ]


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
        params = one_question(public_key, k)
        progress(f"[{bits} k={k}] encrypting {DISTINCT_BALLOTS} ballots")
        ballots = sample_ballots(params)
        choice = valid_choice(params, 0)
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


ELECTIONS: dict[str, Callable[[paillier.PaillierPublicKey], ElectionParams]] = {
    "2 questions (1 of 4; yes/no/blank)": two_questions,
    "1 question (1 of 5)": partial(one_question, k=5),
}
METRICS = [
    ("encrypt", "encrypt+prove ms"),
    ("strict", "strict verify ms/ballot"),
    ("batch", "batch verify ms/ballot"),
]


def compare(bits: int, batch_size: int, runs: int) -> list[Row]:
    """Measure the ELECTIONS under one key, interleaved against the same x^n baseline."""
    progress(f"[{bits}] generating a key pair for the comparison")
    public_key, _ = generate_keypair(bits)
    sampler = Sampler(public_key.n, runs)
    rows = []
    for name, make in ELECTIONS.items():
        params = make(public_key)
        progress(f"[{bits} {name}] encrypting {DISTINCT_BALLOTS} ballots")
        ballots = sample_ballots(params)
        sizes = [len(ballot_to_json(ballot, params).encode()) for _, ballot in ballots]
        row: Row = {
            "election": name,
            "slots": params.slot_count,
            "branches": 2 * params.slot_count
            + sum(len(question.count_values) for question in params.questions),
            "bytes": statistics.median(sizes),
            "cap": max_ballot_bytes(params),
        }
        choice = valid_choice(params, 0)
        row["encrypt"] = sampler.sample(partial(encrypt_ballot, params, "voter-x", choice))
        progress(f"[{bits} {name}] strict verification")
        row["strict"] = sampler.sample(partial(verify_ballot, params, *ballots[0]))
        items = [ballots[i % len(ballots)] for i in range(batch_size)]
        progress(f"[{bits} {name}] batch of {batch_size}")
        assert batch_verify(params, items) == []
        row["batch"] = sampler.sample(partial(batch_verify, params, items), batch_size)
        rows.append(row)
    power = statistics.median(sampler.power_times)
    progress(f"[{bits}] x^n mod n^2 = {power:.2f} ms (median)")
    for row in rows:
        row["power"] = power
    return rows


def print_comparison(rows: list[Row], bits: int, batch_size: int) -> None:
    """The elections side by side, and the ratio of the first to the second."""
    first, second = rows
    print(f"\nTwo elections side by side, n = {bits} bits, batches of {batch_size}, medians")
    print(f"| figure | {first['election']} | {second['election']} | ratio |")
    print("|---|---|---|---|")
    for key, title in (("slots", "slots"), ("branches", "proof branches (x^n each)")):
        print(f"| {title} | {first[key]} | {second[key]} | {first[key] / second[key]:.2f} |")
    for key, title in METRICS:
        # The ratio of the x^n multiples: each was timed against its own neighbours.
        (one, one_power), (two, two_power) = first[key], second[key]
        print(
            f"| {title} (x^n) | {one:.2f} ({one_power:.2f}) | {two:.2f} ({two_power:.2f}) "
            f"| {one_power / two_power:.2f} |"
        )
    for key, title in (("bytes", "ballot bytes (canonical JSON)"), ("cap", "size cap bytes")):
        print(
            f"| {title} | {first[key]:,.0f} | {second[key]:,.0f} | {first[key] / second[key]:.2f} |"
        )
    print(f"x^n mod n^2 in this run: {first['power']:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[2048, 3072])
    parser.add_argument("--k", type=int, nargs="+", default=[2, 5, 10])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--runs", type=int, default=5, help="runs per median")
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel column")
    parser.add_argument("--quick", action="store_true", help="3 runs, k=5 and batches 1, 10")
    parser.add_argument(
        "--compare-batch", type=int, default=100, help="batch size of the election comparison"
    )
    parser.add_argument(
        "--compare-only", action="store_true", help="only the two elections, at the largest --bits"
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.k, args.batches = 3, [5], [1, 10]
    rows = []
    with allow_small_keys_for_tests():  # lets --bits 1024 run for a smoke test
        if not args.compare_only:
            for bits in args.bits:
                rows.extend(measure(bits, args.k, args.batches, args.runs, args.workers))
        compared = compare(max(args.bits), args.compare_batch, args.runs)
    shutdown_workers()
    if rows:
        print_table(rows, args.batches, args.workers)
    print_comparison(compared, max(args.bits), args.compare_batch)


if __name__ == "__main__":
    main()
