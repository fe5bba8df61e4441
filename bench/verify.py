"""Benchmark of the standalone verifier on synthetic election records.

Usage::

    .venv/bin/python bench/verify.py [--ballots 10000 100000] [--workers 2] [--bits 3072]

For each size it writes a published record of format v2 (one question, 1 of
5 candidates, valid proofs, distinct trackers, a real decryption) to
``var/bench/``, runs ``python -m elections.verify`` on it as a child process
and reports wall time, CPU time per ballot (the child and its worker
processes), peak RSS (``wait4``'s rusage: the largest of those processes) and
the CPU per ballot as a multiple of one x^n mod n^2 measured in the same run.

Making 100,000 honestly random ballots would cost ~16 exponentiations by n
each. Every exponentiation by n here is replaced by products of a pool of
precomputed b_j^n: if r = prod b_j then r^n = prod b_j^n (mod n^2), and a
response z = rho * r^e (mod n) satisfies z^n = rho^n * (r^n)^e. Each
simulated branch of an OR proof uses the same shape, z = sigma * r^e with
commitment sigma^n * g^(-(m - v) * e), which satisfies the branch equation
for the false value v too. So a ballot costs one 128-bit exponentiation
modulo n per proof branch (two per slot, one per allowed count), and its
proofs are as valid, and its challenges as random, as real ones.
``make_ballot`` serves any parameters whose questions allow one choice (or
a blank vote), of either format: ``bench.tally_check`` uses it for the
election it stores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from multiprocessing import get_context
from pathlib import Path

import gmpy2  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evoting.settings")

import django  # noqa: E402

django.setup()

from elections import board, crypto  # noqa: E402
from elections.crypto.encoding import int_to_hex  # noqa: E402
from elections.crypto.proofs import (  # noqa: E402
    CHALLENGE_MODULUS,
    COUNT_LABEL,
    SELECTION_VALUES,
    OrProof,
    canonical_response,
    g_power,
    proof_challenge,
    question_labels,
    selection_label,
    statement_digest,
)
from elections.record import BoardEntry, RecordParts, render_record  # noqa: E402
from elections.verify import voter_roll_commitment  # noqa: E402

CANDIDATES = 5
POOL = 128
FACTORS = 4
OUT_DIR = ROOT / "var" / "bench"

_state: dict[str, object] = {}


def _init_worker(params: crypto.ElectionParams, bases: list[int], powers: list[int]) -> None:
    _state.update(params=params, bases=bases, powers=powers)


def _pick(rng: random.Random) -> tuple[int, int]:
    """A random unit x mod n as a product of pool bases, and x^n mod n^2, by products only."""
    params = _state["params"]
    assert isinstance(params, crypto.ElectionParams)
    bases, powers = _state["bases"], _state["powers"]
    assert isinstance(bases, list) and isinstance(powers, list)
    x, x_n = gmpy2.mpz(1), gmpy2.mpz(1)
    for index in rng.choices(range(POOL), k=FACTORS):
        x = x * bases[index] % params.n
        x_n = x_n * powers[index] % params.n_square
    return int(x), int(x_n)


def _params() -> crypto.ElectionParams:
    params = _state["params"]
    assert isinstance(params, crypto.ElectionParams)
    return params


def _or_proof(
    rng: random.Random, digest: str, label: str, values: tuple[int, ...], truth: int, r: int
) -> OrProof:
    """An OR proof that a ciphertext with randomness ``r`` encrypts ``values[truth]``."""
    params = _params()
    n, n_square = params.n, params.n_square
    value = values[truth]
    rho, rho_n = _pick(rng)
    commitments, challenges, responses = [rho_n] * len(values), [0] * len(values), [0] * len(values)
    for j, other in enumerate(values):
        if j == truth:
            continue
        sigma, sigma_n = _pick(rng)
        e = rng.randrange(CHALLENGE_MODULUS)
        commitments[j] = sigma_n * g_power(-(value - other) * e, n, n_square) % n_square
        challenges[j] = e
        responses[j] = canonical_response(int(sigma * gmpy2.powmod(r, e, n)), n)
    challenge = proof_challenge(digest, label, values, commitments, params.version)
    challenges[truth] = (challenge - sum(challenges)) % CHALLENGE_MODULUS
    responses[truth] = canonical_response(int(rho * gmpy2.powmod(r, challenges[truth], n)), n)
    return OrProof(tuple(commitments), tuple(challenges), tuple(responses))


def _labels(params: crypto.ElectionParams, index: int) -> tuple[list[str], str]:
    question = params.questions[index]
    if params.version == 1:
        return [selection_label(i) for i in range(question.width)], COUNT_LABEL
    return question_labels(index, len(question.options), question.blank)


def make_ballot(task: tuple[int, str]) -> tuple[str, str, list[int]]:
    """Return (canonical JSON, tracker, ciphertexts) of a valid ballot for voter context.

    Ballot ``number`` chooses, in each question, the slot ``number`` modulo
    the question's width: one option, or the blank vote.
    """
    number, context = task
    params = _params()
    n, n_square = params.n, params.n_square
    rng = random.Random(number)
    choice = [int(j == number % q.width) for q in params.questions for j in range(q.width)]
    randomness = [_pick(rng) for _ in choice]
    ciphertexts = tuple(
        (1 + m * n) * r_n % n_square for m, (_, r_n) in zip(choice, randomness, strict=True)
    )
    digest = statement_digest(params.fingerprint, context, ciphertexts, params.version)
    proofs: list[OrProof] = []
    counts: list[OrProof] = []
    for index, (question, start) in enumerate(zip(params.questions, params.offsets, strict=True)):
        labels, count_label = _labels(params, index)
        options = len(question.options)
        total, total_r = 0, 1
        for slot, label in enumerate(labels, start=start):
            m, r = choice[slot], randomness[slot][0]
            proofs.append(_or_proof(rng, digest, label, SELECTION_VALUES, m, r))
            weight = 1 if slot - start < options else question.blank_weight
            total += weight * m
            total_r = total_r * pow(r, weight, n) % n
        values = question.count_values
        counts.append(_or_proof(rng, digest, count_label, values, values.index(total), total_r))
    ballot = crypto.Ballot(ciphertexts, tuple(proofs), tuple(counts))
    return (
        crypto.ballot_to_json(ballot, params),
        crypto.ballot_tracker(ballot, params),
        list(ciphertexts),
    )


def generate(size: int, bits: int, path: Path) -> None:
    """Write a published record of ``size`` ballots to ``path``."""
    started = time.monotonic()
    public_key, private_key = crypto.generate_keypair(bits)
    options = tuple(
        crypto.OptionParams(str(uuid.uuid4()), f"Candidate {i}") for i in range(1, CANDIDATES + 1)
    )
    params = crypto.ElectionParams(
        str(uuid.uuid4()),
        public_key,
        (crypto.QuestionParams(options, title="Chair"),),
        f"Benchmark election, {size:,} ballots",
    )
    n, n_square = params.n, params.n_square
    seed = random.Random(size)
    bases = [seed.randrange(2, n - 1) for _ in range(POOL)]
    powers = [int(gmpy2.powmod(b, n, n_square)) for b in bases]
    contexts = (f"vc1-{number:040x}" for number in range(1, size + 1))
    _init_worker(params, bases, powers)
    sample = make_ballot((0, "vc1-sample"))
    crypto.verify_ballot(params, "vc1-sample", crypto.parse_ballot(params, sample[0]))
    products = [gmpy2.mpz(1)] * params.slot_count
    head = board.genesis_hash(params.fingerprint)
    with tempfile.TemporaryFile("w+", dir=OUT_DIR) as board_file:
        pool = get_context("fork").Pool(2, _init_worker, (params, bases, powers))
        with pool:
            tasks = enumerate(contexts, start=1)
            for number, (content, tracker, ciphertexts) in enumerate(
                pool.imap(make_ballot, tasks, chunksize=64), start=1
            ):
                context = f"vc1-{number:040x}"
                cast_at = f"2026-03-01T{8 + number // 3_600_000:02d}:00:00.000Z"
                head = board.ballot_hash(head, number, context, cast_at, tracker)
                board_file.write(f"{context}\t{cast_at}\t{tracker}\t{head}\t{content}\n")
                for index, c in enumerate(ciphertexts):
                    products[index] = products[index] * c % n_square
                if number % 1000 == 0 or number == size:
                    rate = number / (time.monotonic() - started)
                    print(f"\r  generated {number:,} / {size:,} ({rate:,.0f}/s)", end="")
        print()
        board_file.seek(0)
        totals = [int(total) for total in products]
        results: list[dict[str, str | None]] = []
        for option, total in zip(options, totals, strict=True):
            count, proof = crypto.decrypt_with_proof(private_key, total)
            results.append(
                {
                    "question": "0",
                    "option": option.id,
                    "count": int_to_hex(count),
                    "ciphertext": int_to_hex(total),
                    "proof": int_to_hex(proof),
                }
            )
        parts = RecordParts(
            election={
                "id": params.election_id,
                "slug": f"bench-{size}",
                "title": params.title,
                "status": "published",
                "opened_at": "2026-03-01T08:00:00.000Z",
                "closed_at": "2026-03-31T18:00:00.000Z",
                "published_at": "2026-03-31T18:05:00.000Z",
                "ballot_count": int_to_hex(size),
            },
            params=json.loads(crypto.params_to_json(params)),
            voter_roll={
                "mode": "all",
                "eligible": int_to_hex(size),
                "commitment": voter_roll_commitment(
                    f"vc1-{number:040x}" for number in range(1, size + 1)
                ),
            },
            chain={
                "genesis": board.genesis_hash(params.fingerprint),
                "head": head,
                "closing": board.closing_hash(head, size),
            },
            encrypted_tally={
                "ciphertexts": [int_to_hex(t) for t in totals],
                "ballot_count": int_to_hex(size),
            },
            results=results,
        )
        with path.open("w", encoding="ascii") as out:
            for chunk in render_record(parts, _entries(board_file)):
                out.write(chunk)
    megabytes = path.stat().st_size / 1e6
    print(f"  wrote {path} ({megabytes:,.0f} MB) in {time.monotonic() - started:.0f} s")


def _entries(board_file: Iterable[str]) -> Iterator[BoardEntry]:
    for number, line in enumerate(board_file, start=1):
        context, cast_at, tracker, chain_hash, content = line.rstrip("\n").split("\t")
        yield BoardEntry(number, context, cast_at, tracker, chain_hash, content)


def power_baseline(bits: int) -> float:
    """Median seconds of one x^n mod n^2 with gmpy2, for this key size."""
    public_key, _ = crypto.generate_keypair(bits)
    n = gmpy2.mpz(public_key.n)
    n_square = n * n
    timings = []
    for x in range(3, 23):
        started = time.perf_counter()
        gmpy2.powmod(x * 7919 + n // 3, n, n_square)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def run_verifier(path: Path, workers: int) -> tuple[float, float, int, int]:
    """Run the CLI verifier on ``path``; return wall s, CPU s, peak RSS bytes, exit code."""
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "elections.verify", str(path), "--workers", str(workers)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    print("  " + output.strip().splitlines()[-1])
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, child.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, nargs="+", default=[10_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bits", type=int, default=3072)
    parser.add_argument("--keep", action="store_true", help="keep the record files")
    options = parser.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    baseline = power_baseline(options.bits)
    print(f"baseline: x^n mod n^2 at {options.bits} bits = {baseline * 1000:.2f} ms")
    rows = []
    for size in options.ballots:
        path = OUT_DIR / f"record-{size}.json"
        print(f"{size:,} ballots:")
        generate(size, options.bits, path)
        wall, cpu, rss, code = run_verifier(path, options.workers)
        rows.append((size, wall, cpu, rss, code))
        if not options.keep:
            path.unlink()
    print()
    print("ballots   exit  wall s  ballots/s  CPU ms/ballot  x (x^n)  peak RSS MB")
    for size, wall, cpu, rss, code in rows:
        per_ballot = cpu / size
        print(
            f"{size:>7,}  {code:>4}  {wall:>6.1f}  {size / wall:>9,.0f}  {per_ballot * 1000:>13.2f}"
            f"  {per_ballot / baseline:>7.3f}  {rss / 2**20:>11.0f}"
        )
    print("targets: <= 3 ms CPU per ballot; 100,000 ballots in < 180 s; peak RSS < 300 MB")
    return 0 if all(row[4] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
