// Ballot encryption and validity proofs for the voting booth (ES module).
//
// The JavaScript twin of the Python package elections/crypto (params.py,
// proofs.py, client.py, encoding.py); docs/ballot-format.md is the
// specification and tests/crypto/vectors/*.json pin both sides to the same
// bytes. Native BigInt only: no dependency to audit, no eval (works under a
// strict CSP), SHA-256 from WebCrypto, randomness from crypto.getRandomValues.
// Loads in a module worker (new Worker(url, {type: "module"})) and in Node 20.
//
// Format v2 (every new election): one or more questions, each with its
// options, selection bounds [min, max] and possibly a blank vote. A ballot
// has one ciphertext per slot (each question's options, then its blank slot
// when it has one): Paillier with g = n + 1, c = (1 + m*n) * r^n mod n^2 with
// m = 1 for a chosen option or a blank vote. Each ciphertext carries a CDS OR
// proof that it encrypts 0 or 1, and each question one more, that its count
// base prod c_i * c_blank^(k+1) encrypts a value of [min, max] or, with a
// blank vote, k + 1: a blank vote therefore selects nothing else. The
// election fingerprint (SHA-256 of the canonical parameters) binds every
// label the voter reads (titles, descriptions, option names, affiliations,
// positions, rules) into every challenge.
// Format v1 (elections created before questions existed): one question of
// candidate identifiers without blank vote or labels. parseParams reads it
// and finishBallot then writes a v1 ballot, with the v1 tags and labels.
//
// Every exponentiation by n happens in precomputeBallot, before the choice;
// finishBallot needs one 128-bit exponentiation mod n per proof.
//
// Protects against: a choice leaving the worker in the clear (only the
// ciphertexts and proofs are returned); a ballot that breaks a question's
// rules (the proofs fail); a ballot made under parameters other than the
// published ones, or for another voter context (its challenges differ, so
// it fails verification against them). Does not protect against a server
// that serves altered code, or a compromised device, which can encrypt
// another choice (the voter's check is the tracker on the public board);
// nor against timing side channels: BigInt arithmetic is not constant time.

export const BALLOT_FORMAT = "evoting/ballot/v2";
export const BALLOT_FORMAT_V1 = "evoting/ballot/v1";
export const PARAMS_FORMAT = "evoting/election-params/v2";
export const PARAMS_FORMAT_V1 = "evoting/election-params/v1";
export const CHALLENGE_BITS = 128;
export const MAX_QUESTIONS = 20;
export const MAX_OPTIONS_PER_QUESTION = 64;
// A ballot carries a ciphertext and a 0/1 proof per slot (option or blank),
// so its size and cost follow MAX_SLOTS.
export const MAX_SLOTS = 256;
const MAX_CANDIDATES = 256; // v1: its single question
const FORMAT_VERSIONS = new Map([[PARAMS_FORMAT_V1, 1], [PARAMS_FORMAT, 2]]);
const TAGS = {
  1: { statement: "evoting/ballot/v1/statement", proof: "evoting/ballot/v1/proof" },
  2: { statement: "evoting/ballot/v2/statement", proof: "evoting/ballot/v2/proof" },
};
const CHALLENGE_MODULUS = 1n << BigInt(CHALLENGE_BITS);
const COUNT_LABEL = "count";
const SELECTION_VALUES = [0n, 1n];
const HEX_RE = /^(0|[1-9a-f][0-9a-f]*)$/;
const PRINTABLE_RE = /^[\x20-\x7e]+$/;
// Python's str.isspace() set, not JavaScript's \s (which adds U+FEFF and
// lacks U+001C-U+001F and U+0085): "blank" must mean the same on both sides.
const BLANK_RE =
  /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;
// Category Cc is exactly U+0000-U+001F and U+007F-U+009F; \p{Cs} matches a
// lone surrogate (a well-formed pair is one code point under the u flag).
const CONTROL_RE = /[\x00-\x1f\x7f-\x9f]|\p{Cs}/u;
const CONTROL_EXCEPT_LF_RE = /[\x00-\x09\x0b-\x1f\x7f-\x9f]|\p{Cs}/u;
const MAX_ID_LENGTH = 128;
const MAX_VOTER_CONTEXT = 200;
const MAX_TITLE_LENGTH = 200;
const MAX_DESCRIPTION_LENGTH = 2000;
const MAX_NAME_LENGTH = 120;
const MAX_KEY_BITS = 8192;
const N_DIGITS = MAX_KEY_BITS / 4 + 1; // the digits of hex(2^8192), as Python allows
const MIN_KEY_BITS = 512; // the server enforces its own, stricter floor

