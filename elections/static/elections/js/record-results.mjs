// The published results and the trustees' sections of a record (ES module):
// the twin of elections/verify/results.py and trustees.py, with their
// messages.
//
// A single-key election proves each decrypted count with the randomness r of
// its total c: c = (1 + count * n) * r^n mod n^2, a bijection from
// Z_n x Z*_n onto Z*_(n^2), so no other count fits (one exponentiation by n
// per slot). An election decrypted by any K of its N trustees publishes
// their public key and partial decryptions instead: each partial carries a
// proof of equal discrete logarithms (threshold.mjs's verifyPartial, four
// exponentiations modulo n^2 with exponents of about |n^2| bits) and the
// counts must be the combination of K valid partials. Counts are BigInts; a
// count the run cannot confirm is null, never a number.

import { modPow } from "./ballot-crypto.mjs";
import { BallotCryptoError, canonicalJson, toHex } from "./election-params.mjs";
import { slotName, slotTitle } from "./ballot-verify.mjs";
import {
  MalformedRecord,
  expectObject as expectRecordObject,
  pythonRepr,
} from "./record-reader.mjs";
import {
  checkText,
  expectList,
  expectObject,
  hexLength,
  isObject,
  parseHex,
} from "./strict-json.mjs";
import { combine, verifyPartial } from "./threshold.mjs";
import { loadPublicKey } from "./trustee-files.mjs";

const PARTIAL_FORMAT = "evoting/partial-decryption/v1";
const PARTIAL_FIELDS = ["format", "election_id", "params_fingerprint", "trustee", "partials"];
const DIGEST_RE = /^[0-9a-f]{64}$/;
const CHALLENGE_DIGITS = hexLength((1n << 128n) - 1n);

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

function bitLength(value) {
  return value === 0n ? 0 : value.toString(2).length;
}

function factorial(n) {
  let result = 1n;
  for (let i = 2n; i <= BigInt(n); i++) result *= i;
  return result;
}

// Python's validate_ciphertext: an element of Z*_(n^2).
export function validateCiphertext(params, value) {
  if (value <= 0n || value >= params.nSquare) {
    throw new BallotCryptoError("the ciphertext is out of range");
  }
  if (gcd(value, params.n) !== 1n) {
    throw new BallotCryptoError("the ciphertext is not invertible modulo n");
  }
  return value;
}

// Python's verify_decryption: c = (1 + count * n) * r^n mod n^2.
export function verifyDecryption(params, ciphertext, count, r) {
  validateCiphertext(params, ciphertext);
  if (count < 0n || count >= params.n) throw new BallotCryptoError("the count is out of range");
  if (r < 1n || r >= params.n) throw new BallotCryptoError("the r is out of range");
  if (gcd(r, params.n) !== 1n) throw new BallotCryptoError("r is not invertible modulo n");
  const expected = ((1n + count * params.n) * modPow(r, params.n, params.nSquare)) %
    params.nSquare;
  if (expected !== ciphertext) {
    throw new BallotCryptoError("the decryption proof does not match the ciphertext");
  }
}

// Why decrypted counts (one per slot, BigInts) cannot come from `ballots`
// valid ballots; [] if they can (Python's impossible_counts).
export function impossibleCounts(params, counts, ballots) {
  const total = BigInt(ballots);
  const problems = [];
  counts.forEach((count, slot) => {
    if (count < 0n || count > total) {
      problems.push(`${slotTitle(params, slot)} has ${count} votes: more votes than there are ` +
        `ballots (${total})`);
    }
  });
  params.questions.forEach((question, index) => {
    const start = params.offsets[index];
    const options = question.options.length;
    const chosen = counts.slice(start, start + options).reduce((sum, count) => sum + count, 0n);
    const blank = question.blank ? counts[start + options] : 0n;
    const answered = total - blank;
    const [low, high] = [question.min * answered, question.max * answered];
    if (chosen < low || chosen > high) {
      const where = params.version === 1 ? "" : `question ${index + 1}: `;
      problems.push(`${where}${chosen} selections in total, but ${answered} ballots of ` +
        `${question.min} to ${question.max} choices allow ${low} to ${high}`);
    }
  });
  return problems;
}

