"""Benchmark of the standalone verifier on synthetic election records, beside the previous code.

Usage::

    .venv/bin/python bench/verify.py [--ballots 10000 100000] [--runs 3] [--workers 2]
                                     [--bits 3072] [--ballot demo|one-of-5] [--keep]

For each size it writes a published record of format v2 for the demo ballot
(1 of 4 candidates, then yes, no or a blank vote: 7 slots, 17 proof
branches), or with ``--ballot one-of-5`` one question of 5 candidates (5
slots, 11 branches: the shape of the earliest figures); valid proofs,
distinct trackers, a real decryption; to
``var/bench/`` and runs the verifier on it ``--runs`` times on each of two
code paths, taking turns:

- ``previous``: the proof checks as they were before the digit arithmetic
  of ``elections/crypto/multiexp.py`` (kept below): Pippenger's method on
  whole numbers modulo n^2 with one window width for all exponents, and hex
  parsed through a regular expression;
- ``current``: the working tree.

Each run is a child process, ``bench/verify.py --run-verifier``, that calls
the ``python -m elections.verify`` entry point. The environment variable
``BENCH_VERIFY_CODE_PATH`` selects the path: the verifier's worker
processes are spawned, so they import this file again, inherit the variable
and install the same path. For each size and path it prints the medians of
CPU time per ballot (the child and its workers, from ``wait4``), the same
as a multiple of one x^n mod n^2 (timed just before and just after each
run), wall time, and peak memory: of the largest process (``wait4``'s
``ru_maxrss``) and of the whole process tree (proportional set sizes
summed, shared pages counted once, sampled every 0.5 s). Then the ratios
current/previous, as medians of the per-run ratios: the machine is shared
and noisy, so only figures measured side by side are compared.

Making 100,000 honestly random ballots would cost ~40 exponentiations by n
each. Every exponentiation by n here is replaced by products of a pool of
precomputed b_j^n: if r = prod b_j then r^n = prod b_j^n (mod n^2), and a
response z = rho * r^e (mod n) satisfies z^n = rho^n * (r^n)^e. Each
simulated branch of an OR proof uses the same shape, z = sigma * r^e with
commitment sigma^n * g^(-(m - v) * e), which satisfies the branch equation
for the false value v too. The r^e of a slot's 0/1 proof comes from
fixed-base tables of the pool (b_j^(d * 256^i) mod n: 16 products for a
128-bit e per factor); a count proof's r is a product of many factors, so
its r^e is one 128-bit exponentiation. The proofs are as valid, and their
challenges as random, as real ones: the verifier checks all of them, and
the run fails unless it exits 0. Randomness values are products of
``FACTORS`` of the ``POOL`` bases, so a ciphertext may repeat in other
ballots; a tracker or voter context never does. ``make_ballot`` serves any
parameters whose questions allow one choice (or a blank vote), of either
format: ``bench.tally_check`` uses it for the election it stores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

import gmpy2  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evoting.settings")

from elections import board, crypto  # noqa: E402
from elections.crypto import encoding, multiexp  # noqa: E402
from elections.crypto.encoding import int_to_hex  # noqa: E402
from elections.crypto.errors import CryptoError, ParameterError  # noqa: E402
from elections.crypto.proofs import (  # noqa: E402
    CHALLENGE_BITS,
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
from elections.verify import voter_roll_commitment  # noqa: E402
from elections.verify.results import slot_owner  # noqa: E402

CANDIDATES = 5  # bench.tally_check's election: one question of 5
POOL = 32
FACTORS = 3
TABLE_WINDOW_BITS = 8
OUT_DIR = ROOT / "var" / "bench"
CODE_PATH_VARIABLE = "BENCH_VERIFY_CODE_PATH"
CODE_PATHS = ("previous", "current")
TARGET_MS = 3.0
TARGET_RSS_MB = 300

# --- The previous code path ------------------------------------------------------------
# The functions the digit arithmetic replaced, as they were; the rest of the
# verifier is shared by both paths.


def _previous_multi_exp(bases: Sequence[int], exponents: Sequence[int], modulus: int) -> int:
    if len(bases) != len(exponents):
        raise ParameterError("multi_exp needs as many exponents as bases")
    if any(e < 0 for e in exponents):
        raise ParameterError("multi_exp needs non-negative exponents")
    pairs = sorted(
        (
            (gmpy2.mpz(e), gmpy2.mpz(b) % modulus)
            for b, e in zip(bases, exponents, strict=True)
            if e
        ),
        key=lambda pair: -pair[0].bit_length(),
    )
    if not pairs:
        return 1 % modulus
    lengths = [int(e.bit_length()) for e, _ in pairs]
    width = _previous_window_bits(lengths)
    mask = (1 << width) - 1
    result = gmpy2.mpz(1)
    active = 0
    for window in reversed(range((lengths[0] + width - 1) // width)):
        shift = window * width
        while active < len(pairs) and lengths[active] > shift:
            active += 1
        if result != 1:
            result = gmpy2.powmod(result, 1 << width, modulus)
        buckets: list[Any] = [None] * (mask + 1)
        for exponent, base in pairs[:active]:
            digit = (exponent >> shift) & mask
            if digit:
                held = buckets[digit]
                buckets[digit] = base if held is None else held * base % modulus
        result = result * _previous_weighted_bucket_product(buckets, modulus) % modulus
    return int(result)


def _previous_weighted_bucket_product(buckets: list[Any], modulus: int) -> Any:
    running = None
    total = gmpy2.mpz(1)
    for bucket in reversed(buckets[1:]):
        if bucket is not None:
            running = bucket if running is None else running * bucket % modulus
        if running is not None:
            total = total * running % modulus
    return total


def _previous_multi_exp_square(bases: Sequence[int], exponents: Sequence[int], n: int) -> int:
    return _previous_multi_exp(bases, exponents, n * n)


def _previous_window_bits(lengths: Sequence[int]) -> int:
    def cost(width: int) -> int:
        windows = (lengths[0] + width - 1) // width
        return sum((bits + width - 1) // width for bits in lengths) + windows * (2 << width)

    return min(range(1, 17), key=cost)


_PREVIOUS_HEX_RE = re.compile(r"0|[1-9a-f][0-9a-f]*")


def _previous_parse_hex(
    value: object, *, field: str, max_digits: int, error: type[CryptoError]
) -> int:
    if not isinstance(value, str):
        raise error(f"{field}: expected a hex string, got {type(value).__name__}")
    if not value or len(value) > max_digits:
        raise error(f"{field}: hex string must have 1 to {max_digits} digits")
    if _PREVIOUS_HEX_RE.fullmatch(value) is None:
        raise error(f"{field}: not a canonical lowercase hex integer")
    return int(value, 16)


def use_previous_code_path() -> None:
    """Put the previous functions wherever the verifier's modules hold the current ones."""
    replacements: dict[int, tuple[object, object]] = {
        id(current): (current, previous)
        for current, previous in (
            (multiexp.multi_exp, _previous_multi_exp),
            (multiexp.multi_exp_square, _previous_multi_exp_square),
            (encoding.parse_hex, _previous_parse_hex),
        )
    }
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("elections"):
            continue
        for name, value in list(vars(module).items()):
            current, previous = replacements.get(id(value), (None, None))
            if current is not None and value is current:
                setattr(module, name, previous)


