"""Ballot creation in Python: tests, demo seeding and load generation.

The browser does the same in ``elections/static/elections/js/ballot-crypto.mjs``;
known-answer vectors keep the two identical. Creation is split in two:
``precompute_ballot`` does every exponentiation (it does not depend on the
choice) and ``finish_ballot`` needs only multiplications, two hashes per
proof and one short exponentiation per proof once the choice is known.

Randomness is drawn in a fixed order, so a deterministic source reproduces
a ballot exactly (see ``docs/ballot-format.md``): question by question,
for each slot (options, then the blank) ``r``, ``rho`` (in [1, n-1]), the
simulated challenge (in [0, 2^128)) and the simulated branch's mask ``t``
(in [1, n-1]); then the question's count proof ``rho`` and, for each
allowed value in increasing order, a challenge and a mask.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import gmpy2  # type: ignore[import-untyped]

from .ballots import Ballot
from .errors import ParameterError
from .params import ElectionParams, QuestionParams, check_voter_context
from .proofs import (
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


class RandomSource(Protocol):
    """Where ballot randomness comes from: ``randbelow(upper)`` uniform in [0, upper)."""

    def randbelow(self, upper: int) -> int:
        """Return a uniform integer in [0, upper)."""
        ...


class SystemRandom:
    """The production source: the operating system's CSPRNG through ``secrets``."""

    def randbelow(self, upper: int) -> int:
        """Return ``secrets.randbelow(upper)``."""
        return secrets.randbelow(upper)