// Each option's name, or its id where the parameters carry no name (v1).
export function optionNames(params) {
  return params.questions.flatMap((question) => question.options.map((o) => o.name || o.id));
}

// The question index of a slot and its option, or null for the question's blank.
function slotOwner(params, slot) {
  for (const [index, question] of params.questions.entries()) {
    const start = params.offsets[index];
    if (start <= slot && slot < start + question.width) {
      return [index, question.options[slot - start] ?? null];
    }
  }
  throw new BallotCryptoError("no such slot");
}

// A slot as failures name it: where it is, then the name voters saw.
export function slotLabel(params, names, slot) {
  const title = slotTitle(params, slot);
  const [question, option] = slotOwner(params, slot);
  if (option === null) return title;
  let index = slot - params.offsets[question];
  for (const earlier of params.questions.slice(0, question)) index += earlier.options.length;
  const name = index < names.length ? names[index] : option.name;
  return name ? `${title} (${name})` : title;
}

// Per-slot counts grouped by question, options named by `names` (one per option).
export function questionResults(params, names, counts) {
  let optionIndex = 0;
  return params.questions.map((question, index) => {
    const start = params.offsets[index];
    const options = question.options.map((option, offset) => {
      const name = optionIndex < names.length ? names[optionIndex] : option.id;
      optionIndex += 1;
      return { id: option.id, name, count: counts[start + offset] };
    });
    const blank = question.blank ? counts[start + options.length] : null;
    return { title: question.title, options, blank, blankAllowed: question.blank };
  });
}

function big(value, digits, name) {
  return parseHex(value, name, digits);
}

// Checks a published election's results against the encrypted tally.
export class ResultChecker {
  constructor(report, layout, params, tally, { byTrustees = false } = {}) {
    Object.assign(this, { report, layout, params, tally, byTrustees });
    this.names = [];
    this.counts = null;
    this.ballots = 0;
  }

  // Check every result; the counts per question, or null if there are too few.
  check(value, names, ballots) {
    const { params } = this;
    if (value.length !== params.slotCount) {
      this.report.fail("results", `expected ${params.slotCount} results`);
      return null;
    }
    this.names = names;
    this.ballots = ballots;
    const counts = value.map((item, slot) => this.checkResult(slot,
      expectRecordObject(item, this.layout.resultKeys, `result ${slot}`)));
    this.counts = counts;
    if (!this.byTrustees) this.checkPossible(counts);
    return questionResults(params, names, counts);
  }

  // Compare the counts with the trustees' combination (null: there is none).
  checkCombined(combined) {
    if (this.counts === null) return null;
    const counts = [...this.counts];
    counts.forEach((count, slot) => {
      if (combined === null) counts[slot] = null;
      else if (count !== null && count !== combined[slot]) {
        this.report.fail("decryption", `${slotLabel(this.params, this.names, slot)}: the count ` +
          `${count} is not ${combined[slot]}, the combination of the trustees' partial ` +
          "decryptions");
        counts[slot] = null;
      }
    });
    this.checkPossible(counts);
    return questionResults(this.params, this.names, counts);
  }

  checkPossible(counts) {
    if (counts.every((count) => count !== null)) {
      for (const problem of impossibleCounts(this.params, counts, this.ballots)) {
        this.report.fail("results", problem);
      }
    }
  }

  identity(slot) {
    const { params } = this;
    if (params.version === 1) return { candidate: params.optionIds[slot] };
    const [question, option] = slotOwner(params, slot);
    return { question: toHex(BigInt(question)), option: option === null ? null : option.id };
  }

  checkResult(slot, entry) {
    const { params } = this;
    const title = slotLabel(params, this.names, slot);
    if (Object.entries(this.identity(slot)).some(([key, expected]) => entry[key] !== expected)) {
      this.report.fail("results", `result ${slot} is not for ${title}`);
    }
    let count;
    let ciphertext;
    try {
      count = big(entry.count, hexLength(params.n), "count");
      ciphertext = big(entry.ciphertext, hexLength(params.nSquare), "ciphertext");
      this.checkProof(entry.proof, ciphertext, count);
    } catch (error) {
      if (!(error instanceof BallotCryptoError)) throw error;
      this.report.fail("decryption", `${title}: ${error.message}`);
      return null;
    }
    if (slot < this.tally.length && ciphertext !== this.tally[slot]) {
      this.report.fail("results", `${title}: the decrypted ciphertext is not the encrypted tally`);
    }
    return count;
  }

