"""Homomorphic tally, decryption with a proof, and its verification.

Multiplying ciphertexts modulo n^2 adds their plaintexts, so the product of
every ballot's ciphertext for one candidate encrypts that candidate's
count. The holder of the private key decrypts the product and also
recovers its randomness ``r``; publishing ``(count, r)`` lets anyone check
``c = (1 + n)^count * r^n mod n^2`` with one exponentiation. That check is a
complete proof: the map (m, r) -> (1+n)^m r^n is a bijection from
Z_n x Z*_n onto Z*_{n^2}, so no other count fits the same ciphertext.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import gmpy2  # type: ignore[import-untyped]
from phe import paillier

from .ballots import Ballot
from .errors import BallotFormatError, CryptoError, InvalidDecryption, ParameterError
from .keys import check_public_key
from .params import ElectionParams


def validate_ciphertext(
    public_key: paillier.PaillierPublicKey,
    ciphertext: object,
    *,
    error: type[CryptoError] = BallotFormatError,
) -> int:
    """Check that ``ciphertext`` is an element of Z*_{n^2}; return it as an ``int``.

    phe accepts any integer (0, negatives, c + n^2, which decrypts like c
    but compares differently), so every ciphertext is checked before it is
    stored, multiplied or decrypted. Raises ``error`` unless it is an
    integer (not a bool) with 0 < c < n^2 and gcd(c, n) = 1.
    """
    n = check_public_key(public_key, error=error)
    if not isinstance(ciphertext, int) or isinstance(ciphertext, bool):
        raise error("a ciphertext must be an integer")
    if not 0 < ciphertext < n * n:
        raise error("the ciphertext is out of range")
    if gmpy2.gcd(ciphertext, n) != 1:
        raise error("the ciphertext is not invertible modulo n")
    return int(ciphertext)


def encrypted_zero() -> int:
    """Return the neutral element of the homomorphic sum: 1 = (1+n)^0 * 1^n.

    It is a valid, deterministic encryption of zero, the right starting
    value for a running tally (it hides nothing, as nothing is there yet).
    """
    return 1


def aggregate(public_key: paillier.PaillierPublicKey, ciphertexts: Iterable[int]) -> int:
    """Multiply ciphertexts modulo n^2: the result encrypts the sum of their plaintexts.

    Why: (1+n)^a r^n * (1+n)^b s^n = (1+n)^(a+b) (r s)^n. Takes the public
    key and any iterable of ciphertexts (an empty one gives
    ``encrypted_zero()``). Raises ``BallotFormatError`` for an element that
    is not in Z*_{n^2}.
    """
    n = check_public_key(public_key, error=ParameterError)
    n_square = n * n
    total = gmpy2.mpz(encrypted_zero())
    for ciphertext in ciphertexts:
        total = total * validate_ciphertext(public_key, ciphertext) % n_square
    return int(total)


def aggregate_ballots(params: ElectionParams, ballots: Iterable[Ballot]) -> tuple[int, ...]:
    """Return, per slot in ballot order, the product of that slot's ciphertexts.

    Slots are every question's options, then its blank if allowed; the
    product of a slot encrypts its count. Raises ``BallotFormatError`` for a
    ballot with the wrong number of ciphertexts or an invalid ciphertext.
    """
    k = params.slot_count
    n_square = params.n_square
    totals = [gmpy2.mpz(encrypted_zero())] * k
    for ballot in ballots:
        if not isinstance(ballot, Ballot) or len(ballot.ciphertexts) != k:
            raise BallotFormatError(f"each ballot must hold {k} ciphertexts")
        for i, ciphertext in enumerate(ballot.ciphertexts):
            totals[i] = totals[i] * validate_ciphertext(params.public_key, ciphertext) % n_square
    return tuple(int(total) for total in totals)


def decrypt_with_proof(
    private_key: paillier.PaillierPrivateKey, ciphertext: int
) -> tuple[int, int]:
    """Decrypt a ciphertext and recover its randomness, as a checkable proof.

    Takes phe's private key and a ciphertext. Returns ``(m, r)`` with
    0 <= m < n, 0 < r < n and c = (1+n)^m * r^n mod n^2. ``m`` comes from
    phe's checked decryption path; ``r`` is the n-th root of c mod n,
    computed with the CRT as (c mod p)^(n^-1 mod p-1) and likewise for q,
    which exists because gcd(n, phi(n)) = 1. The result is verified before
    it is returned. Raises ``InvalidDecryption`` for an invalid ciphertext
    or a key that does not decrypt it consistently.
    """
    if not isinstance(private_key, paillier.PaillierPrivateKey):
        raise InvalidDecryption("expected a phe PaillierPrivateKey")
    public_key = private_key.public_key
    c = validate_ciphertext(public_key, ciphertext, error=InvalidDecryption)
    encrypted = paillier.EncryptedNumber(public_key, c, 0)
    try:
        m = int(private_key.decrypt_encoded(encrypted).encoding)
    except (ValueError, ArithmeticError):
        raise InvalidDecryption("phe refused to decrypt this ciphertext") from None
    p, q, n = int(private_key.p), int(private_key.q), int(public_key.n)
    root_p = gmpy2.powmod(c % p, gmpy2.invert(n, p - 1), p)
    root_q = gmpy2.powmod(c % q, gmpy2.invert(n, q - 1), q)
    # CRT: the r below is root_p mod p and root_q mod q.
    r = int((root_q + q * ((root_p - root_q) * gmpy2.invert(q, p) % p)) % n)
    verify_decryption(public_key, c, m, r)
    return m, r


def verify_decryption(
    public_key: paillier.PaillierPublicKey, ciphertext: int, count: int, r: int
) -> None:
    """Check a published decryption: c = (1+n)^count * r^n mod n^2.

    Takes the public key, the ciphertext, the claimed count and randomness.
    Returns ``None`` when they match; raises ``InvalidDecryption`` when the
    ciphertext is invalid, count is outside [0, n), r outside [1, n) or not
    invertible, or the equation fails. Cost: one exponentiation by n.
    """
    c = validate_ciphertext(public_key, ciphertext, error=InvalidDecryption)
    n = int(public_key.n)
    n_square = n * n
    for name, value, low in (("count", count, 0), ("r", r, 1)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidDecryption(f"the {name} must be an integer")
        if not low <= value < n:
            raise InvalidDecryption(f"the {name} is out of range")
    if gmpy2.gcd(r, n) != 1:
        raise InvalidDecryption("r is not invertible modulo n")
    expected = (1 + count * n) * gmpy2.powmod(r, n, n_square) % n_square
    if expected != c:
        raise InvalidDecryption("the decryption proof does not match the ciphertext")


def verify_tally(
    params: ElectionParams,
    totals: Sequence[int],
    counts: Sequence[int],
    randomness: Sequence[int],
) -> None:
    """Check a whole published result: one decryption proof per slot.

    Raises ``InvalidDecryption`` naming the first slot whose proof fails.
    """
    k = params.slot_count
    if not (len(totals) == len(counts) == len(randomness) == k):
        raise InvalidDecryption(f"expected {k} totals, counts and proofs")
    for i, (total, count, r) in enumerate(zip(totals, counts, randomness, strict=True)):
        try:
            verify_decryption(params.public_key, total, count, r)
        except InvalidDecryption as exc:
            raise InvalidDecryption(f"{params.slot_title(i)}: {exc}") from None


def impossible_counts(params: ElectionParams, counts: Sequence[int], ballots: int) -> list[str]:
    """Say why decrypted ``counts`` cannot come from ``ballots`` valid ballots; [] if they can.

    ``counts`` has one entry per slot. In every question each valid ballot
    gives each option and the blank 0 or 1, and either makes between ``min``
    and ``max`` choices or is blank with no choice; so each count lies in
    [0, ballots] and, with ``B`` blank ballots, the question's option counts
    add up to between ``min * (ballots - B)`` and ``max * (ballots - B)``.
    Counts outside these bounds mean the totals were not products of valid
    ballots (or the decryption is wrong): they must not be published. Used
    before results are stored and by the record verifier, so both apply one rule.
    """
    if len(counts) != params.slot_count:
        return [f"expected {params.slot_count} counts, found {len(counts)}"]
    problems = [
        f"{params.slot_title(slot)} has {count} votes: more votes than there are "
        f"ballots ({ballots})"
        for slot, count in enumerate(counts)
        if not 0 <= count <= ballots
    ]
    for number, (question, start) in enumerate(
        zip(params.questions, params.offsets, strict=True), start=1
    ):
        options = len(question.options)
        total = sum(counts[start : start + options])
        blank = counts[start + options] if question.blank else 0
        answered = ballots - blank
        low, high = question.min_selections * answered, question.max_selections * answered
        if not low <= total <= high:
            where = "" if params.version == 1 else f"question {number}: "
            problems.append(
                f"{where}{total} selections in total, but {answered} ballots of "
                f"{question.min_selections} to {question.max_selections} choices allow "
                f"{low} to {high}"
            )
    return problems