if os.environ.get(CODE_PATH_VARIABLE) == "previous":
    # Runs in the verifier child and again in each worker it spawns.
    use_previous_code_path()

# --- Synthetic records ------------------------------------------------------------------


class Unit(NamedTuple):
    """A random unit x mod n as a product of pool bases, with x^n mod n^2."""

    factors: tuple[int, ...]
    value: Any  # gmpy2.mpz
    power: Any


_state: dict[str, Any] = {}


def _init_worker(params: crypto.ElectionParams, bases: list[int], powers: list[int]) -> None:
    # A forked worker inherits the tables of its parent's pool and key.
    if _state.get("source") is not bases or _state.get("n") != params.n:
        n = gmpy2.mpz(params.n)
        _state.update(
            source=bases,
            n=n,
            n_square=n * n,
            bases=[gmpy2.mpz(b) for b in bases],
            powers=[gmpy2.mpz(p) for p in powers],
            tables=_tables(bases, n),
        )
    _state["params"] = params


def _tables(bases: list[int], n: Any) -> list[list[list[Any]]]:
    """table[k][i][d] = bases[k] ^ (d * 2^(8 i)) mod n, for exponents below 2^128."""
    tables = []
    size = 1 << TABLE_WINDOW_BITS
    for base in bases:
        rows = []
        step = gmpy2.mpz(base)
        for _ in range(CHALLENGE_BITS // TABLE_WINDOW_BITS):
            row = [gmpy2.mpz(1)]
            for _ in range(size - 1):
                row.append(row[-1] * step % n)
            rows.append(row)
            step = row[-1] * step % n
        tables.append(rows)
    return tables


def _params() -> crypto.ElectionParams:
    params = _state["params"]
    assert isinstance(params, crypto.ElectionParams)
    return params


def _pick(rng: random.Random) -> Unit:
    n, n_square, bases, powers = _state["n"], _state["n_square"], _state["bases"], _state["powers"]
    factors = tuple(rng.choices(range(len(bases)), k=FACTORS))
    x, x_n = gmpy2.mpz(1), gmpy2.mpz(1)
    for index in factors:
        x = x * bases[index] % n
        x_n = x_n * powers[index] % n_square
    return Unit(factors, x, x_n)


def _table_power(unit: Unit, e: int) -> Any:
    """unit.value ^ e mod n for 0 <= e < 2^128, from the pool's tables."""
    n, tables = _state["n"], _state["tables"]
    mask = (1 << TABLE_WINDOW_BITS) - 1
    digits = [(e >> shift) & mask for shift in range(0, CHALLENGE_BITS, TABLE_WINDOW_BITS)]
    result = gmpy2.mpz(1)
    for index in unit.factors:
        for row, digit in zip(tables[index], digits, strict=True):
            if digit:
                result = result * row[digit] % n
    return result


def _power(x: Any, e: int) -> Any:
    """x^e mod n by gmpy2, for an x of many pool factors."""
    return gmpy2.powmod(x, e, _state["n"])


def _or_proof(
    rng: random.Random,
    digest: str,
    label: str,
    values: tuple[int, ...],
    truth: int,
    power: Callable[[int], Any],
) -> OrProof:
    """An OR proof that a ciphertext of randomness r encrypts ``values[truth]``; power(e) = r^e."""
    params = _params()
    n, n_square = params.n, params.n_square
    value = values[truth]
    rho = _pick(rng)
    commitments, challenges, responses = (
        [int(rho.power)] * len(values),
        [0] * len(values),
        [0] * len(values),
    )
    for j, other in enumerate(values):
        if j == truth:
            continue
        sigma = _pick(rng)
        e = rng.randrange(CHALLENGE_MODULUS)
        commitments[j] = int(sigma.power * g_power(-(value - other) * e, n, n_square) % n_square)
        challenges[j] = e
        responses[j] = canonical_response(int(sigma.value * power(e)), n)
    challenge = proof_challenge(digest, label, values, commitments, params.version)
    challenges[truth] = (challenge - sum(challenges)) % CHALLENGE_MODULUS
    responses[truth] = canonical_response(int(rho.value * power(challenges[truth])), n)
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
        int((1 + m * n) * r.power % n_square) for m, r in zip(choice, randomness, strict=True)
    )
    digest = statement_digest(params.fingerprint, context, ciphertexts, params.version)
    proofs: list[OrProof] = []
    counts: list[OrProof] = []
    for index, (question, start) in enumerate(zip(params.questions, params.offsets, strict=True)):
        labels, count_label = _labels(params, index)
        options = len(question.options)
        total, total_r = 0, gmpy2.mpz(1)
        for slot, label in enumerate(labels, start=start):
            m, r = choice[slot], randomness[slot]
            proofs.append(
                _or_proof(rng, digest, label, SELECTION_VALUES, m, partial(_table_power, r))
            )
            weight = 1 if slot - start < options else question.blank_weight
            total += weight * m
            total_r = total_r * gmpy2.powmod(r.value, weight, n) % n
        values = question.count_values
        counts.append(
            _or_proof(
                rng,
                digest,
                count_label,
                values,
                values.index(total),
                partial(_power, total_r),
            )
        )
    ballot = crypto.Ballot(ciphertexts, tuple(proofs), tuple(counts))
    content = crypto.ballot_to_json(ballot, params)
    return content, crypto.tracker_of_json(content), list(ciphertexts)