export class BallotCryptoError extends Error {}
BallotCryptoError.prototype.name = "BallotCryptoError";

export function toHex(value) {
  if (value < 0n) throw new BallotCryptoError("negative integers have no canonical encoding");
  return value.toString(16);
}

export function parseHex(value, field, maxDigits) {
  if (typeof value !== "string" || value.length === 0 || value.length > maxDigits) {
    throw new BallotCryptoError(`${field}: expected 1 to ${maxDigits} hex digits`);
  }
  if (!HEX_RE.test(value)) throw new BallotCryptoError(`${field}: not canonical lowercase hex`);
  return BigInt("0x" + value);
}

// Identifiers and the voter context: 1 to maxLength printable ASCII characters.
function checkText(value, field, maxLength) {
  if (typeof value !== "string" || value.length > maxLength || !PRINTABLE_RE.test(value)) {
    throw new BallotCryptoError(`${field}: 1 to ${maxLength} printable ASCII characters`);
  }
  return value;
}

// Labels are bound into the fingerprint, so each has one spelling: NFC, no
// control character (a line feed only where newlines), no lone surrogate, at
// most maxLength code points, not blank when required. Same as Python's
// encoding.check_label. The server also refuses code points unassigned in its
// (older or equal) Unicode database, so by Unicode's normalisation stability
// policy this browser's NFC check agrees with the server's.
const UNASSIGNED_RE = /\p{Cn}/u;
function checkLabel(value, field, maxLength, { required = true, newlines = false } = {}) {
  if (typeof value !== "string") throw new BallotCryptoError(`${field}: expected a string`);
  if (required && BLANK_RE.test(value)) throw new BallotCryptoError(`${field}: must not be empty`);
  let codePoints = 0;
  for (const _ of value) codePoints += 1;
  if (codePoints > maxLength) {
    throw new BallotCryptoError(`${field}: at most ${maxLength} characters`);
  }
  if ((newlines ? CONTROL_EXCEPT_LF_RE : CONTROL_RE).test(value)) {
    throw new BallotCryptoError(`${field}: control characters and lone surrogates are not allowed`);
  }
  if (UNASSIGNED_RE.test(value)) {
    throw new BallotCryptoError(`${field}: unassigned Unicode code points are not allowed`);
  }
  if (value.normalize("NFC") !== value) {
    throw new BallotCryptoError(`${field}: must be in Unicode normalisation form NFC`);
  }
  return value;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// Exactly these keys: an extra field is refused, not ignored.
function expectObject(value, keys, field) {
  if (!isObject(value)) throw new BallotCryptoError(`${field}: expected an object`);
  const missing = keys.filter((key) => !Object.hasOwn(value, key));
  const extra = Object.keys(value).filter((key) => !keys.includes(key));
  if (missing.length > 0 || extra.length > 0) {
    const shown = extra.map((key) => JSON.stringify(key.slice(0, 40)));
    throw new BallotCryptoError(
      `${field}: missing fields [${missing.join(", ")}], unexpected fields [${shown.join(", ")}]`,
    );
  }
  return value;
}

function expectArray(value, low, high, field) {
  if (!Array.isArray(value) || value.length < low || value.length > high) {
    throw new BallotCryptoError(`${field} must be an array of ${low} to ${high}`);
  }
  return value;
}

// Sliding-window exponentiation: a table of odd powers base^1, base^3, ...
// lets each window of up to w bits cost one multiplication.
export function modPow(base, exponent, modulus) {
  if (modulus === 1n) return 0n;
  if (exponent < 0n) return modPow(modInverse(base, modulus), -exponent, modulus);
  let b = base % modulus;
  if (b < 0n) b += modulus;
  if (exponent === 0n) return 1n;
  const bits = exponent.toString(2);
  const width = bits.length > 768 ? 5 : bits.length > 96 ? 4 : 3;
  const table = [b];
  const square = (b * b) % modulus;
  for (let i = 1; i < 1 << (width - 1); i++) table.push((table[i - 1] * square) % modulus);
  let result = 1n;
  let i = 0;
  while (i < bits.length) {
    if (bits[i] === "0") {
      result = (result * result) % modulus;
      i += 1;
      continue;
    }
    let j = Math.min(i + width, bits.length);
    while (bits[j - 1] === "0") j -= 1;
    for (let t = i; t < j; t++) result = (result * result) % modulus;
    result = (result * table[(parseInt(bits.slice(i, j), 2) - 1) >> 1]) % modulus;
    i = j;
  }
  return result;
}

export function modInverse(value, modulus) {
  let [a, b] = [((value % modulus) + modulus) % modulus, modulus];
  let [x, y] = [1n, 0n];
  while (b !== 0n) {
    const q = a / b;
    [a, b] = [b, a - q * b];
    [x, y] = [y, x - q * y];
  }
  if (a !== 1n) throw new BallotCryptoError("value is not invertible");
  return ((x % modulus) + modulus) % modulus;
}

// (1 + n)^x mod n^2 = 1 + (x mod n) * n: free, by the binomial theorem.
function gPower(exponent, n, nSquare) {
  let x = exponent % n;
  if (x < 0n) x += n;
  return (1n + x * n) % nSquare;
}

// One spelling per proof: responses live in [1, (n-1)/2]. (n - z)^n = -z^n
// mod n^2, which both acceptance rules allow (v2 squares it away, v1 accepts
// either sign), so the prover needs no new commitment.
function canonicalResponse(z, n) {
  const r = ((z % n) + n) % n;
  return r > (n - 1n) / 2n ? n - r : r;
}

function escapeString(text) {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (unit) => "\\u" + unit.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

function compareCodePoints(a, b) {
  const [x, y] = [Array.from(a, (c) => c.codePointAt(0)), Array.from(b, (c) => c.codePointAt(0))];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

// Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True):
// keys sorted by code point, no spaces, JSON.stringify's escapes (the same
// as Python's for '"', '\' and control characters) and then every UTF-16
// code unit above 0x7e written \uXXXX in lowercase hex (a character above
// U+FFFF as its surrogate pair). Strings only: integers are hex strings.
export function canonicalJson(value) {
  if (typeof value === "string") return escapeString(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  if (isObject(value)) {
    const keys = Object.keys(value).sort(compareCodePoints);
    return "{" + keys.map((k) => escapeString(k) + ":" + canonicalJson(value[k])).join(",") + "}";
  }
  throw new BallotCryptoError("canonical JSON holds only strings, arrays and objects");
}

const encoder = new TextEncoder();

function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(bytes) {
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes));
}

export async function sha256Hex(text) {
  return bytesToHex(await sha256(encoder.encode(text)));
}

// Each item: 4-byte big-endian length, then its ASCII bytes (unambiguous).
async function transcriptDigest(items) {
  const encoded = items.map((item) => encoder.encode(item));
  const total = encoded.reduce((sum, bytes) => sum + 4 + bytes.length, 0);
  const buffer = new Uint8Array(total);
  const view = new DataView(buffer.buffer);
  let offset = 0;
  for (const bytes of encoded) {
    view.setUint32(offset, bytes.length, false);
    buffer.set(bytes, offset + 4);
    offset += 4 + bytes.length;
  }
  return sha256(buffer);
}

function tags(version) {
  const found = TAGS[version];
  if (found === undefined) throw new BallotCryptoError("unknown ballot format version");
  return found;
}

// What every proof of a ballot is about: the election (through its
// fingerprint), the voter context and every ciphertext, slot by slot across
// all questions. Returns 64 hex digits.
export async function statementDigest(fingerprint, voterContext, ciphertexts, version) {
  const items = [tags(version).statement, fingerprint, voterContext];
  items.push(toHex(BigInt(ciphertexts.length)));
  for (const c of ciphertexts) items.push(toHex(c));
  return bytesToHex(await transcriptDigest(items));
}

// The Fiat-Shamir challenge of one OR proof: the first 16 bytes, big-endian,
// of the hash of the tag, statement, label, allowed values and commitments.
export async function proofChallenge(statement, label, values, commitments, version) {
  const items = [tags(version).proof, statement, label, toHex(BigInt(values.length))];
  for (const v of values) items.push(toHex(v));
  items.push(toHex(BigInt(commitments.length)));
  for (const a of commitments) items.push(toHex(a));
  const digest = await transcriptDigest(items);
  return BigInt("0x" + bytesToHex(digest.subarray(0, CHALLENGE_BITS / 8)));
}

// The v1 label of candidate index's 0/1 proof.
export function selectionLabel(index) {
  return "selection/" + index.toString(16);
}

// The v2 labels of question q's 0/1 proofs (options, then blank) and of its
// count proof: a proof moved to another option or question hashes another
// label and fails.
export function questionLabels(q, options, blank) {
  const prefix = "question/" + q.toString(16) + "/";
  const labels = Array.from({ length: options }, (_, i) => prefix + "option/" + i.toString(16));
  if (blank) labels.push(prefix + "blank");
  return { labels, countLabel: prefix + "count" };
}

function proofLabels(version, index, question) {
  if (version === 1) {
    const labels = Array.from({ length: question.width }, (_, i) => selectionLabel(i));
    return { labels, countLabel: COUNT_LABEL };
  }
  return questionLabels(index, question.options.length, question.blank);
}

// Parameters come only from parseParams: frozen, checked, fingerprinted.
const parsedParams = new WeakSet();

function requireParams(params) {
  if (!parsedParams.has(params)) {
    throw new BallotCryptoError("expected election parameters from parseParams");
  }
  return params;
}

function checkModulus(n) {
  const bits = n.toString(2).length;
  if (bits < MIN_KEY_BITS || bits > MAX_KEY_BITS || n % 2n === 0n) {
    throw new BallotCryptoError(`params: the modulus must be odd, of ${MIN_KEY_BITS} to ` +
      `${MAX_KEY_BITS} bits`);
  }
  return n;
}

function checkBounds(min, max, options, where) {
  if (!(0n <= min && min <= max && max <= BigInt(options))) {
    throw new BallotCryptoError(`${where}: need 0 <= min_selections <= max_selections <= ` +
      `the number of options`);
  }
}

function readParamsV1(document) {
  const keys = ["format", "election_id", "n", "candidates", "min_selections", "max_selections"];
  expectObject(document, keys, "params");
  const candidates = expectArray(document.candidates, 1, MAX_CANDIDATES, "params: candidates");
  const n = checkModulus(parseHex(document.n, "n", N_DIGITS));
  const min = parseHex(document.min_selections, "min_selections", 4);
  const max = parseHex(document.max_selections, "max_selections", 4);
  const electionId = checkText(document.election_id, "election id", MAX_ID_LENGTH);
  const options = candidates.map((id) => ({
    id: checkText(id, "candidate", MAX_ID_LENGTH), name: "", affiliation: "",
  }));
  checkBounds(min, max, options.length, "params");
  const question = { title: "", description: "", min, max, blank: false, options };
  return { electionId, title: "", n, questions: [question] };
}

function readOption(value, position, where) {
  const field = `${where} option ${position}`;
  const option = expectObject(value, ["id", "name", "affiliation", "position"], field);
  if (parseHex(option.position, field, 4) !== BigInt(position)) {
    throw new BallotCryptoError(`${field}: positions must count from 1 in ballot order`);
  }
  return {
    id: checkText(option.id, `${field} id`, MAX_ID_LENGTH),
    name: checkLabel(option.name, `${field} name`, MAX_NAME_LENGTH),
    affiliation: checkLabel(option.affiliation, `${field} affiliation`, MAX_NAME_LENGTH,
      { required: false }),
  };
}

function readQuestion(value, where) {
  const keys = ["title", "description", "min_selections", "max_selections", "blank", "options"];
  const question = expectObject(value, keys, where);
  if (question.blank !== "0" && question.blank !== "1") {
    throw new BallotCryptoError(`${where}: blank must be "0" or "1"`);
  }
  const items = expectArray(question.options, 1, MAX_OPTIONS_PER_QUESTION, `${where}: options`);
  const options = items.map((item, i) => readOption(item, i + 1, where));
  const min = parseHex(question.min_selections, `${where} min_selections`, 4);
  const max = parseHex(question.max_selections, `${where} max_selections`, 4);
  checkBounds(min, max, options.length, where);
  if (max < 1n) throw new BallotCryptoError(`${where}: at least one option must be selectable`);
  return {
    title: checkLabel(question.title, `${where} title`, MAX_TITLE_LENGTH),
    description: checkLabel(question.description, `${where} description`,
      MAX_DESCRIPTION_LENGTH, { required: false, newlines: true }),
    min,
    max,
    blank: question.blank === "1",
    options,
  };
}

function readParamsV2(document) {
  expectObject(document, ["format", "election_id", "title", "n", "questions"], "params");
  const n = checkModulus(parseHex(document.n, "n", N_DIGITS));
  const items = expectArray(document.questions, 1, MAX_QUESTIONS, "params: questions");
  const questions = items.map((item, i) => readQuestion(item, `question ${i + 1}`));
  const slots = questions.reduce((sum, q) => sum + q.options.length + Number(q.blank), 0);
  if (slots > MAX_SLOTS) {
    throw new BallotCryptoError(`${slots} options and blank votes in all; at most ${MAX_SLOTS}`);
  }
  return {
    electionId: checkText(document.election_id, "election id", MAX_ID_LENGTH),
    title: checkLabel(document.title, "title", MAX_TITLE_LENGTH),
    n,
    questions,
  };
}

// A question with what the proofs need: width (its slots), blankWeight (the
// blank ciphertext's exponent in the count base, k + 1) and countValues (the
// count proof's allowed values: min to max, then k + 1 when blank votes are
// allowed). As 0 <= options chosen <= k, the count T = chosen + (k+1) * blank
// determines both, so these values allow exactly the valid answers.
function describeQuestion({ title, description, min, max, blank, options }) {
  const k = options.length;
  const countValues = [];
  for (let v = min; v <= max; v++) countValues.push(v);
  if (blank) countValues.push(BigInt(k + 1));
  return Object.freeze({
    title, description, min, max, blank,
    options: Object.freeze(options.map((option) => Object.freeze(option))),
    width: k + Number(blank),
    blankWeight: k + 1,
    countValues: Object.freeze(countValues),
  });
}

// The parameters' JSON document in the layout of their version (the same
// as Python's params_to_dict).
function paramsToDocument(params) {
  if (params.version === 1) {
    const [question] = params.questions;
    return {
      format: PARAMS_FORMAT_V1,
      election_id: params.electionId,
      n: toHex(params.n),
      candidates: question.options.map((option) => option.id),
      min_selections: toHex(question.min),
      max_selections: toHex(question.max),
    };
  }
  return {
    format: PARAMS_FORMAT,
    election_id: params.electionId,
    title: params.title,
    n: toHex(params.n),
    questions: params.questions.map((question) => ({
      title: question.title,
      description: question.description,
      min_selections: toHex(question.min),
      max_selections: toHex(question.max),
      blank: question.blank ? "1" : "0",
      options: question.options.map((option, i) => ({
        id: option.id,
        name: option.name,
        affiliation: option.affiliation,
        position: toHex(BigInt(i + 1)),
      })),
    })),
  };
}

// The canonical JSON of parsed parameters: the fingerprint's preimage, byte
// for byte the text of Python's params_to_json.
export function paramsToJson(params) {
  return canonicalJson(paramsToDocument(requireParams(params)));
}

// Parse an election parameters document (v1 or v2, as produced by Python's
// params_to_json) as strictly as Python's params_from_dict: exact keys,
// canonical hex, limits, printable ASCII identifiers unique in the election,
// positions counting from 1, canonical labels. Returns frozen parameters:
// { version, electionId, title, n, nSquare, half, questions, offsets,
// slotCount, optionIds, fingerprint }, each question { title, description,
// min, max, blank, options: [{ id, name, affiliation }], width, blankWeight,
// countValues }; offsets[q] is the slot of question q's first ciphertext.
// Throws BallotCryptoError.
export async function parseParams(document) {
  if (!isObject(document)) throw new BallotCryptoError("params: expected an object");
  const version = FORMAT_VERSIONS.get(document.format);
  if (version === undefined) throw new BallotCryptoError("params: unknown format");
  const fields = version === 1 ? readParamsV1(document) : readParamsV2(document);
  const optionIds = fields.questions.flatMap((question) => question.options.map((o) => o.id));
  if (new Set(optionIds).size !== optionIds.length) {
    throw new BallotCryptoError("params: option identifiers must be unique in the election");
  }
  const questions = fields.questions.map(describeQuestion);
  const offsets = [];
  let slotCount = 0;
  for (const question of questions) {
    offsets.push(slotCount);
    slotCount += question.width;
  }
  const { electionId, title, n } = fields;
  const params = {
    version, electionId, title, n, nSquare: n * n, half: (n - 1n) / 2n,
    questions: Object.freeze(questions),
    offsets: Object.freeze(offsets),
    slotCount,
    optionIds: Object.freeze(optionIds),
  };
  parsedParams.add(params);
  params.fingerprint = await sha256Hex(paramsToJson(params));
  return Object.freeze(params);
}

// randbelow(upper): ceil(b/8) bytes for b = bitlength(upper - 1), keep the
// low b bits (big-endian), retry until below upper. Same as Python's.
async function rejectionSample(upper, takeBytes) {
  if (upper < 1n) throw new BallotCryptoError("randbelow needs a positive bound");
  const bits = upper === 1n ? 0 : (upper - 1n).toString(2).length;
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const bytes = await takeBytes(Math.ceil(bits / 8));
    const value = bytes.length ? BigInt("0x" + bytesToHex(bytes)) & mask : 0n;
    if (value < upper) return value;
  }
}

export class SystemRandom {
  async randbelow(upper) {
    return rejectionSample(upper, async (count) => {
      const bytes = new Uint8Array(count);
      globalThis.crypto.getRandomValues(bytes);
      return bytes;
    });
  }
}

// Reproducible stream SHA-256(seed || counter) for known-answer tests only.
export class DeterministicRandom {
  constructor(seed) {
    this.seed = Uint8Array.from(seed);
    this.counter = 0;
    this.buffer = new Uint8Array(0);
  }

  async take(count) {
    while (this.buffer.length < count) {
      const input = new Uint8Array(this.seed.length + 4);
      input.set(this.seed);
      new DataView(input.buffer).setUint32(this.seed.length, this.counter, false);
      this.counter += 1;
      const block = await sha256(input);
      const joined = new Uint8Array(this.buffer.length + block.length);
      joined.set(this.buffer);
      joined.set(block, this.buffer.length);
      this.buffer = joined;
    }
    const taken = this.buffer.slice(0, count);
    this.buffer = this.buffer.slice(count);
    return taken;
  }

  async randbelow(upper) {
    return rejectionSample(upper, (count) => this.take(count));
  }
}

// A branch whose u is r^n * g^d, d known only after the click: with response
// z = t * r^e mod n the commitment z^n * u^-e is t^n * g^(-d*e), one
// exponentiation by n and no inverse; the g-term is added by finishOrProof.
function simulate([challenge, mask], r, n, nSquare) {
  const response = canonicalResponse((mask * modPow(r, challenge, n)) % n, n);
  return { challenge, response, base: modPow(mask, n, nSquare) };
}

// The randomness of a question's count base: prod r_i * r_blank^(k+1) mod n.
function countRandomness(question, slots, n) {
  const k = question.options.length;
  let product = 1n;
  for (const work of slots.slice(0, k)) product = (product * work.r) % n;
  if (question.blank) product = (product * modPow(slots[k].r, BigInt(k + 1), n)) % n;
  return product;
}

// Everything of a ballot that does not depend on the choice. Use it once:
// two choices finished from one precomputation would publish two responses
// for the same rho and reveal r, hence the vote.
export class BallotPrecomputation {
  constructor(params, voterContext, slots, counts) {
    this.params = params;
    this.voterContext = voterContext;
    this.slots = slots;
    this.counts = counts;
    this.used = false;
  }
}

// Every exponentiation of the ballot. Randomness is drawn first, in the
// documented order: question by question, per slot (options, then blank) r,
// rho, a simulated challenge and mask; then the question's count rho and,
// per allowed count value, a challenge and a mask. onProgress(done, total)
// is called per slot and per count proof.
export async function precomputeBallot(params, voterContext, { rng, onProgress } = {}) {
  requireParams(params);
  checkText(voterContext, "voter context", MAX_VOTER_CONTEXT);
  const source = rng ?? new SystemRandom();
  const { n, nSquare } = params;
  const unit = async () => 1n + (await source.randbelow(n - 1n));
  const drawSimulated = async () => [await source.randbelow(CHALLENGE_MODULUS), await unit()];
  const drawn = [];
  for (const question of params.questions) {
    const slotDraws = [];
    for (let i = 0; i < question.width; i++) {
      slotDraws.push([await unit(), await unit(), await drawSimulated()]);
    }
    const countRho = await unit();
    const countDraws = [];
    for (let v = 0; v < question.countValues.length; v++) countDraws.push(await drawSimulated());
    drawn.push({ question, slotDraws, countRho, countDraws });
  }
  const total = params.slotCount + params.questions.length;
  let done = 0;
  const step = () => {
    done += 1;
    if (onProgress) onProgress(done, total);
  };
  const slots = [];
  const counts = [];
  for (const { question, slotDraws, countRho, countDraws } of drawn) {
    const first = slots.length;
    for (const [r, rho, simulated] of slotDraws) {
      slots.push({
        r,
        rToN: modPow(r, n, nSquare),
        rho,
        commitment: modPow(rho, n, nSquare),
        simulated: simulate(simulated, r, n, nSquare),
      });
      step();
    }
    const r = countRandomness(question, slots.slice(first), n);
    // With a single allowed count the only branch is the real one.
    counts.push({
      r,
      rho: countRho,
      commitment: modPow(countRho, n, nSquare),
      simulated: countDraws.map((draw) =>
        countDraws.length > 1
          ? simulate(draw, r, n, nSquare)
          : { challenge: draw[0], response: draw[1], base: 0n },
      ),
    });
    step();
  }
  return new BallotPrecomputation(params, voterContext, slots, counts);
}

// Complete an OR proof whose branch real (an index into values) is true. The
// simulated commitment for value v is base * g^((v - values[real]) * e),
// since u_v = r^n * g^(values[real] - v).
async function finishOrProof(params, statement, label, values, real, simulated, witness) {
  const { n, nSquare, version } = params;
  const [rho, commitment, r] = witness;
  const truth = values[real];
  const commitments = values.map((value, j) =>
    j === real
      ? commitment
      : (simulated[j].base * gPower((value - truth) * simulated[j].challenge, n, nSquare)) %
        nSquare,
  );
  const challenge = await proofChallenge(statement, label, values, commitments, version);
  let others = 0n;
  simulated.forEach((branch, j) => {
    if (j !== real) others += branch.challenge;
  });
  const realChallenge = (((challenge - others) % CHALLENGE_MODULUS) + CHALLENGE_MODULUS) %
    CHALLENGE_MODULUS;
  const realResponse = canonicalResponse((rho * modPow(r, realChallenge, n)) % n, n);
  return {
    commitments: commitments.map(toHex),
    challenges: simulated.map((b, j) => toHex(j === real ? realChallenge : b.challenge)),
    responses: simulated.map((b, j) => toHex(j === real ? realResponse : b.response)),
  };
}

// A choice: one 0/1 number per slot, and each question's answer allowed
// (between min and max options, or a blank vote with nothing else).
function checkSelections(params, selections) {
  if (!Array.isArray(selections)) {
    throw new BallotCryptoError("selections must be an array of 0/1 numbers");
  }
  if (selections.length !== params.slotCount) {
    throw new BallotCryptoError(`expected ${params.slotCount} selections, one per option and ` +
      `blank vote`);
  }
  const chosen = [];
  for (let slot = 0; slot < selections.length; slot++) {
    const value = selections[slot];
    if (value !== 0 && value !== 1) throw new BallotCryptoError("each selection must be 0 or 1");
    chosen.push(value);
  }
  params.questions.forEach((question, index) => {
    const start = params.offsets[index];
    const k = question.options.length;
    const picked = chosen.slice(start, start + k).reduce((sum, s) => sum + s, 0);
    const blank = question.blank && chosen[start + k] === 1;
    if (blank && picked > 0) {
      throw new BallotCryptoError(`question ${index + 1}: a blank vote selects nothing else`);
    }
    if (!blank && !(question.min <= BigInt(picked) && BigInt(picked) <= question.max)) {
      throw new BallotCryptoError(`question ${index + 1}: select between ${question.min} and ` +
        `${question.max} options`);
    }
  });
  return chosen;
}

// The cheap part after the click: takes the precomputation (single use) and
// one 0/1 number per slot (per question, one per option then, when blank
// votes are allowed, 1 for a blank vote). Returns the ballot document in the
// layout of the parameters' version, integers as hex strings.
export async function finishBallot(pre, selections) {
  if (!(pre instanceof BallotPrecomputation)) {
    throw new BallotCryptoError("expected a ballot precomputation");
  }
  if (pre.used) throw new BallotCryptoError("a ballot precomputation can be used only once");
  const { params } = pre;
  const chosen = checkSelections(params, selections);
  pre.used = true;
  const { n, nSquare, version } = params;
  const ciphertexts = pre.slots.map(
    (work, slot) => ((1n + BigInt(chosen[slot]) * n) * work.rToN) % nSquare,
  );
  const statement = await statementDigest(params.fingerprint, pre.voterContext, ciphertexts,
    version);
  const parts = [];
  for (const [index, question] of params.questions.entries()) {
    const start = params.offsets[index];
    const k = question.options.length;
    const { labels, countLabel } = proofLabels(version, index, question);
    const selectionProofs = [];
    for (let i = 0; i < question.width; i++) {
      const work = pre.slots[start + i];
      selectionProofs.push(await finishOrProof(params, statement, labels[i], SELECTION_VALUES,
        chosen[start + i], [work.simulated, work.simulated], [work.rho, work.commitment, work.r]));
    }
    let total = chosen.slice(start, start + k).reduce((sum, s) => sum + s, 0);
    if (question.blank) total += question.blankWeight * chosen[start + k];
    const count = pre.counts[index];
    const countProof = await finishOrProof(params, statement, countLabel, question.countValues,
      question.countValues.indexOf(BigInt(total)), count.simulated,
      [count.rho, count.commitment, count.r]);
    parts.push({
      ciphertexts: ciphertexts.slice(start, start + question.width).map(toHex),
      selection_proofs: selectionProofs,
      count_proof: countProof,
    });
  }
  if (version === 1) return { format: BALLOT_FORMAT_V1, ...parts[0] };
  return { format: BALLOT_FORMAT, questions: parts };
}

export async function encryptBallot(params, voterContext, selections, { rng } = {}) {
  checkSelections(requireParams(params), selections);
  return finishBallot(await precomputeBallot(params, voterContext, { rng }), selections);
}

// The canonical text of a ballot document (v1 or v2 layout): what the booth
// sends and what the tracker hashes.
export function ballotToJson(ballot) {
  return canonicalJson(ballot);
}

export async function ballotTracker(ballot) {
  return sha256Hex(ballotToJson(ballot));
}

// The booth worker's message protocol (see ballot-worker.js); separate from
// the worker file so Node can test it. post(message) sends a reply.
export function createBoothHandler(post) {
  let pending = null;
  const fail = (error) => post({ type: "error", message: String(error?.message ?? error) });
  return async function handle(message) {
    try {
      if (message?.type === "init") {
        // pending is set before the first await, so an encrypt message that
        // arrives during the precomputation waits for it instead of failing.
        pending = (async () => {
          const started = performance.now();
          const params = await parseParams(message.params);
          if (message.fingerprint !== undefined && message.fingerprint !== params.fingerprint) {
            throw new BallotCryptoError("the election parameters do not match their fingerprint");
          }
          const pre = await precomputeBallot(params, message.voter_context, {
            onProgress: (done, total) => post({ type: "progress", done, total }),
          });
          return { pre, precomputeMs: performance.now() - started };
        })();
        const { precomputeMs } = await pending;
        post({ type: "ready", precomputeMs });
      } else if (message?.type === "encrypt") {
        if (pending === null) throw new BallotCryptoError("send init before encrypt");
        const { pre, precomputeMs } = await pending;
        pending = null;
        const started = performance.now();
        const ballot = await finishBallot(pre, message.selections);
        const json = ballotToJson(ballot);
        const tracker = await sha256Hex(json);
        post({ type: "ballot", ballot, json, tracker,
          timings: { precomputeMs, finishMs: performance.now() - started } });
      } else {
        throw new BallotCryptoError("unknown message type");
      }
    } catch (error) {
      fail(error);
    }
  };
}
