// Threshold Paillier in the browser (ES module): safe primes, dealing K of N,
// partial decryptions with their proofs, verification and combination.
//
// The JavaScript twin of elections/crypto/primes.py and threshold.py; the
// maths is in docs/trustees.md and the known-answer vectors in
// tests/crypto/vectors/threshold-*.json pin both sides to the same numbers
// (the same randomness gives the same primes, shares, partial decryptions and
// proofs). Native BigInt, no dependency; runs in a module worker and Node 20.
//
// Protects the votes against fewer than K trustees: each share is a point of
// a random polynomial of degree K - 1. A partial decryption carries a proof
// that it used the share behind the trustee's public verification key, so a
// wrong one is caught and its trustee named. Does not protect against K
// colluding trustees, a dishonest dealer (the page that runs the ceremony sees
// every secret while it runs, then keeps nothing), or timing side channels
// (BigInt arithmetic is not constant time).

import { modInverse, modPow } from "./ballot-crypto.mjs";
import { BallotCryptoError, bytesToHex, toHex, transcriptDigest } from "./election-params.mjs";

export const PARTIAL_TAG = "evoting/threshold/v1/partial-decryption";
export const CHALLENGE_BITS = 128;
export const MAX_TRUSTEES = 64;
const SIEVE_PRIMES_BELOW = 1 << 16;
const WINDOW = 1 << 14;
// Miller-Rabin with the first 40 primes as bases: deterministic, so dealing
// consumes randomness exactly as the Python side does.
const MR_BASES = [];

let smallPrimes = null;

function primesBelow(limit) {
  const marks = new Uint8Array(limit).fill(1);
  marks[0] = 0;
  marks[1] = 0;
  for (let value = 2; value * value < limit; value++) {
    if (marks[value]) for (let m = value * value; m < limit; m += value) marks[m] = 0;
  }
  const found = [];
  for (let value = 3; value < limit; value++) if (marks[value]) found.push(value);
  return found;
}

function sievePrimes() {
  if (smallPrimes === null) {
    smallPrimes = primesBelow(SIEVE_PRIMES_BELOW);
    MR_BASES.push(2n, ...smallPrimes.slice(0, 39).map(BigInt));
  }
  return smallPrimes;
}

function bitLength(value) {
  return value === 0n ? 0 : value.toString(2).length;
}

export function isProbablePrime(n) {
  if (n < 2n) return false;
  sievePrimes();
  for (const base of MR_BASES) {
    if (n === base) return true;
    if (n % base === 0n) return false;
  }
  let d = n - 1n;
  let s = 0;
  while (d % 2n === 0n) {
    d /= 2n;
    s += 1;
  }
  outer: for (const base of MR_BASES) {
    let x = modPow(base, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let i = 1; i < s; i++) {
      x = (x * x) % n;
      if (x === n - 1n) continue outer;
    }
    return false;
  }
  return true;
}

export function isSafePrime(p) {
  return p > 5n && p % 2n === 1n && isProbablePrime(p) && isProbablePrime((p - 1n) / 2n);
}

function survivors(q0, primes) {
  const struck = new Uint8Array(WINDOW);
  for (const r of primes) {
    const residue = Number(q0 % BigInt(r));
    const half = (r + 1) / 2; // the inverse of 2 modulo r
    for (const target of [0, (r - 1) / 2]) {
      // k with q0 + 2k = target (mod r): (target - residue) / 2, kept in Number range.
      const start = Number((BigInt(((target - residue) % r) + r) * BigInt(half)) % BigInt(r));
      for (let k = start; k < WINDOW; k += r) struck[k] = 1;
    }
  }
  const kept = [];
  for (let k = 0; k < WINDOW; k++) if (!struck[k]) kept.push(k);
  return kept;
}

// A random safe prime p = 2q + 1 of exactly `bits` bits, found like Python's
// primes.generate_safe_prime: random odd q0 of bits - 1 bits (top two bits set),
// a sieved window of q = q0 + 2k, a Fermat test on p, then Miller-Rabin on both.
export async function generateSafePrime(bits, { randbits, onProgress } = {}) {
  if (!Number.isInteger(bits) || bits < 16) {
    throw new BallotCryptoError("a safe prime needs at least 16 bits");
  }
  const primes = sievePrimes().filter((r) => BigInt(r) < 1n << BigInt(bits - 2));
  let tested = 0;
  for (;;) {
    const q0 = (await randbits(bits - 1)) | (3n << BigInt(bits - 3)) | 1n;
    for (const k of survivors(q0, primes)) {
      tested += 1;
      const p = 2n * (q0 + 2n * BigInt(k)) + 1n;
      if (bitLength(p) === bits && modPow(2n, p - 1n, p) === 1n && isSafePrime(p)) return p;
    }
    if (onProgress) onProgress(tested);
  }
}

