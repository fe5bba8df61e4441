// The trustees' files in the browser (ES module): public key, key shares,
// encrypted totals, partial decryptions.
//
// The JavaScript twin of what the key ceremony and the trustee pages need of
// elections/trustee/files.py and decryption.py; docs/trustees.md specifies
// the formats byte by byte. Writers produce Python's bytes exactly; readers
// are as strict as Python's (size cap before parsing, exact fields, one
// spelling per integer, every group element in Z*_(n^2)) and refuse with
// Python's messages, as BallotCryptoError. The golden files of
// tests/trustee/golden/ pin both sides (tests/js/trustee-files.test.mjs, and
// tests/trustee/test_browser_files.py the other way round).
//
// Key size: the Python readers refuse a modulus under 2048 bits (512 in its
// tests); these accept 512 to 8192 bits, the floor of parseParams, so that
// the small golden keys load. The site applies its policy when public.json
// is posted and when it builds tally.json, so nothing smaller reaches a page.
//
// Threat model. Protects a trustee against files that are not what they
// claim: a share of another election or key, a share that does not match
// its verification key, a tally of another election or key, anything
// malformed or oversized. A share is sealed (sealing.mjs) before it leaves
// the ceremony's worker, unless the caller asks for a plain demo file. Does
// not protect against a page that serves altered code, or a compromised
// browser or machine: both see the passphrase and the share. BigInt
// arithmetic is not constant time; the share's exponentiations run on the
// trustee's own machine.

import { modPow } from "./ballot-crypto.mjs";
import {
  BallotCryptoError,
  bytesToHex,
  canonicalJson,
  parseParams,
  sha256Hex,
  toHex,
} from "./election-params.mjs";
import { seal, unseal } from "./sealing.mjs";
import {
  checkText,
  expectList,
  expectObject,
  hexLength,
  isObject,
  loadJson,
  parseHex,
  pythonRepr,
} from "./strict-json.mjs";
import { MAX_TRUSTEES, factorial, partialDecrypt } from "./threshold.mjs";

export const PUBLIC_FORMAT = "evoting/trustee-public-key/v1";
export const SHARE_FORMAT = "evoting/trustee-share/v1";
export const SEALED_SHARE_FORMAT = "evoting/trustee-share-sealed/v1";
export const TALLY_FORMAT = "evoting/encrypted-tally/v1";
export const PARTIAL_FORMAT = "evoting/partial-decryption/v1";

const MIN_KEY_BITS = 512;
const MAX_KEY_BITS = 8192;
const MAX_ID_LENGTH = 128;
const MAX_SLOTS = 256;
const MAX_PARAMS_BYTES = 2 * 1024 * 1024;
const MAX_BALLOT_COUNT_DIGITS = 16;
// Every element of Z*_(n^2) at the largest key has 4,097 hex digits; the
// caps are Python's (test_browser_files.py compares them).
const ELEMENT_DIGITS = hexLength(1n << BigInt(2 * MAX_KEY_BITS));
export const MAX_PUBLIC_BYTES = (MAX_TRUSTEES + 2) * (ELEMENT_DIGITS + 8) + 4096;
export const MAX_SHARE_BYTES = 4 * (ELEMENT_DIGITS + 1024);
export const MAX_TALLY_BYTES = MAX_PARAMS_BYTES + MAX_SLOTS * (ELEMENT_DIGITS + 8) + 4096;
export const MAX_PARTIAL_BYTES = MAX_SLOTS * (3 * ELEMENT_DIGITS + 128) + 4096;

const DIGEST_RE = /^[0-9a-f]{64}$/;
const PUBLIC_FIELDS = ["format", "election_id", "n", "threshold", "trustees", "v",
  "verification_keys"];
const SHARE_FIELDS = ["format", "election_id", "index", "share", "public_fingerprint"];
const TALLY_FIELDS = ["format", "election_id", "params", "ballot_count", "closing_hash",
  "ciphertexts"];