def demo_params(public_key: Any, title: str) -> crypto.ElectionParams:
    """The demo ballot: 1 of 4 candidates, then yes or no with a blank vote (7 slots)."""
    candidates = tuple(
        crypto.OptionParams(str(uuid.uuid4()), f"Candidate {i}") for i in range(1, 5)
    )
    motion = tuple(crypto.OptionParams(str(uuid.uuid4()), name) for name in ("Yes", "No"))
    return crypto.ElectionParams(
        str(uuid.uuid4()),
        public_key,
        (
            crypto.QuestionParams(candidates, title="Chair"),
            crypto.QuestionParams(motion, blank=True, title="Adopt the motion?"),
        ),
        title,
    )


def one_of_five_params(public_key: Any, title: str) -> crypto.ElectionParams:
    """One question, 1 of 5 candidates (5 slots, 11 proof branches): the first ballot's shape."""
    candidates = tuple(
        crypto.OptionParams(str(uuid.uuid4()), f"Candidate {i}") for i in range(1, 6)
    )
    return crypto.ElectionParams(
        str(uuid.uuid4()), public_key, (crypto.QuestionParams(candidates, title="Chair"),), title
    )


# --ballot: how the benchmark election's ballot is laid out, and its description.
LAYOUTS: dict[str, tuple[Callable[[Any, str], crypto.ElectionParams], str]] = {
    "demo": (demo_params, "demo ballot (7 slots)"),
    "one-of-5": (one_of_five_params, "1 of 5 candidates (5 slots)"),
}


