"""Threshold Paillier decryption: any K of N trustees decrypt, fewer learn nothing.

The scheme of Shoup (RSA, 2000) as Damgard and Jurik adapt it to Paillier
(PKC 2001, section 4; also Fouque, Poupard and Stern 2000), with ``s = 1``:

- **Dealing** (``deal``, run once, off the site, by a dealer that forgets
  everything afterwards): safe primes ``p = 2p' + 1``, ``q = 2q' + 1``,
  ``n = pq``, ``m = p'q'``. The decryption exponent ``d`` satisfies
  ``d = 0 mod m`` and ``d = 1 mod n``; it is shared with a random polynomial
  ``f`` of degree ``K - 1`` over ``Z_{nm}``, ``f(0) = d``: trustee ``i`` gets
  ``s_i = f(i)``. ``Delta = N!``. A random square ``v`` (a generator of the
  squares of ``Z*_{n^2}``, checked by the dealer) and the verification keys
  ``v_i = v^(Delta s_i)`` are public.
- **Partial decryption** (``partial_decrypt``) of a ciphertext ``c``:
  ``c_i = c^(2 Delta s_i) mod n^2``, with a non-interactive proof that
  ``log_{c^4}(c_i^2) = log_v(v_i)`` (a Chaum-Pedersen proof in a group of
  unknown order: ``r`` random and long, ``a = c^(4r)``, ``b = v^r``, the
  challenge ``e`` hashes the context, the trustee's index, ``n``, ``v``,
  ``v_i``, ``c``, ``c_i``, ``a`` and ``b``; ``z = r + e Delta s_i`` over the
  integers). The proof is stored as ``(e, z)``; the verifier recomputes
  ``a = c^(4z) c_i^(-2e)`` and ``b = v^z v_i^(-e)`` and the hash.
- **Combining** (``combine``) any K valid partials of a set ``S``: with the
  integer Lagrange coefficients ``lambda_j = Delta prod_{j' in S, j' != j}
  j' / (j' - j)``, ``prod c_j^(2 lambda_j) = c^(4 Delta^2 d)``. With
  ``c = (1+n)^M r^n``: ``r^(n 4 Delta^2 d) = 1`` because ``4d`` is a multiple
  of ``4m``, a multiple of the order of every n-th residue's root; and
  ``(1+n)^(M 4 Delta^2 d) = 1 + 4 Delta^2 M n`` because ``d = 1 mod n``. So
  ``M = L(prod) * (4 Delta^2)^-1 mod n`` with ``L(x) = (x - 1) / n``.

Threat model. Protects the votes against any K - 1 trustees together, with
the site's database: their shares are K - 1 points of a random polynomial of
degree K - 1, which say nothing about ``d``. A trustee who cheats in a
partial decryption is caught by its proof (soundness rests on the strong
RSA-like hardness of the squares modulo n^2 and the challenge length), and
the cheater is named. Does not protect against: K trustees who collude (they
can decrypt any ciphertext, every stored ballot included); a dishonest
dealer, who sees p, q and d while dealing (the ceremony runs on a trusted
machine and keeps nothing); a trustee who loses the share file (any K of
the others still decrypt).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gmpy2  # type: ignore[import-untyped]

from .encoding import check_text, int_to_hex, transcript_digest
from .errors import InvalidDecryption, ParameterError
from .primes import generate_safe_prime

PARTIAL_TAG = "evoting/threshold/v1/partial-decryption"
CHALLENGE_BITS = 128
MAX_TRUSTEES = 64
MAX_CONTEXT = 256


@dataclass(frozen=True)
class ThresholdKey:
    """The public part: the modulus, K of N, the base ``v`` and each trustee's ``v_i``."""

    n: int
    threshold: int
    trustees: int
    v: int
    verification_keys: tuple[int, ...]  # v_i for i = 1..N, in order

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= self.trustees <= MAX_TRUSTEES:
            raise ParameterError(f"need 1 <= K <= N <= {MAX_TRUSTEES}")
        if len(self.verification_keys) != self.trustees:
            raise ParameterError("one verification key per trustee")
        for value in (self.v, *self.verification_keys):
            _unit(value, self.n, ParameterError, "verification key")

    @property
    def n_square(self) -> int:
        return self.n * self.n

    @property
    def delta(self) -> int:
        """Delta = N!, which makes every Lagrange coefficient an integer."""
        return math.factorial(self.trustees)

    @property
    def response_bits(self) -> int:
        """The length of the proof's ``r``: ``|n^2| + |Delta| + 2 * 128`` bits.

        ``z = r + e Delta s_i`` then hides ``e Delta s_i`` (below
        ``2^(|n^2| + |Delta| + 128)``) up to a statistical distance of ``2^-128``.
        """
        return self.n_square.bit_length() + self.delta.bit_length() + 2 * CHALLENGE_BITS