// Public keys and tallies come only from this module's makers and readers,
// so a fingerprint or a total is never taken on trust.
const checkedPublicKeys = new WeakSet();
const checkedTallies = new WeakSet();

function requirePublicKey(publicKey) {
  if (!checkedPublicKeys.has(publicKey)) {
    throw new BallotCryptoError("expected a public key from makePublicKey or loadPublicKey");
  }
  return publicKey;
}

function requireTally(tally) {
  if (!checkedTallies.has(tally)) throw new BallotCryptoError("expected a tally from loadTally");
  return tally;
}

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

function bitLength(value) {
  return value === 0n ? 0 : value.toString(2).length;
}

function checkFormat(document, expected, what) {
  if (!isObject(document)) throw new BallotCryptoError(`not a ${what}: expected a JSON object`);
  if (document.format !== expected) {
    throw new BallotCryptoError(`not a ${what} of a known format (expected ${expected})`);
  }
  return document;
}

function checkDigest(value, field) {
  if (typeof value !== "string" || !DIGEST_RE.test(value)) {
    throw new BallotCryptoError(`${field}: expected 64 lowercase hex digits`);
  }
  return value;
}

function checkElectionId(value) {
  return checkText(value, "election id", MAX_ID_LENGTH);
}

// An odd modulus of 512 to 8192 bits (see the key size note above).
function checkModulus(n) {
  if (typeof n !== "bigint") throw new BallotCryptoError("the modulus must be an integer");
  const bits = bitLength(n);
  if (bits < MIN_KEY_BITS) {
    throw new BallotCryptoError(`the key has ${bits} bits; at least ${MIN_KEY_BITS} are required`);
  }
  if (bits > MAX_KEY_BITS) {
    throw new BallotCryptoError(`the key has ${bits} bits; at most ${MAX_KEY_BITS} are supported`);
  }
  if (n % 2n === 0n) throw new BallotCryptoError("the modulus must be odd");
  return n;
}

// x in Z*_(n^2): 0 < x < n^2 and gcd(x, n) = 1.
function unit(x, n, field) {
  if (typeof x !== "bigint") throw new BallotCryptoError(`${field}: not an integer`);
  if (x <= 0n || x >= n * n) throw new BallotCryptoError(`${field}: not an element of Z*_(n^2)`);
  if (gcd(x, n) !== 1n) throw new BallotCryptoError(`${field}: not invertible modulo n`);
  return x;
}

function element(value, n, field) {
  return unit(parseHex(value, field, hexLength(n * n)), n, field);
}

// As Python's ThresholdKey: 1 <= K <= N <= 64, one v_i per trustee, v and
// every v_i in Z*_(n^2). Returns a frozen copy.
function thresholdKey({ n, threshold, trustees, v, verificationKeys }) {
  if (!Number.isInteger(threshold) || !Number.isInteger(trustees) ||
    !(threshold >= 1 && threshold <= trustees && trustees <= MAX_TRUSTEES)) {
    throw new BallotCryptoError(`need 1 <= K <= N <= ${MAX_TRUSTEES}`);
  }
  if (!Array.isArray(verificationKeys) || verificationKeys.length !== trustees) {
    throw new BallotCryptoError("one verification key per trustee");
  }
  for (const value of [v, ...verificationKeys]) unit(value, n, "verification key");
  return Object.freeze({
    n, threshold, trustees, v, verificationKeys: Object.freeze([...verificationKeys]),
  });
}

function publicBody(electionId, key) {
  return {
    format: PUBLIC_FORMAT,
    election_id: electionId,
    n: toHex(key.n),
    threshold: toHex(BigInt(key.threshold)),
    trustees: toHex(BigInt(key.trustees)),
    v: toHex(key.v),
    verification_keys: key.verificationKeys.map(toHex),
  };
}

function publicKeyOf(electionId, key, fingerprint) {
  const publicKey = Object.freeze({ electionId, key, fingerprint });
  checkedPublicKeys.add(publicKey);
  return publicKey;
}

// Public key ------------------------------------------------------------------