def _record_module() -> Any:
    """``elections.record``, which needs Django: set up only to write records."""
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from elections import record

    return record


def generate(size: int, bits: int, path: Path, layout: str = "demo") -> None:
    """Write a published record of ``size`` ballots laid out as ``layout`` to ``path``."""
    record = _record_module()
    started = time.monotonic()
    public_key, private_key = crypto.generate_keypair(bits)
    params = LAYOUTS[layout][0](public_key, f"Benchmark election, {size:,} ballots")
    n, n_square = params.n, params.n_square
    seed = random.Random(size)
    bases = [seed.randrange(2, n - 1) for _ in range(POOL)]
    powers = [int(gmpy2.powmod(b, n, n_square)) for b in bases]
    _init_worker(params, bases, powers)
    for number in (0, 1, 2):
        sample = make_ballot((number, "vc1-sample"))
        crypto.verify_ballot(params, "vc1-sample", crypto.parse_ballot(params, sample[0]))
    products = [gmpy2.mpz(1)] * params.slot_count
    head = board.genesis_hash(params.fingerprint)
    with tempfile.TemporaryFile("w+", dir=OUT_DIR) as board_file:
        pool = get_context("fork").Pool(2, _init_worker, (params, bases, powers))
        with pool:
            tasks = ((number, _context(number)) for number in range(1, size + 1))
            for number, (content, tracker, ciphertexts) in enumerate(
                pool.imap(make_ballot, tasks, chunksize=64), start=1
            ):
                context = _context(number)
                cast_at = f"2026-03-01T{8 + number // 3_600_000:02d}:00:00.000Z"
                head = board.ballot_hash(head, number, context, cast_at, tracker)
                board_file.write(f"{context}\t{cast_at}\t{tracker}\t{head}\t{content}\n")
                for index, c in enumerate(ciphertexts):
                    products[index] = products[index] * c % n_square
                if number % 1000 == 0 or number == size:
                    rate = number / (time.monotonic() - started)
                    progress(f"\r  generated {number:,} / {size:,} ({rate:,.0f}/s)", end="")
        progress()
        board_file.seek(0)
        totals = [int(total) for total in products]
        parts = record.RecordParts(
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
                "commitment": voter_roll_commitment(_context(i) for i in range(1, size + 1)),
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
            results=_results(params, private_key, totals),
        )
        with path.open("w", encoding="ascii") as out:
            for chunk in record.render_record(parts, _entries(record, board_file)):
                out.write(chunk)
    megabytes = path.stat().st_size / 1e6
    progress(f"  wrote {path} ({megabytes:,.0f} MB) in {time.monotonic() - started:.0f} s")