@dataclass(frozen=True)
class KeyShare:
    """Trustee ``index``'s secret: ``s_i = f(i) mod nm``. Only its trustee ever holds it."""

    index: int
    share: int


@dataclass(frozen=True)
class PartialDecryption:
    """Trustee ``index``'s ``c_i = c^(2 Delta s_i)`` with its proof ``(e, z)``."""

    index: int
    value: int
    challenge: int
    response: int


def _unit(value: object, n: int, error: type[ParameterError | InvalidDecryption], what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < n * n:
        raise error(f"{what}: not an element of Z*_(n^2)")
    if gmpy2.gcd(value, n) != 1:
        raise error(f"{what}: not invertible modulo n")
    return value


def deal(
    bits: int,
    threshold: int,
    trustees: int,
    *,
    randbits: Callable[[int], int] = secrets.randbits,
    progress: Callable[[str], None] | None = None,
) -> tuple[ThresholdKey, list[KeyShare]]:
    """Make a threshold key: the public part and one share per trustee (index 1 to N).

    Takes the modulus size (even, at least 16 bits), K and N, a randomness
    source (the OS CSPRNG by default) and an optional ``progress(step)``
    callback, called with "first safe prime", "second safe prime" (again if
    the pair must be drawn afresh) and "shares and verification keys" as
    each step starts. Every secret (p, q, m, d, the polynomial) lives in
    this call's local variables only. Raises ``ParameterError`` for bad sizes.
    """
    if not isinstance(bits, int) or isinstance(bits, bool) or bits < 32 or bits % 2:
        raise ParameterError("the modulus needs an even number of bits, at least 32")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (threshold, trustees)):
        raise ParameterError("K and N must be integers")
    if not 1 <= threshold <= trustees <= MAX_TRUSTEES:
        raise ParameterError(f"need 1 <= K <= N <= {MAX_TRUSTEES}")
    report = progress if progress is not None else _quiet
    while True:
        report("first safe prime")
        p = generate_safe_prime(bits // 2, randbits=randbits)
        report("second safe prime")
        q = generate_safe_prime(bits // 2, randbits=randbits)
        n = p * q
        if p != q and n.bit_length() == bits and math.gcd(n, (p - 1) * (q - 1)) == 1:
            break
    report("shares and verification keys")
    m = (p - 1) // 2 * ((q - 1) // 2)
    nm = n * m
    d = m * int(gmpy2.invert(m, n))  # 0 mod m, 1 mod n
    coefficients = [d] + [_below(nm, randbits) for _ in range(threshold - 1)]
    shares = [
        KeyShare(index, sum(a * index**power for power, a in enumerate(coefficients)) % nm)
        for index in range(1, trustees + 1)
    ]
    n_square = n * n
    delta = math.factorial(trustees)
    while True:
        v = pow(_below(n_square, randbits), 2, n_square)
        # v generates the squares (order n m) unless its order misses a prime factor.
        if math.gcd(v, n) == 1 and all(
            pow(v, n * m // factor, n_square) != 1 for factor in (p, q, (p - 1) // 2, (q - 1) // 2)
        ):
            break
    key = ThresholdKey(
        n=n,
        threshold=threshold,
        trustees=trustees,
        v=v,
        verification_keys=tuple(
            int(gmpy2.powmod(v, delta * share.share, n_square)) for share in shares
        ),
    )
    return key, shares


def _quiet(_step: str) -> None:
    pass


def _below(upper: int, randbits: Callable[[int], int]) -> int:
    while True:
        value = randbits(upper.bit_length())
        if value < upper:
            return value


def _challenge(
    key: ThresholdKey, context: str, index: int, ciphertext: int, value: int, a: int, b: int
) -> int:
    items = [
        PARTIAL_TAG,
        context,
        int_to_hex(index),
        int_to_hex(key.n),
        int_to_hex(key.v),
        int_to_hex(key.verification_keys[index - 1]),
        int_to_hex(ciphertext),
        int_to_hex(value),
        int_to_hex(a),
        int_to_hex(b),
    ]
    return int.from_bytes(transcript_digest(items)[: CHALLENGE_BITS // 8], "big")


def _check_context(context: object) -> str:
    return check_text(context, field="context", max_len=MAX_CONTEXT, error=ParameterError)


def partial_decrypt(
    key: ThresholdKey,
    share: KeyShare,
    ciphertext: int,
    context: str,
    *,
    randbits: Callable[[int], int] = secrets.randbits,
) -> PartialDecryption:
    """Trustee ``share.index``'s partial decryption of ``ciphertext``, with its proof.

    ``context`` (printable ASCII, at most 256 characters) is what the proof is
    bound to besides the key, the trustee and the ciphertext: the election's
    fingerprint and which total this is. Raises ``ParameterError`` for a
    share that does not belong to ``key`` or a bad context, and
    ``InvalidDecryption`` for a ciphertext outside ``Z*_{n^2}``.
    """
    _check_context(context)
    if not isinstance(share, KeyShare) or not 1 <= share.index <= key.trustees:
        raise ParameterError("this share is not one of the key's trustees")
    n_square, delta = key.n_square, key.delta
    if gmpy2.powmod(key.v, delta * share.share, n_square) != key.verification_keys[share.index - 1]:
        raise ParameterError(f"this share does not match trustee {share.index}'s verification key")
    c = _unit(ciphertext, key.n, InvalidDecryption, "ciphertext")
    exponent = delta * share.share
    value = int(gmpy2.powmod(c, 2 * exponent, n_square))
    r = randbits(key.response_bits)
    a = int(gmpy2.powmod(c, 4 * r, n_square))
    b = int(gmpy2.powmod(key.v, r, n_square))
    e = _challenge(key, context, share.index, c, value, a, b)
    return PartialDecryption(share.index, value, e, r + e * exponent)


def verify_partial(
    key: ThresholdKey, ciphertext: int, partial: PartialDecryption, context: str
) -> None:
    """Check a partial decryption's proof; return ``None`` or raise ``InvalidDecryption``.

    The message names the trustee and the check: an unknown index, a value
    outside ``Z*_{n^2}``, a response out of range, or a proof that does not
    hold for this key, trustee, ciphertext and context. Costs four
    exponentiations modulo n^2 (two by the long response).
    """
    _check_context(context)
    if not isinstance(partial, PartialDecryption):
        raise InvalidDecryption("expected a PartialDecryption")
    index = partial.index
    if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= key.trustees:
        raise InvalidDecryption(f"trustee {index!r}: no such trustee in this key")
    who = f"trustee {index}"
    c = _unit(ciphertext, key.n, InvalidDecryption, "ciphertext")
    value = _unit(partial.value, key.n, InvalidDecryption, f"{who}: partial decryption")
    e, z = partial.challenge, partial.response
    for name, number, limit in (
        ("challenge", e, CHALLENGE_BITS),
        ("response", z, key.response_bits + 1),
    ):
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < 1 << limit:
            raise InvalidDecryption(f"{who}: the proof's {name} is out of range")
    n_square = key.n_square
    a = gmpy2.powmod(c, 4 * z, n_square) * gmpy2.powmod(value, -2 * e, n_square) % n_square
    b = (
        gmpy2.powmod(key.v, z, n_square)
        * gmpy2.powmod(key.verification_keys[index - 1], -e, n_square)
        % n_square
    )
    if _challenge(key, context, index, c, value, int(a), int(b)) != e:
        raise InvalidDecryption(f"{who}: the proof of correct partial decryption does not hold")


def lagrange_coefficient(indices: Sequence[int], j: int, delta: int) -> int:
    """``Delta * prod_{j' != j} j' / (j' - j)`` over ``indices``: an integer (Delta = N!)."""
    numerator, denominator = delta, 1
    for other in indices:
        if other != j:
            numerator *= other
            denominator *= other - j
    quotient, remainder = divmod(numerator, denominator)
    if remainder:
        raise ParameterError("Delta does not clear this coefficient: are the indices right?")
    return quotient


def combine(key: ThresholdKey, partials: Sequence[PartialDecryption]) -> int:
    """Combine K partial decryptions of one ciphertext (already verified) into its plaintext.

    Takes any K partials from distinct trustees (more are allowed: the first K
    by index are used). Returns ``M`` in ``[0, n)``. Raises
    ``InvalidDecryption`` with fewer than K distinct trustees. Every partial
    must have passed ``verify_partial`` for the same ciphertext: combining
    unverified ones gives a wrong result without any error.
    """
    chosen: dict[int, PartialDecryption] = {}
    for partial in sorted(partials, key=lambda item: item.index):
        chosen.setdefault(partial.index, partial)
    if len(chosen) < key.threshold:
        raise InvalidDecryption(f"{len(chosen)} of the {key.threshold} partial decryptions needed")
    indices = sorted(chosen)[: key.threshold]
    n, n_square, delta = key.n, key.n_square, key.delta
    product = gmpy2.mpz(1)
    for j in indices:
        exponent = 2 * lagrange_coefficient(indices, j, delta)
        product = product * gmpy2.powmod(chosen[j].value, exponent, n_square) % n_square
    if (product - 1) % n:
        raise InvalidDecryption("the combination is not of the form 1 + x n: a partial is wrong")
    return int((product - 1) // n * gmpy2.invert(4 * delta * delta, n) % n)