// Attach an election id and the fingerprint to a dealt key (threshold.mjs's
// deal: { n, threshold, trustees, v, verificationKeys }). Resolves to the
// frozen { electionId, key, fingerprint }; the fingerprint is the SHA-256
// hex of the canonical JSON of every other field of public.json.
export async function makePublicKey(electionId, key) {
  checkElectionId(electionId);
  checkModulus(key?.n);
  const checked = thresholdKey(key);
  const fingerprint = await sha256Hex(canonicalJson(publicBody(electionId, checked)));
  return publicKeyOf(electionId, checked, fingerprint);
}

// public.json: byte for byte Python's dump_public_key.
export function dumpPublicKey(publicKey) {
  const { electionId, key, fingerprint } = requirePublicKey(publicKey);
  return canonicalJson({ ...publicBody(electionId, key), fingerprint });
}

// Read public.json (a string or UTF-8 bytes) as strictly as Python's
// load_public_key, in the same order and with the same messages: size,
// format, fields, election id, n, K and N, the verification keys, v and
// each v_i in Z*_(n^2), then the fingerprint against the rest. Resolves to
// the frozen { electionId, key, fingerprint }.
export async function loadPublicKey(text) {
  const document = checkFormat(loadJson(text, MAX_PUBLIC_BYTES), PUBLIC_FORMAT,
    "trustee public key");
  expectObject(document, [...PUBLIC_FIELDS, "fingerprint"], "public key");
  const electionId = checkElectionId(document.election_id);
  const n = checkModulus(parseHex(document.n, "n", hexLength(1n << BigInt(MAX_KEY_BITS))));
  const threshold = Number(parseHex(document.threshold, "threshold", 2));
  const trustees = Number(parseHex(document.trustees, "trustees", 2));
  if (!(threshold >= 1 && threshold <= trustees && trustees <= MAX_TRUSTEES)) {
    throw new BallotCryptoError(`need 1 <= threshold <= trustees <= ${MAX_TRUSTEES}`);
  }
  const values = expectList(document.verification_keys, trustees,
    "verification_keys (one per trustee)");
  const v = element(document.v, n, "v");
  const verificationKeys = values.map(
    (value, i) => element(value, n, `verification key of trustee ${i + 1}`),
  );
  const fingerprint = checkDigest(document.fingerprint, "fingerprint");
  const body = Object.fromEntries(PUBLIC_FIELDS.map((name) => [name, document[name]]));
  if ((await sha256Hex(canonicalJson(body))) !== fingerprint) {
    throw new BallotCryptoError("the public key's fingerprint does not match its contents");
  }
  const key = thresholdKey({ n, threshold, trustees, v, verificationKeys });
  return publicKeyOf(electionId, key, fingerprint);
}

// Key shares ------------------------------------------------------------------

// Refuse a share whose v^(Delta s_i) is not its trustee's v_i.
export function checkShare(publicKey, share) {
  const { key } = requirePublicKey(publicKey);
  if (!isObject(share) || !Number.isInteger(share.index) || typeof share.share !== "bigint" ||
    share.share < 0n) {
    throw new BallotCryptoError("expected a share { index, share } with a BigInt share");
  }
  if (share.index < 1 || share.index > key.trustees) {
    throw new BallotCryptoError(`trustee ${share.index} is not one of the key's ${key.trustees}`);
  }
  const expected = key.verificationKeys[share.index - 1];
  if (modPow(key.v, factorial(key.trustees) * share.share, key.n * key.n) !== expected) {
    throw new BallotCryptoError(
      `this share does not match trustee ${share.index}'s verification key`,
    );
  }
}

// Trustee share.index's share file: the plain document (passphrase null,
// for demonstrations only), or sealed under passphrase (a non-empty string)
// as evoting/trustee-share-sealed/v1; onProgress(fraction) follows the key
// derivation. Checks the share against its verification key first. Resolves
// to the file's text: exactly Python's dump_share, up to the random salt
// and nonce when sealed.
export async function dumpShare(publicKey, share, passphrase, { onProgress } = {}) {
  checkShare(publicKey, share);
  const plain = canonicalJson({
    format: SHARE_FORMAT,
    election_id: publicKey.electionId,
    index: toHex(BigInt(share.index)),
    share: toHex(share.share),
    public_fingerprint: publicKey.fingerprint,
  });
  if (passphrase === null) return plain;
  const bytes = new TextEncoder().encode(plain);
  try {
    return await seal(bytes, passphrase, SEALED_SHARE_FORMAT, { onProgress });
  } finally {
    bytes.fill(0);
  }
}