async function below(upper, randbits) {
  for (;;) {
    const value = await randbits(bitLength(upper));
    if (value < upper) return value;
  }
}

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function factorial(n) {
  let result = 1n;
  for (let i = 2n; i <= BigInt(n); i++) result *= i;
  return result;
}

function checkCounts(threshold, trustees) {
  if (!Number.isInteger(threshold) || !Number.isInteger(trustees)) {
    throw new BallotCryptoError("K and N must be integers");
  }
  if (!(threshold >= 1 && threshold <= trustees && trustees <= MAX_TRUSTEES)) {
    throw new BallotCryptoError(`need 1 <= K <= N <= ${MAX_TRUSTEES}`);
  }
}

// Dealing, as Python's threshold.deal: returns { key, shares } where key is
// { n, threshold, trustees, v, verificationKeys } and shares [{ index, share }].
// Every secret lives in this call only.
export async function deal(bits, threshold, trustees, { randbits, onProgress } = {}) {
  checkModulusBits(bits);
  checkCounts(threshold, trustees);
  for (;;) {
    if (onProgress) onProgress("first safe prime");
    const p = await generateSafePrime(bits / 2, { randbits });
    if (onProgress) onProgress("second safe prime");
    const q = await generateSafePrime(bits / 2, { randbits });
    if (primesFit(p, q, bits)) {
      if (onProgress) onProgress("shares and verification keys");
      return dealWithPrimes(p, q, threshold, trustees, { randbits });
    }
  }
}

function checkModulusBits(bits) {
  if (!Number.isInteger(bits) || bits < 32 || bits % 2) {
    throw new BallotCryptoError("the modulus needs an even number of bits, at least 32");
  }
}

// Whether two safe primes of bits / 2 bits make a usable modulus of exactly `bits` bits.
export function primesFit(p, q, bits) {
  const n = p * q;
  return p !== q && bitLength(n) === bits && gcd(n, (p - 1n) * (q - 1n)) === 1n;
}

// The second half of dealing, for a caller that found the two safe primes itself
// (the ceremony page searches for both at once, one per worker). The caller checks
// primesFit(p, q, bits) first.
export async function dealWithPrimes(p, q, threshold, trustees, { randbits }) {
  checkCounts(threshold, trustees);
  if (!isSafePrime(p) || !isSafePrime(q) || p === q) {
    throw new BallotCryptoError("dealing needs two distinct safe primes");
  }
  const n = p * q;
  const pPrime = (p - 1n) / 2n;
  const qPrime = (q - 1n) / 2n;
  const m = pPrime * qPrime;
  const nm = n * m;
  const d = m * modInverse(m, n);
  const coefficients = [d];
  for (let i = 1; i < threshold; i++) coefficients.push(await below(nm, randbits));
  const shares = [];
  for (let index = 1; index <= trustees; index++) {
    let value = 0n;
    coefficients.forEach((a, power) => {
      value += a * BigInt(index) ** BigInt(power);
    });
    shares.push({ index, share: value % nm });
  }
  const nSquare = n * n;
  const delta = factorial(trustees);
  let v;
  for (;;) {
    const root = await below(nSquare, randbits);
    v = (root * root) % nSquare;
    const generates = [p, q, pPrime, qPrime].every(
      (factor) => modPow(v, (n * m) / factor, nSquare) !== 1n,
    );
    if (gcd(v, n) === 1n && generates) break;
  }
  const verificationKeys = shares.map(({ share }) => modPow(v, delta * share, nSquare));
  return { key: { n, threshold, trustees, v, verificationKeys }, shares };
}

function responseBits(key) {
  return bitLength(key.n * key.n) + bitLength(factorial(key.trustees)) + 2 * CHALLENGE_BITS;
}

function unit(value, n, what) {
  if (typeof value !== "bigint" || value <= 0n || value >= n * n || gcd(value, n) !== 1n) {
    throw new BallotCryptoError(`${what}: not an element of Z*_(n^2)`);
  }
  return value;
}

const CONTEXT_RE = /^[\x20-\x7e]{1,256}$/;

async function challenge(key, context, index, ciphertext, value, a, b) {
  const items = [
    PARTIAL_TAG,
    context,
    toHex(BigInt(index)),
    toHex(key.n),
    toHex(key.v),
    toHex(key.verificationKeys[index - 1]),
    toHex(ciphertext),
    toHex(value),
    toHex(a),
    toHex(b),
  ];
  const digest = await transcriptDigest(items);
  return BigInt("0x" + bytesToHex(digest.subarray(0, CHALLENGE_BITS / 8)));
}

