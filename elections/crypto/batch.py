"""Batch verification of ballots: the small-exponent test with bisection.

Every branch equation of every ballot has the form ``z^n = x * a * u^e``
(mod n^2) with ``x^2 = 1`` (``proofs`` gives the acceptance rule). Raising
equation ``j`` to a private random 64-bit weight ``w_j`` and multiplying
them all gives one equation,

    (prod z_j^(w_j))^(2n) = (prod a_j^(w_j) * prod u_j^(w_j * e_j))^2  (mod n^2),

which costs a single exponentiation by n for the whole batch (Bellare,
Garay, Rabin 1998). Squaring both sides removes every error of order 2, so
the test accepts exactly what the strict v2 rule accepts (an equation off
by a square root of 1, see ``proofs``), whoever made the ballot. A false
equation survives only if the weights happen to cancel it: with
probability about 2^-64, or 1/d when the error has a small odd order d,
which exists only if p - 1 or q - 1 has the factor d (keys made of safe
primes have none). For v1 ballots the test also accepts square roots of 1
other than -1 that the strict v1 rule refuses; the v2 rule closes that gap.

Folding that keeps it cheap:
- only ``z mod n`` matters in ``z^n mod n^2``, so the z-side product runs
  modulo n (numbers half as long);
- every ``u`` is ``c_i * g^(-m)`` (a ciphertext, or the product of a
  ballot's ciphertexts, times a power of g), and ``g^x = 1 + x*n`` is free,
  so all the u-terms of a ballot become one ``c_i^(E_i)`` per ciphertext
  and a single g-power per batch;
- the products are multi-exponentiations over the whole batch (``multiexp``:
  Pippenger's bucket method, window widths planned for the mix of 64-bit
  weights and ~194-bit ciphertext exponents), the modulo n^2 one on digits
  base n, which saves about a third of the work. How the products are
  computed changes their cost, never their value, so the error
  probability above is that of the test itself.
Per ballot of 7 slots and 17 branches at 3072 bits, the test costs about
300 products modulo n^2 and 140 modulo n: about a tenth of one x^n mod n^2.
A failing batch is split in halves, each tested with fresh weights, until
the bad ballots are isolated. Large batches can be spread over worker
processes (``gmpy2`` holds the GIL, so threads would not run in parallel).
"""

from __future__ import annotations

import multiprocessing
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import gmpy2  # type: ignore[import-untyped]

from .ballots import Ballot, check_challenges, check_shape, question_parts
from .errors import CryptoError, ParameterError
from .multiexp import multi_exp as multi_exp  # re-exported by the package
from .multiexp import multi_exp_square
from .params import ElectionParams, check_voter_context
from .proofs import SELECTION_VALUES, g_power

WEIGHT_BITS = 64
MIN_BALLOTS_PER_WORKER = 8

_pools: dict[int, ProcessPoolExecutor] = {}
_pools_lock = threading.Lock()


def _weight() -> int:
    return secrets.randbits(WEIGHT_BITS) or 1


def _batch_holds(params: ElectionParams, ballots: Sequence[Ballot]) -> bool:
    """Run one small-exponent test over well-shaped ballots with correct challenges."""
    n, n_square = params.n, params.n_square
    z_bases: list[int] = []
    z_weights: list[int] = []
    bases: list[int] = []
    exponents: list[int] = []
    g_exponent = 0

    def add_branch(z: int, a: int, weighted_challenge: int, value: int, weight: int) -> None:
        nonlocal g_exponent
        z_bases.append(z)
        z_weights.append(weight)
        bases.append(a)
        exponents.append(weight)
        g_exponent -= value * weighted_challenge

    for ballot in ballots:
        for part in question_parts(params, ballot):
            count = part.count_proof
            # The count proof speaks of prod(c_i) * c_blank^(k+1): its u-terms
            # fold into every option's c_i, and k+1 times into the blank's.
            shared = 0
            for value, a, e, z in zip(
                part.question.count_values,
                count.commitments,
                count.challenges,
                count.responses,
                strict=True,
            ):
                weight = _weight()
                shared += weight * e
                add_branch(z, a, weight * e, value, weight)
            options = len(part.question.options)
            for slot, (c, proof) in enumerate(
                zip(part.ciphertexts, part.selection_proofs, strict=True)
            ):
                exponent = shared if slot < options else shared * part.question.blank_weight
                for value, a, e, z in zip(
                    SELECTION_VALUES,
                    proof.commitments,
                    proof.challenges,
                    proof.responses,
                    strict=True,
                ):
                    weight = _weight()
                    exponent += weight * e
                    add_branch(z, a, weight * e, value, weight)
                bases.append(c)
                exponents.append(exponent)
    left = gmpy2.powmod(multi_exp(z_bases, z_weights, n), 2 * n, n_square)
    right = multi_exp_square(bases, exponents, n) * g_power(g_exponent, n, n_square) % n_square
    return bool(left == right * right % n_square)


