// Election parameters for the voting booth (ES module): canonical JSON, strict
// parsing of the v1 and v2 parameter documents, their fingerprint.
//
// The JavaScript twin of elections/crypto/params.py and encoding.py;
// docs/ballot-format.md is the specification and the known-answer vectors in
// tests/crypto/vectors/ pin the canonical text and fingerprint to Python's.
// ballot-crypto.mjs builds the ballots on what parseParams returns.

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
export const MAX_VOTER_CONTEXT = 200;
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
export function checkText(value, field, maxLength) {
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

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256(bytes) {
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes));
}

export async function sha256Hex(text) {
  return bytesToHex(await sha256(encoder.encode(text)));
}

// Each item: 4-byte big-endian length, then its ASCII bytes (unambiguous).
export async function transcriptDigest(items) {
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

// Parameters come only from parseParams: frozen, checked, fingerprinted.
const parsedParams = new WeakSet();

export function requireParams(params) {
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