  // The single key's decryption proof; trustees prove theirs in their partials.
  checkProof(proof, ciphertext, count) {
    if (this.byTrustees) {
      if (proof !== null) {
        throw new BallotCryptoError(
          "a decryption proof where the trustees decrypt (expected null)");
      }
      return;
    }
    if (proof === null) throw new BallotCryptoError("the decryption proof is missing");
    const r = big(proof, hexLength(this.params.n), "proof");
    verifyDecryption(this.params, ciphertext, count, r);
  }
}

// --- Trustees ------------------------------------------------------------------------

function trusteeSlotLabel(params, slot) {
  if (params.version === 1) return `slot ${slot} (candidate ${params.optionIds[slot]})`;
  return `slot ${slot} (${slotName(params, slot)})`;
}

function element(value, n, field) {
  const x = parseHex(value, field, hexLength(n * n));
  if (x <= 0n || x >= n * n) throw new BallotCryptoError(`${field}: not an element of Z*_(n^2)`);
  if (gcd(x, n) !== 1n) throw new BallotCryptoError(`${field}: not invertible modulo n`);
  return x;
}

function responseBits(key) {
  return bitLength(key.n * key.n) + bitLength(factorial(key.trustees)) + 256;
}

// One trustee's partial decryption document, every proof checked against the
// record's tally: Python's check_partial_file, with its messages. `tally` is
// { params, ciphertexts }. Returns { trustee, partials }.
export async function checkPartialFile(publicKey, tally, document) {
  const { params } = tally;
  const key = publicKey.key;
  if (!isObject(document)) {
    throw new BallotCryptoError("not a partial decryption: expected a JSON object");
  }
  if (document.format !== PARTIAL_FORMAT) {
    throw new BallotCryptoError(
      `not a partial decryption of a known format (expected ${PARTIAL_FORMAT})`,
    );
  }
  expectObject(document, PARTIAL_FIELDS, "partial decryption");
  const index = Number(parseHex(document.trustee, "trustee", 2));
  const who = `trustee ${index}`;
  if (index < 1 || index > key.trustees) {
    throw new BallotCryptoError(`${who} is not one of this key's ${key.trustees} trustees`);
  }
  if (checkText(document.election_id, "election id", 128) !== params.electionId) {
    throw new BallotCryptoError(`${who}'s partial decryption is of another election`);
  }
  const fingerprint = document.params_fingerprint;
  if (typeof fingerprint !== "string" || !DIGEST_RE.test(fingerprint)) {
    throw new BallotCryptoError(`${who}: params_fingerprint: expected 64 lowercase hex digits`);
  }
  if (fingerprint !== params.fingerprint) {
    throw new BallotCryptoError(
      `${who}'s partial decryption is for other election parameters (fingerprint)`,
    );
  }
  const values = expectList(document.partials, params.slotCount, `${who}: partials (one per slot)`);
  const responseDigits = hexLength(1n << BigInt(responseBits(key) + 1));
  const partials = [];
  for (const [slot, item] of values.entries()) {
    const where = `${who}, ${trusteeSlotLabel(params, slot)}`;
    const fields = expectObject(item, ["value", "challenge", "response"], where);
    const partial = {
      index,
      value: element(fields.value, key.n, `${where}: value`),
      challenge: parseHex(fields.challenge, `${where}: challenge`, CHALLENGE_DIGITS),
      response: parseHex(fields.response, `${where}: response`, responseDigits),
    };
    try {
      await verifyPartial(key, tally.ciphertexts[slot], partial,
        `${params.fingerprint}/slot/${toHex(BigInt(slot))}`);
    } catch (error) {
      if (!(error instanceof BallotCryptoError)) throw error;
      let reason = error.message.startsWith(`${who}: `)
        ? error.message.slice(who.length + 2)
        : error.message;
      if (reason.endsWith("does not hold")) reason += " for this tally";
      throw new BallotCryptoError(`${where}: ${reason}`);
    }
    partials.push(partial);
  }
  return { trustee: index, partials };
}