def _bad_indices(
    params: ElectionParams, items: Sequence[tuple[int, Ballot]], known_bad: bool = False
) -> list[int]:
    """Bisect ``items`` (index, ballot) down to the ballots that fail the batch test.

    ``known_bad`` skips the test when the caller already knows it fails
    (the sibling half passed): a fresh test would only repeat the cost.
    """
    if not items:
        return []
    if not known_bad and _batch_holds(params, [ballot for _, ballot in items]):
        return []
    if len(items) == 1:
        return [items[0][0]]
    middle = len(items) // 2
    left = _bad_indices(params, items[:middle])
    return left + _bad_indices(params, items[middle:], known_bad=not left)


def batch_verify(
    params: ElectionParams,
    items: Sequence[tuple[str, Ballot]],
    *,
    workers: int | None = None,
    parsed: bool = False,
) -> list[int]:
    """Verify many ballots at once; return the sorted indices of the bad ones.

    Takes the election, a sequence of (voter context, ballot) pairs and an
    optional number of worker processes. Returns ``[]`` when every ballot
    is valid. A ballot is bad when its voter context is invalid, it fails
    ``check_shape``, its challenges do not match their hashes (checked one
    by one: hashing is cheap), or it fails the small-exponent test on its
    own. Accepts exactly the ballots ``verify_ballot`` accepts, except with
    probability about 2^-64 per bad ballot. ``workers=None`` or 1 runs in
    this process; a larger number splits batches of at least
    ``MIN_BALLOTS_PER_WORKER`` ballots per worker over a process pool that
    is kept for later calls. ``parsed=True`` is the caller's word that every
    ballot is one ``parse_ballot`` returned for these same ``params``, which
    has passed ``check_shape``: it is not run again (it costs about a tenth
    of the batch test). Raises ``ParameterError`` for bad arguments.
    """
    if not isinstance(params, ElectionParams):
        raise ParameterError("expected ElectionParams")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ParameterError("workers must be a positive integer")
    bad: list[int] = []
    checked: list[tuple[int, Ballot]] = []
    for index, item in enumerate(items):
        try:
            voter_context, ballot = item
            check_voter_context(voter_context)
            if not parsed:
                check_shape(params, ballot)
            check_challenges(params, voter_context, ballot)
        except (CryptoError, TypeError, ValueError):
            bad.append(index)
            continue
        checked.append((index, ballot))
    chunks = _split(checked, workers or 1)
    if len(chunks) <= 1:
        bad.extend(_bad_indices(params, checked))
    else:
        pool = _pool(len(chunks))
        for found in pool.map(_bad_indices, [params] * len(chunks), chunks):
            bad.extend(found)
    return sorted(bad)


def _split(items: list[tuple[int, Ballot]], workers: int) -> list[list[tuple[int, Ballot]]]:
    count = max(1, min(workers, len(items) // MIN_BALLOTS_PER_WORKER))
    size = -(-len(items) // count) if items else 0
    return [items[start : start + size] for start in range(0, len(items), size or 1)]


def _pool(workers: int) -> ProcessPoolExecutor:
    # "spawn" rather than fork: the caller may be a threaded web server, and
    # forking a process that holds other threads' locks can deadlock.
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn")
            )
            _pools[workers] = pool
        return pool


def shutdown_workers() -> None:
    """Stop the worker processes started by ``batch_verify`` (they restart on demand)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True)