def _context(number: int) -> str:
    return f"vc1-{number:040x}"


def _results(
    params: crypto.ElectionParams, private_key: Any, totals: list[int]
) -> list[dict[str, str | None]]:
    results: list[dict[str, str | None]] = []
    for slot, total in enumerate(totals):
        count, proof = crypto.decrypt_with_proof(private_key, total)
        question, option = slot_owner(params, slot)
        results.append(
            {
                "question": int_to_hex(question),
                "option": None if option is None else option.id,
                "count": int_to_hex(count),
                "ciphertext": int_to_hex(total),
                "proof": int_to_hex(proof),
            }
        )
    return results


def _entries(record: Any, board_file: Iterable[str]) -> Iterator[Any]:
    for number, line in enumerate(board_file, start=1):
        context, cast_at, tracker, chain_hash, content = line.rstrip("\n").split("\t")
        yield record.BoardEntry(number, context, cast_at, tracker, chain_hash, content)


def progress(message: str = "", end: str = "\n") -> None:
    print(message, end=end, file=sys.stderr, flush=True)


# --- Measuring ---------------------------------------------------------------------------


@cache
def _key_modulus(bits: int) -> Any:
    return gmpy2.mpz(crypto.generate_keypair(bits)[0].n)


def power_time(bits: int, samples: int = 5) -> float:
    """Median CPU seconds of one x^n mod n^2 with gmpy2, under a key of this size."""
    n = _key_modulus(bits)
    n_square = n * n
    timings = []
    for x in range(samples):
        started = time.process_time()
        gmpy2.powmod(n // 3 + x, n, n_square)
        timings.append(time.process_time() - started)
    return statistics.median(timings)


class TreeMemory(threading.Thread):
    """Samples the memory of a process and its descendants (``_tree_rss``) every 0.5 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.peak = max(self.peak, _tree_rss(self.pid))


def _tree_rss(root: int) -> int:
    """Summed proportional set size (shared pages split between sharers) of ``root``'s tree."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += sum(
            int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")
        )
    return total


@dataclass(frozen=True)
class Run:
    """One verifier run: its code path and what it cost."""

    path: str
    wall: float
    cpu: float
    rss_largest: int
    rss_tree: int
    code: int
    power: float  # seconds of one x^n mod n^2, around the run


def run_verifier(
    path: Path, workers: int, *, code_path: str = "current"
) -> tuple[float, float, int, int]:
    """Run the verifier on ``path``; return wall s, CPU s, peak RSS bytes, exit code."""
    run = measure(path, workers, code_path)
    return run.wall, run.cpu, run.rss_largest, run.code