export function missingTrusteesMessage(key, present) {
  const absent = [];
  for (let index = 1; index <= key.trustees; index++) if (!present.has(index)) absent.push(index);
  const have = [...present].sort((x, y) => x - y).join(", ") || "none";
  return `${key.threshold} of the ${key.trustees} trustees must decrypt; ` +
    `${present.size} valid partial decryption(s) (trustees: ${have}): ` +
    `${key.threshold - present.size} more needed, from any of trustees ${absent.join(", ")}`;
}

// Checks `trustees` against the parameters, then `partial_decryptions` against both.
export class TrusteeChecker {
  constructor(report) {
    this.report = report;
    this.present = false;
    this.publicKey = null;
  }

  // null: a single key. A refused key is a `trustees` failure, not an unreadable record.
  async checkKey(value, params) {
    if (value === null) return;
    this.present = true;
    let publicKey;
    try {
      publicKey = await loadPublicKey(canonicalJson(value));
    } catch (error) {
      if (!(error instanceof BallotCryptoError)) throw error;
      this.report.fail("trustees", `the trustees' public key is refused: ${error.message}`);
      return;
    }
    if (publicKey.electionId !== params.electionId) {
      this.report.fail("trustees", `the trustees' public key is of election ` +
        `${pythonRepr(publicKey.electionId)}, the parameters of ${pythonRepr(params.electionId)}`);
      return;
    }
    if (publicKey.key.n !== params.n) {
      this.report.fail("trustees",
        "the trustees' public key is not the key the ballots are encrypted under");
      return;
    }
    this.publicKey = publicKey;
    this.report.trustees = {
      threshold: publicKey.key.threshold, trustees: publicKey.key.trustees, decryptedBy: [],
    };
  }

  // Check every partial decryption; the combined count of each slot, or null.
  // `tally` is { params, ciphertexts }, or null when the record's is unusable.
  async checkPartials(value, tally, { published }) {
    if (!(this.present && published)) {
      if (value !== null) {
        const whose = this.present ? "an unpublished election" : "a single-key election";
        this.report.fail("partial", `${whose} has partial decryptions`);
      }
      return null;
    }
    if (value === null) {
      this.report.fail("partial", "the results are published without partial decryptions");
      return null;
    }
    if (!Array.isArray(value)) {
      throw new MalformedRecord("partial_decryptions: expected an array or null");
    }
    if (this.publicKey === null || tally === null) {
      const unusable = this.publicKey === null ? "trustees' public key" : "encrypted tally";
      this.report.fail("partial", `cannot be checked: the ${unusable} is unusable`);
      return null;
    }
    const valid = await this.validFiles(value, tally);
    const key = this.publicKey.key;
    const present = new Set(valid.map((file) => file.trustee));
    this.report.trustees = {
      threshold: key.threshold,
      trustees: key.trustees,
      decryptedBy: [...present].sort((x, y) => x - y),
    };
    if (present.size < key.threshold) {
      this.report.fail("partial", missingTrusteesMessage(key, present));
      return null;
    }
    try {
      return tally.ciphertexts.map(
        (_, slot) => combine(key, valid.map((file) => file.partials[slot])),
      );
    } catch (error) {
      if (!(error instanceof BallotCryptoError)) throw error;
      this.report.fail("partial", `the partial decryptions do not combine: ${error.message}`);
      return null;
    }
  }

  async validFiles(documents, tally) {
    const valid = [];
    let previous = 0;
    for (const [offset, document] of documents.entries()) {
      const where = `partial decryption ${offset + 1}`;
      if (!isObject(document)) {
        this.report.fail("partial", `${where}: expected an object`);
        continue;
      }
      let file;
      try {
        file = await checkPartialFile(this.publicKey, tally, document);
      } catch (error) {
        if (!(error instanceof BallotCryptoError)) throw error;
        this.report.fail("partial", `${where}: ${error.message}`);
        continue;
      }
      if (file.trustee <= previous) {
        this.report.fail("partial", `${where}: trustee ${file.trustee} comes after trustee ` +
          `${previous} (one document per trustee, in increasing trustee order)`);
        continue;
      }
      previous = file.trustee;
      valid.push(file);
    }
    return valid;
  }
}
