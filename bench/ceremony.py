"""Benchmark the trustees' work: the key ceremony, a partial decryption, verifying, combining.

Run: .venv/bin/python -m bench.ceremony [--bits 3072] [--runs 3] [--ballots 1000 100000]

The ceremony deals a 3-of-5 key (``threshold.deal``) and seals the five
shares (``files.dump_share``: one scrypt each), as ``python -m
elections.trustee ceremony`` does; its time is split into finding the two
safe primes, computing the shares and verification keys, and sealing. Safe
prime searches vary a lot from run to run: medians, minima and maxima are
printed.

Decryption is measured on an election of 7 slots (2 questions: 1 of 4
candidates; yes, no or a blank vote), for totals made of each ``--ballots``
count of ballots. A total is the product of every ballot's ciphertext for
its slot; the ballots are drawn from a pool of fresh encryptions (encrypting
100,000 ballots would take the whole run and change nothing: the product is
one element of ``Z*_(n^2)`` whatever its factors). For each size the bench
times one trustee's partial decryption of the 7 totals with its proofs, the
check of three trustees' partial decryption files, and combining them, and
checks that the counts are the pool's. Times are medians over ``--runs``, in
milliseconds and as a ratio to one ``x^n mod n^2`` measured around each run
(machines are shared and noisy: compare ratios). Progress goes to stderr,
the tables to stdout.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import gmpy2  # type: ignore[import-untyped]

from bench.crypto import Sampler, progress, two_questions
from elections.crypto.keys import DEFAULT_KEY_BITS, allow_small_keys_for_tests, minimum_key_bits
from elections.crypto.threshold import KeyShare, deal
from elections.trustee.decryption import combine_tally, partially_decrypt_tally
from elections.trustee.files import (
    EncryptedTally,
    TrusteePublicKey,
    check_partial_file,
    dump_partial,
    dump_share,
    make_public_key,
)

TRUSTEES, THRESHOLD = 5, 3
POOL = 16
PASSPHRASE = "a passphrase for the benchmark"  # noqa: S105 (seals a throwaway key)
CLOSING_HASH = "0" * 64


def time_ceremony(bits: int) -> tuple[dict[str, float], TrusteePublicKey, list[KeyShare]]:
    """One ceremony: seconds for the safe primes, the shares, the sealing and in all."""
    marks: dict[str, float] = {}

    def on_step(step: str) -> None:
        marks.setdefault(step, time.perf_counter())
        progress(f"  dealing: {step}")

    started = time.perf_counter()
    key, shares = deal(bits, THRESHOLD, TRUSTEES, progress=on_step)
    dealt = time.perf_counter()
    public = make_public_key("bench", key)
    for share in shares:
        dump_share(public, share, passphrase=PASSPHRASE)
    sealed = time.perf_counter()
    split = marks["shares and verification keys"]
    seconds = {
        "safe primes": split - marks["first safe prime"],
        "shares and verification keys": dealt - split,
        f"sealing {TRUSTEES} shares (scrypt)": sealed - dealt,
        "ceremony in all": sealed - started,
    }
    return seconds, public, shares


def print_ceremony(bits: int, runs: list[dict[str, float]]) -> None:
    print(f"## Ceremony: N = {TRUSTEES}, K = {THRESHOLD}, {bits}-bit modulus, {len(runs)} run(s)")
    print()
    print("| step | median s | min s | max s | share of the ceremony (median) |")
    print("|---|---|---|---|---|")
    for step in runs[0]:
        values = [run[step] for run in runs]
        share = statistics.median(run[step] / run["ceremony in all"] for run in runs)
        print(
            f"| {step} | {statistics.median(values):.2f} | {min(values):.2f} "
            f"| {max(values):.2f} | {share:.0%} |"
        )
    print()


def make_totals(
    public: TrusteePublicKey, ballots: int, seed: int
) -> tuple[EncryptedTally, tuple[int, ...]]:
    """Totals of ``ballots`` ballots drawn from a pool of fresh encryptions, and their counts."""
    params = two_questions(public.paillier_public_key)
    rng = random.Random(seed)
    n_square = public.key.n_square
    totals, counts = [], []
    for _ in range(params.slot_count):
        bits = [rng.randrange(2) for _ in range(POOL)]
        pool = [
            gmpy2.mpz(public.paillier_public_key.encrypt(bit).ciphertext(be_secure=False))
            for bit in bits
        ]
        total, count = gmpy2.mpz(1), 0
        for _ in range(ballots):
            pick = rng.randrange(POOL)
            total = total * pool[pick] % n_square
            count += bits[pick]
        totals.append(int(total))
        counts.append(count)
    return EncryptedTally(params, ballots, CLOSING_HASH, tuple(totals)), tuple(counts)


@dataclass(frozen=True)
class DecryptionRow:
    """Medians (ms, ratio to x^n) for totals of one election size."""

    ballots: int
    total_bits: int
    partial: tuple[float, float]
    verify: tuple[float, float]
    combine: tuple[float, float]
    counts_right: bool
    power_ms: float

    def cells(self) -> list[tuple[float, float]]:
        return [self.partial, self.verify, self.combine]


def time_decryption(
    public: TrusteePublicKey, shares: Sequence[KeyShare], ballots: int, runs: int
) -> DecryptionRow:
    progress(f"[{ballots:,} ballots] building the totals")
    tally, expected = make_totals(public, ballots, seed=ballots)
    sampler = Sampler(public.key.n, runs)
    present = shares[:THRESHOLD]
    progress(f"[{ballots:,} ballots] partial decryptions")
    files = [dump_partial(partially_decrypt_tally(public, share, tally)) for share in present]
    checked = [check_partial_file(public, tally, data) for data in files]
    counts = combine_tally(public, tally, checked)
    progress(f"[{ballots:,} ballots] timing")
    return DecryptionRow(
        ballots=ballots,
        total_bits=max(value.bit_length() for value in tally.ciphertexts),
        partial=sampler.sample(partial(partially_decrypt_tally, public, present[0], tally)),
        verify=sampler.sample(lambda: [check_partial_file(public, tally, d) for d in files]),
        combine=sampler.sample(partial(combine_tally, public, tally, checked)),
        counts_right=counts == expected,
        power_ms=statistics.median(sampler.power_times),
    )


def print_decryption(bits: int, rows: list[DecryptionRow]) -> None:
    print(f"## Decryption: 7 slots, {bits}-bit modulus, totals of growing elections")
    print()
    print(
        "| totals made of | largest total, bits | one trustee: partial decryption + proofs, "
        f"ms (x^n) | checking {THRESHOLD} partial files, ms (x^n) | combining {THRESHOLD}, "
        "ms (x^n) | counts right |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        timed = " | ".join(f"{ms:.1f} ({ratio:.1f})" for ms, ratio in row.cells())
        print(f"| {row.ballots:,} ballots | {row.total_bits} | {timed} | {row.counts_right} |")
    print()
    first, last = rows[0], rows[-1]
    ratios = [b[1] / a[1] for a, b in zip(first.cells(), last.cells(), strict=True)]
    print(
        f"x^n mod n^2: {statistics.median(row.power_ms for row in rows):.2f} ms (median). "
        f"{last.ballots:,} against {first.ballots:,} ballots, in x^n: partial "
        f"{ratios[0]:.2f}x, checking {ratios[1]:.2f}x, combining {ratios[2]:.2f}x. The inputs "
        f"have the same size ({first.total_bits} and {last.total_bits} bits): the same work."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bits", type=int, default=DEFAULT_KEY_BITS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ballots", type=int, nargs="+", default=[1_000, 100_000])
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    with allow_small_keys_for_tests():
        # Sizes below the production floor are allowed for a quick run: say so.
        if options.bits < 2048:
            progress(f"note: {options.bits} bits is below the production floor of 2048")
        if options.bits < minimum_key_bits():
            parser.error(f"--bits must be at least {minimum_key_bits()}")
        ceremonies = []
        for run in range(1, options.runs + 1):
            progress(f"[ceremony {run}/{options.runs}] {options.bits} bits")
            seconds, public, shares = time_ceremony(options.bits)
            ceremonies.append(seconds)
        print_ceremony(options.bits, ceremonies)
        rows = [time_decryption(public, shares, count, options.runs) for count in options.ballots]
        print_decryption(options.bits, rows)


if __name__ == "__main__":
    main()