def measure(path: Path, workers: int, code_path: str, bits: int = 0) -> Run:
    """Run the verifier on ``path`` with ``code_path`` in a child process and measure it.

    With ``bits``, one x^n mod n^2 at that size is timed before and after the run.
    """
    before = power_time(bits) if bits else 0.0
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, __file__, "--run-verifier", str(path), "--workers", str(workers)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, CODE_PATH_VARIABLE: code_path},
    )
    memory = TreeMemory(child.pid)
    memory.start()
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    memory.done.set()
    memory.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    power = (before + power_time(bits)) / 2 if bits else 0.0
    lines = output.strip().splitlines()
    run = Run(
        code_path,
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * 1024,
        memory.peak,
        child.returncode,
        power,
    )
    progress(
        f"  {code_path}: {lines[-1] if lines else '(no output)'} CPU {run.cpu:.1f} s, "
        f"wall {wall:.1f} s, RSS {run.rss_largest / 2**20:.0f} / {run.rss_tree / 2**20:.0f} MB"
    )
    return run


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def report(size: int, runs: list[Run]) -> list[str]:
    """Table rows for one size: medians per code path, then the ratios of paired runs."""
    lines = []
    by_path = {path: [run for run in runs if run.path == path] for path in CODE_PATHS}
    for path, mine in by_path.items():
        per_ballot = [run.cpu / size * 1000 for run in mine]
        lines.append(
            f"{size:>8,}  {path:<9} {len(mine):>4}  {_median(per_ballot):>13.2f}"
            f"  {min(per_ballot):>6.2f}-{max(per_ballot):<6.2f}"
            f"  {_median(run.cpu / size / run.power for run in mine):>6.3f}"
            f"  {_median(run.wall for run in mine):>7.1f}"
            f"  {_median(size / run.wall for run in mine):>9,.0f}"
            f"  {_median(run.rss_largest for run in mine) / 2**20:>11.0f}"
            f"  {_median(run.rss_tree for run in mine) / 2**20:>7.0f}"
            f"  {','.join(str(run.code) for run in mine)}"
        )
    pairs = list(zip(by_path["previous"], by_path["current"], strict=False))

    def ratio(field: Callable[[Run], float]) -> float:
        return _median(field(new) / field(old) for old, new in pairs)

    lines.append(
        f"{'':>8}  current/previous: CPU {ratio(lambda r: r.cpu):.2f}, "
        f"wall {ratio(lambda r: r.wall):.2f}, RSS largest {ratio(lambda r: r.rss_largest):.2f}, "
        f"RSS all {ratio(lambda r: r.rss_tree):.2f} (medians of {len(pairs)} paired runs)"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=3, help="runs of each code path per size")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bits", type=int, default=3072)
    parser.add_argument("--ballot", choices=sorted(LAYOUTS), default="demo")
    parser.add_argument("--keep", action="store_true", help="keep the record files and reuse them")
    parser.add_argument("--run-verifier", metavar="RECORD", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    if options.run_verifier:
        from elections.verify.cli import main as verify

        return verify([options.run_verifier, "--workers", str(options.workers), "--quiet"])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    powers = []
    failed = False
    for size in options.ballots:
        suffix = "" if options.ballot == "demo" else f"-{options.ballot}"
        path = OUT_DIR / f"record-{size}{suffix}.json"
        progress(f"{size:,} ballots:")
        if not (options.keep and path.exists()):
            generate(size, options.bits, path, options.ballot)
        runs = []
        for _ in range(options.runs):
            for code_path in CODE_PATHS:
                runs.append(measure(path, options.workers, code_path, options.bits))
                powers.append(runs[-1].power)
        rows.extend(report(size, runs))
        if any(run.code for run in runs):
            failed = True
            progress(f"  the verifier failed on the record of {size:,} ballots")
        if not options.keep:
            path.unlink()
    print(
        f"\n{options.bits}-bit key, {LAYOUTS[options.ballot][1]}, {options.workers} workers; "
        f"x^n mod n^2 = {_median(powers) * 1000:.1f} ms (median)"
    )
    print(
        " ballots  code path runs  CPU ms/ballot  min-max        x^n   wall s  ballots/s"
        "  RSS MB: max   all  exit"
    )
    for line in rows:
        print(line)
    print(
        f"targets: <= {TARGET_MS:g} ms CPU per ballot, peak memory < {TARGET_RSS_MB} MB "
        "(x^n: CPU per ballot as a multiple of one x^n mod n^2)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