// Whether a share file is sealed (and needs a passphrase); throws for an
// unreadable file.
export function shareIsSealed(text) {
  const document = loadJson(text, MAX_SHARE_BYTES);
  return isObject(document) && document.format === SEALED_SHARE_FORMAT;
}

async function openShare(text, passphrase, onProgress) {
  const document = loadJson(text, MAX_SHARE_BYTES);
  if (isObject(document) && document.format === SEALED_SHARE_FORMAT) {
    if (passphrase === null) {
      throw new BallotCryptoError("this share is sealed: a passphrase is required");
    }
    const plain = await unseal(document, passphrase, SEALED_SHARE_FORMAT,
      { what: "share file", onProgress });
    try {
      return loadJson(plain, MAX_SHARE_BYTES);
    } finally {
      plain.fill(0);
    }
  }
  if (passphrase !== null) {
    throw new BallotCryptoError("this share is not sealed, but a passphrase was given");
  }
  return document;
}

// Read a share file (sealed: passphrase a string; plain: passphrase null)
// and check it belongs to publicKey: as Python's load_share, refusing a
// sealed file without passphrase or a plain one with it, a wrong
// passphrase or a modified file (indistinguishable), another election,
// another public key (fingerprint), an index outside 1..N and a share that
// does not match its verification key. Resolves to the frozen
// { index, share } (share a BigInt).
export async function loadShare(text, publicKey, passphrase, { onProgress } = {}) {
  requirePublicKey(publicKey);
  const document = checkFormat(await openShare(text, passphrase, onProgress), SHARE_FORMAT,
    "trustee share");
  expectObject(document, SHARE_FIELDS, "share");
  const electionId = checkElectionId(document.election_id);
  if (electionId !== publicKey.electionId) {
    throw new BallotCryptoError(
      `this share belongs to election ${pythonRepr(electionId)}, ` +
        `the public key to ${pythonRepr(publicKey.electionId)}`,
    );
  }
  if (checkDigest(document.public_fingerprint, "public_fingerprint") !== publicKey.fingerprint) {
    throw new BallotCryptoError("this share was dealt with another public key (fingerprint)");
  }
  const index = Number(parseHex(document.index, "index", 2));
  const { n } = publicKey.key;
  const value = parseHex(document.share, "share", hexLength(n * n));
  const share = Object.freeze({ index, share: value });
  checkShare(publicKey, share);
  return share;
}

// Encrypted totals ------------------------------------------------------------

// Read tally.json as strictly as Python's load_tally: the format and fields,
// the parameters (parseParams of election-params.mjs; its messages after
// "tally params: "), the election id against theirs, the ballot count, one
// total per slot in Z*_(n^2), the closing hash. Resolves to the frozen
// { electionId, params, ballotCount (BigInt), closingHash, ciphertexts
// (BigInts, slot order) }.
export async function loadTally(text) {
  const document = checkFormat(loadJson(text, MAX_TALLY_BYTES), TALLY_FORMAT, "encrypted tally");
  expectObject(document, TALLY_FIELDS, "tally");
  let params;
  try {
    params = await parseParams(document.params);
  } catch (error) {
    if (!(error instanceof BallotCryptoError)) throw error;
    throw new BallotCryptoError(`tally params: ${error.message}`);
  }
  if (checkElectionId(document.election_id) !== params.electionId) {
    throw new BallotCryptoError("the tally's election id is not its parameters'");
  }
  const ballotCount = parseHex(document.ballot_count, "ballot_count", MAX_BALLOT_COUNT_DIGITS);
  const values = expectList(document.ciphertexts, params.slotCount, "ciphertexts (one per slot)");
  const ciphertexts = values.map(
    (value, slot) => element(value, params.n, `total of slot ${slot}`),
  );
  const closingHash = checkDigest(document.closing_hash, "closing_hash");
  const tally = Object.freeze({
    electionId: params.electionId,
    params,
    ballotCount,
    closingHash,
    ciphertexts: Object.freeze(ciphertexts),
  });
  checkedTallies.add(tally);
  return tally;
}