// Trustee share.index's partial decryption of `ciphertext` with its proof,
// bound to `context` (the election fingerprint and the slot).
export async function partialDecrypt(key, share, ciphertext, context, { randbits }) {
  if (!CONTEXT_RE.test(context)) throw new BallotCryptoError("context: 1 to 256 printable ASCII");
  if (!(share.index >= 1 && share.index <= key.trustees)) {
    throw new BallotCryptoError("this share is not one of the key's trustees");
  }
  const nSquare = key.n * key.n;
  const exponent = factorial(key.trustees) * share.share;
  if (modPow(key.v, exponent, nSquare) !== key.verificationKeys[share.index - 1]) {
    throw new BallotCryptoError(
      `this share does not match trustee ${share.index}'s verification key`,
    );
  }
  const c = unit(ciphertext, key.n, "ciphertext");
  const value = modPow(c, 2n * exponent, nSquare);
  const r = await randbits(responseBits(key));
  const a = modPow(c, 4n * r, nSquare);
  const b = modPow(key.v, r, nSquare);
  const e = await challenge(key, context, share.index, c, value, a, b);
  return { index: share.index, value, challenge: e, response: r + e * exponent };
}

// Throws a BallotCryptoError naming the trustee unless the proof holds.
export async function verifyPartial(key, ciphertext, partial, context) {
  if (!CONTEXT_RE.test(context)) throw new BallotCryptoError("context: 1 to 256 printable ASCII");
  const index = partial.index;
  if (!Number.isInteger(index) || index < 1 || index > key.trustees) {
    throw new BallotCryptoError(`trustee ${index}: no such trustee in this key`);
  }
  const who = `trustee ${index}`;
  const c = unit(ciphertext, key.n, "ciphertext");
  const value = unit(partial.value, key.n, `${who}: partial decryption`);
  const { challenge: e, response: z } = partial;
  if (typeof e !== "bigint" || e < 0n || e >= 1n << BigInt(CHALLENGE_BITS)) {
    throw new BallotCryptoError(`${who}: the proof's challenge is out of range`);
  }
  if (typeof z !== "bigint" || z < 0n || z >= 1n << BigInt(responseBits(key) + 1)) {
    throw new BallotCryptoError(`${who}: the proof's response is out of range`);
  }
  const nSquare = key.n * key.n;
  const a = (modPow(c, 4n * z, nSquare) * modInverse(modPow(value, 2n * e, nSquare), nSquare)) % nSquare;
  const b =
    (modPow(key.v, z, nSquare) *
      modInverse(modPow(key.verificationKeys[index - 1], e, nSquare), nSquare)) %
    nSquare;
  if ((await challenge(key, context, index, c, value, a, b)) !== e) {
    throw new BallotCryptoError(`${who}: the proof of correct partial decryption does not hold`);
  }
}

export function lagrangeCoefficient(indices, j, delta) {
  let numerator = delta;
  let denominator = 1n;
  for (const other of indices) {
    if (other !== j) {
      numerator *= BigInt(other);
      denominator *= BigInt(other - j);
    }
  }
  if (numerator % denominator !== 0n) {
    throw new BallotCryptoError("Delta does not clear this coefficient: are the indices right?");
  }
  return numerator / denominator;
}

// Combines K verified partial decryptions of one ciphertext into its plaintext.
export function combine(key, partials) {
  const chosen = new Map();
  for (const partial of [...partials].sort((x, y) => x.index - y.index)) {
    if (!chosen.has(partial.index)) chosen.set(partial.index, partial);
  }
  if (chosen.size < key.threshold) {
    throw new BallotCryptoError(
      `${chosen.size} of the ${key.threshold} partial decryptions needed`,
    );
  }
  const indices = [...chosen.keys()].slice(0, key.threshold);
  const nSquare = key.n * key.n;
  const delta = factorial(key.trustees);
  let product = 1n;
  for (const j of indices) {
    const exponent = 2n * lagrangeCoefficient(indices, j, delta);
    product = (product * modPow(chosen.get(j).value, exponent, nSquare)) % nSquare;
  }
  if ((product - 1n) % key.n !== 0n) {
    throw new BallotCryptoError("the combination is not of the form 1 + x n: a partial is wrong");
  }
  return (((product - 1n) / key.n) * modInverse(4n * delta * delta, key.n)) % key.n;
}