class DeterministicRandom:
    """A reproducible source for known-answer test vectors only; never for real ballots.

    The byte stream is SHA-256(seed || counter) for counter = 0, 1, 2, ...
    (counter as 4 bytes big-endian). ``randbelow(upper)`` takes
    ceil(b / 8) bytes for b = bit length of (upper - 1), keeps the low b
    bits of the big-endian integer and retries until the value is below
    ``upper``. The JavaScript twin implements the same steps.
    """

    def __init__(self, seed: bytes) -> None:
        self._seed = bytes(seed)
        self._counter = 0
        self._buffer = b""

    def _take(self, count: int) -> bytes:
        while len(self._buffer) < count:
            block = hashlib.sha256(self._seed + self._counter.to_bytes(4, "big")).digest()
            self._buffer += block
            self._counter += 1
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken

    def randbelow(self, upper: int) -> int:
        """Return a reproducible integer in [0, upper) by rejection sampling."""
        if upper < 1:
            raise ParameterError("randbelow needs a positive bound")
        bits = (upper - 1).bit_length()
        while True:
            value = int.from_bytes(self._take((bits + 7) // 8), "big") & ((1 << bits) - 1)
            if value < upper:
                return value


@dataclass(frozen=True)
class _SimulatedBranch:
    challenge: int
    response: int
    base: int  # the commitment before its g-term: mask^n mod n^2


@dataclass(frozen=True)
class _SlotWork:
    r: int
    r_to_n: int
    rho: int
    commitment: int
    simulated: _SimulatedBranch


@dataclass(frozen=True)
class _CountWork:
    r: int  # prod r_i * r_blank^(k+1) mod n: the randomness of the count proof's base
    rho: int
    commitment: int
    simulated: tuple[_SimulatedBranch, ...]


class BallotPrecomputation:
    """Everything of a ballot that does not depend on the choice. Use it once.

    Reusing one precomputation for two different choices would publish two
    responses for the same ``rho`` and reveal ``r``, hence the vote; so
    ``finish_ballot`` refuses a second use.
    """

    def __init__(
        self,
        params: ElectionParams,
        voter_context: str,
        slots: tuple[_SlotWork, ...],
        counts: tuple[_CountWork, ...],
    ) -> None:
        self.params = params
        self.voter_context = voter_context
        self.slots = slots
        self.counts = counts
        self.used = False


def _unit(rng: RandomSource, upper: int) -> int:
    return 1 + rng.randbelow(upper - 1)


def _simulate(draw: tuple[int, int], r: int, n: int, n_square: int) -> _SimulatedBranch:
    """Simulate a branch whose ``u`` is ``r^n * g^d`` for a d known only after the click.

    With response z = t * r^e mod n the commitment z^n * u^(-e) becomes
    t^n * g^(-d*e): one exponentiation by n, no inverse, and the g-term is
    free later. Canonicalising z may negate z^n, which the +- rule accepts.
    """
    challenge, mask = draw
    response = canonical_response(int(mask * gmpy2.powmod(r, challenge, n)), n)
    return _SimulatedBranch(challenge, response, int(gmpy2.powmod(mask, n, n_square)))


def precompute_ballot(
    params: ElectionParams,
    voter_context: str,
    *,
    rng: RandomSource | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BallotPrecomputation:
    """Do all exponentiations of a ballot before the choice is known.

    Takes the election, the voter context, an optional randomness source
    (default: ``secrets``) and an optional ``progress(done, total)``
    callback. Per slot it computes ``r^n`` (the encryption is
    ``(1 + m*n) * r^n`` whatever m is), the real commitment ``rho^n`` and a
    simulated branch (``t^n``, see ``_simulate``) usable for either value,
    because ``u = c * g^(-j)`` differs between the two cases only by a power
    of g; likewise for each question's count proof, whose base has the
    randomness ``R = prod r_i * r_blank^(k+1)``. Raises ``ParameterError``
    for bad parameters.
    """
    if not isinstance(params, ElectionParams):
        raise ParameterError("expected ElectionParams")
    check_voter_context(voter_context)
    source: RandomSource = rng if rng is not None else SystemRandom()
    n, n_square = params.n, params.n_square
    total = params.slot_count + len(params.questions)

    def draw_simulated() -> tuple[int, int]:
        return source.randbelow(CHALLENGE_MODULUS), _unit(source, n)

    # Every draw happens first, in the documented order (per question: its
    # slots' r, rho, challenge and mask, then its count proof's), so a
    # deterministic source reproduces the ballot whatever the callbacks do.
    drawn = []
    for question in params.questions:
        slot_draws = [
            (_unit(source, n), _unit(source, n), draw_simulated()) for _ in range(question.width)
        ]
        count_rho = _unit(source, n)
        count_draws = [draw_simulated() for _ in question.count_values]
        drawn.append((question, slot_draws, count_rho, count_draws))
    slots: list[_SlotWork] = []
    counts: list[_CountWork] = []
    done = 0
    for question, slot_draws, count_rho, count_draws in drawn:
        first = len(slots)
        for r, rho, simulated in slot_draws:
            slots.append(
                _SlotWork(
                    r,
                    int(gmpy2.powmod(r, n, n_square)),
                    rho,
                    int(gmpy2.powmod(rho, n, n_square)),
                    _simulate(simulated, r, n, n_square),
                )
            )
            done += 1
            if progress is not None:
                progress(done, total)
        r_product = _count_randomness(question, slots[first:], n)
        # With a single allowed count the only branch is the real one.
        counts.append(
            _CountWork(
                r_product,
                count_rho,
                int(gmpy2.powmod(count_rho, n, n_square)),
                tuple(
                    _simulate(draw, r_product, n, n_square)
                    if len(count_draws) > 1
                    else _SimulatedBranch(draw[0], draw[1], 0)
                    for draw in count_draws
                ),
            )
        )
        done += 1
        if progress is not None:
            progress(done, total)
    return BallotPrecomputation(params, voter_context, tuple(slots), tuple(counts))


def _count_randomness(question: QuestionParams, slots: Sequence[_SlotWork], n: int) -> int:
    options = len(question.options)
    product = 1
    for work in slots[:options]:
        product = product * work.r % n
    if question.blank:
        product = product * pow(slots[options].r, options + 1, n) % n
    return product


def check_selections(params: ElectionParams, selections: object) -> tuple[int, ...]:
    """Check a choice: one 0/1 integer per slot, each question's answer allowed."""
    if not isinstance(selections, Sequence) or isinstance(selections, str | bytes):
        raise ParameterError("selections must be a sequence of 0/1 integers")
    if len(selections) != params.slot_count:
        raise ParameterError(f"expected {params.slot_count} selections")
    for value in selections:
        if type(value) is not int or value not in SELECTION_VALUES:
            raise ParameterError("each selection must be the integer 0 or 1")
    chosen = tuple(int(value) for value in selections)
    for number, (question, start) in enumerate(
        zip(params.questions, params.offsets, strict=True), start=1
    ):
        options = len(question.options)
        picked = sum(chosen[start : start + options])
        blank = question.blank and chosen[start + options] == 1
        if blank and picked:
            raise ParameterError(f"question {number}: a blank vote selects nothing else")
        if not blank and not question.min_selections <= picked <= question.max_selections:
            raise ParameterError(
                f"question {number}: select between {question.min_selections} and "
                f"{question.max_selections} options"
            )
    return chosen


def _finish_or_proof(
    pre: BallotPrecomputation,
    statement: str,
    label: str,
    values: Sequence[int],
    real: int,
    simulated: Sequence[_SimulatedBranch],
    witness: tuple[int, int, int],
) -> OrProof:
    """Complete an OR proof whose branch ``real`` (an index into values) is true.

    ``simulated[j]`` is the precomputed simulation for branch j (ignored
    for the real one); ``witness`` is (rho, rho^n, r) of the real branch.
    The simulated commitment for value v when the truth is values[real] is
    base * g^((v - values[real]) * e), since u_v = r^n * g^(values[real] - v).
    """
    n, n_square = pre.params.n, pre.params.n_square
    rho, commitment, r = witness
    commitments = [
        commitment
        if j == real
        else simulated[j].base
        * g_power((value - values[real]) * simulated[j].challenge, n, n_square)
        % n_square
        for j, value in enumerate(values)
    ]
    challenge = proof_challenge(statement, label, values, commitments, pre.params.version)
    others = sum(branch.challenge for j, branch in enumerate(simulated) if j != real)
    real_challenge = (challenge - others) % CHALLENGE_MODULUS
    real_response = canonical_response(int(rho * gmpy2.powmod(r, real_challenge, n)), n)
    return OrProof(
        commitments=tuple(int(a) for a in commitments),
        challenges=tuple(
            real_challenge if j == real else branch.challenge for j, branch in enumerate(simulated)
        ),
        responses=tuple(
            real_response if j == real else branch.response for j, branch in enumerate(simulated)
        ),
    )


def finish_ballot(pre: BallotPrecomputation, selections: Sequence[int]) -> Ballot:
    """Turn a precomputation and the voter's choice into a ballot.

    Takes the precomputation (single use) and one 0/1 integer per slot: per
    question, one per option then, if blank votes are allowed, 1 for a
    blank vote. Returns the ballot: ciphertexts ``(1 + m_i*n) * r_i^n``,
    each with a 0/1 proof, and a count proof per question. Raises
    ``ParameterError`` for a choice outside the election's rules or a
    reused precomputation.
    """
    if not isinstance(pre, BallotPrecomputation):
        raise ParameterError("expected a BallotPrecomputation")
    if pre.used:
        raise ParameterError("a ballot precomputation can be used only once")
    params = pre.params
    chosen = check_selections(params, selections)
    pre.used = True
    n, n_square, version = params.n, params.n_square, params.version
    ciphertexts = tuple(
        (1 + m * n) * work.r_to_n % n_square for m, work in zip(chosen, pre.slots, strict=True)
    )
    statement = statement_digest(params.fingerprint, pre.voter_context, ciphertexts, version)
    proofs: list[OrProof] = []
    count_proofs: list[OrProof] = []
    for index, (question, start, count) in enumerate(
        zip(params.questions, params.offsets, pre.counts, strict=True)
    ):
        options = len(question.options)
        if version == 1:
            labels = [selection_label(i) for i in range(question.width)]
            count_label = COUNT_LABEL
        else:
            labels, count_label = question_labels(index, options, question.blank)
        for label, slot in zip(labels, range(start, start + question.width), strict=True):
            work = pre.slots[slot]
            proofs.append(
                _finish_or_proof(
                    pre,
                    statement,
                    label,
                    SELECTION_VALUES,
                    chosen[slot],
                    (work.simulated, work.simulated),
                    (work.rho, work.commitment, work.r),
                )
            )
        picked = sum(chosen[start : start + options])
        if question.blank:
            picked += question.blank_weight * chosen[start + options]
        count_proofs.append(
            _finish_or_proof(
                pre,
                statement,
                count_label,
                question.count_values,
                question.count_values.index(picked),
                count.simulated,
                (count.rho, count.commitment, count.r),
            )
        )
    return Ballot(ciphertexts, tuple(proofs), tuple(count_proofs))


def encrypt_ballot(
    params: ElectionParams,
    voter_context: str,
    selections: Sequence[int],
    *,
    rng: RandomSource | None = None,
) -> Ballot:
    """Encrypt a choice and prove it valid: ``finish_ballot(precompute_ballot(...))``.

    Takes the election, the voter context the server assigned, one 0/1
    integer per slot (see ``finish_ballot``) and an optional randomness
    source (tests inject ``DeterministicRandom``; the default is
    ``secrets``). Returns a ballot that ``verify_ballot`` and
    ``batch_verify`` accept for this context. Raises ``ParameterError`` for
    an invalid choice or parameters.
    """
    if not isinstance(params, ElectionParams):
        raise ParameterError("expected ElectionParams")
    check_selections(params, selections)
    return finish_ballot(precompute_ballot(params, voter_context, rng=rng), selections)