// Refuse a tally of another election or encrypted under another key.
export function checkTallyKey(publicKey, tally) {
  requirePublicKey(publicKey);
  requireTally(tally);
  if (tally.electionId !== publicKey.electionId) {
    throw new BallotCryptoError(
      `the tally is of election ${pythonRepr(tally.electionId)}, ` +
        `the public key of ${pythonRepr(publicKey.electionId)}`,
    );
  }
  if (tally.params.n !== publicKey.key.n) {
    throw new BallotCryptoError("the tally was encrypted under another key than public.json's");
  }
}

// Partial decryptions ---------------------------------------------------------

// The proof context of slot slot's total: fingerprint + "/slot/" + hex(slot),
// binding each proof to the election's parameters and to the slot.
export function slotContext(params, slot) {
  if (!Number.isInteger(slot) || slot < 0 || slot >= params.slotCount) {
    throw new BallotCryptoError("no such slot");
  }
  return `${params.fingerprint}/slot/${toHex(BigInt(slot))}`;
}

// k uniform random bits as a BigInt in [0, 2^k), from crypto.getRandomValues:
// the randbits of partiallyDecryptTally and of threshold.mjs's deal.
export function randomBits(k) {
  if (!Number.isInteger(k) || k < 0) {
    throw new BallotCryptoError("the number of random bits must be a non-negative integer");
  }
  if (k === 0) return 0n;
  const bytes = new Uint8Array(Math.ceil(k / 8));
  // getRandomValues fills at most 65,536 bytes a call.
  for (let offset = 0; offset < bytes.length; offset += 65536) {
    globalThis.crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  bytes[0] &= 0xff >> (bytes.length * 8 - k);
  return BigInt("0x" + bytesToHex(bytes));
}

// Trustee share.index's partial decryption of every total of the tally,
// each with its proof (threshold.mjs's partialDecrypt with slotContext), as
// Python's partially_decrypt_tally. Takes the public key, the share from
// loadShare, the tally from loadTally, a randomness source randbits(k)
// (randomBits unless given) and onProgress(done, total), called after each
// slot. Refuses a tally of another election or key and a share that does
// not match. Resolves to the frozen { electionId, paramsFingerprint,
// trustee, partials: [{ index, value, challenge, response }] }.
export async function partiallyDecryptTally(
  publicKey, share, tally, { randbits = randomBits, onProgress } = {},
) {
  checkTallyKey(publicKey, tally);
  checkShare(publicKey, share);
  const partials = [];
  for (const [slot, ciphertext] of tally.ciphertexts.entries()) {
    const context = slotContext(tally.params, slot);
    partials.push(Object.freeze(
      await partialDecrypt(publicKey.key, share, ciphertext, context, { randbits }),
    ));
    if (onProgress) onProgress(slot + 1, tally.ciphertexts.length);
  }
  return Object.freeze({
    electionId: tally.electionId,
    paramsFingerprint: tally.params.fingerprint,
    trustee: share.index,
    partials: Object.freeze(partials),
  });
}

// partial-<i>.json: byte for byte Python's dump_partial.
export function dumpPartial({ electionId, paramsFingerprint, trustee, partials }) {
  return canonicalJson({
    format: PARTIAL_FORMAT,
    election_id: electionId,
    params_fingerprint: paramsFingerprint,
    trustee: toHex(BigInt(trustee)),
    partials: partials.map(({ value, challenge, response }) => ({
      value: toHex(value),
      challenge: toHex(challenge),
      response: toHex(response),
    })),
  });
}
