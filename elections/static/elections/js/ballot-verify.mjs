// Reading and verifying encrypted ballots (ES module): the browser verifier's
// twin of elections/crypto/ballots.py (parse_ballot, check_shape,
// verify_ballot) and batch.py (batch_verify), with the same messages.
//
// The acceptance rule is that of docs/ballot-format.md, "Verification": for
// every branch j of a proof about base b with allowed values W, commitments
// a, challenges e and responses z (1 <= z <= (n-1)/2),
// (z^n)^2 = (a * u^e)^2 (mod n^2) with u = b * g^(-W[j]); v1 ballots accept
// z^n = +-a * u^e. A proof holds when moreover its challenges add up, modulo
// 2^128, to the Fiat-Shamir hash of the statement (fingerprint, voter
// context, every ciphertext), its label, W and the commitments.
//
// Checking branch by branch costs two exponentiations modulo n^2 per branch,
// one of them by n: about 0.15 s per branch at 3072 bits in a browser, so
// the verifier decides with the batch test of Bellare, Garay and Rabin
// instead, as the reference verifier does. Raising every branch equation to
// a private random 64-bit weight and multiplying them gives one equation,
//   (prod z_j^(w_j))^(2n) = (prod a_j^(w_j) * prod u_j^(w_j e_j))^2 (mod n^2),
// whose u-terms fold into one power of each ciphertext and a single free
// power of g = n + 1; both products are multi-exponentiations (Pippenger's
// buckets). It accepts exactly the ballots the strict v2 rule accepts and
// rejects a bad one except with probability about 2^-64 (or 1/d for an error
// of small odd order d, which needs the factors of n); a rejected batch is
// bisected down to its bad ballots, each then checked strictly only to word
// the failure. For v1 the batch test also accepts the square roots of 1
// that the strict v1 rule refuses, which only the key holder can produce;
// the reference verifier has the same property (docs/election-record.md §11).
//
// Protects an observer against ballots that are not well formed or whose
// proofs fail. Does not protect against a page that serves altered code;
// the weights come from crypto.getRandomValues, so no one can choose the
// batch that an error would cancel in.

import {
  modPow,
  proofChallenge,
  questionLabels,
  selectionLabel,
  statementDigest,
} from "./ballot-crypto.mjs";
import {
  BALLOT_FORMAT,
  BALLOT_FORMAT_V1,
  BallotCryptoError,
  canonicalJson,
  sha256Hex,
} from "./election-params.mjs";
import {
  expectList,
  expectObject,
  hexLength,
  loadJson,
  parseHex,
  pythonTypeName,
} from "./strict-json.mjs";

const CHALLENGE_BITS = 128n;
const CHALLENGE_MODULUS = 1n << CHALLENGE_BITS;
const CHALLENGE_DIGITS = hexLength(CHALLENGE_MODULUS - 1n);
const SELECTION_VALUES = Object.freeze([0n, 1n]);
const PROOF_KEYS = ["commitments", "challenges", "responses"];
const QUESTION_KEYS = ["ciphertexts", "selection_proofs", "count_proof"];
const BALLOT_KEYS_V1 = ["format", "ciphertexts", "selection_proofs", "count_proof"];
const WEIGHTS_PER_DRAW = 4096;

export function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

// "question 2, option 3" or "question 1, blank": how messages name a slot.
export function slotName(params, slot) {
  for (const [index, question] of params.questions.entries()) {
    const start = params.offsets[index];
    if (start <= slot && slot < start + question.width) {
      const offset = slot - start;
      if (offset === question.options.length) return `question ${index + 1}, blank`;
      return `question ${index + 1}, option ${offset + 1}`;
    }
  }
  throw new BallotCryptoError("no such slot");
}

// v1 names a slot by its candidate id.
export function slotTitle(params, slot) {
  return params.version === 1 ? `candidate ${params.optionIds[slot]}` : slotName(params, slot);
}

// A ballot's proof failures name a v1 slot by its index (Python's ballots._slot_label).
function proofSlot(params, slot) {
  return params.version === 1 ? `candidate ${slot}` : slotName(params, slot);
}

// The largest serialised ballot accepted for params, in bytes: twice the
// longest canonical ballot plus 4 KiB (Python's max_ballot_bytes).
export function maxBallotBytes(params) {
  const element = hexLength(params.nSquare - 1n) + 3;
  const response = hexLength(params.half) + 3;
  const challenge = CHALLENGE_DIGITS + 3;
  const proofBytes = (branches) => 64 + branches * (element + challenge + response);
  let canonical = 128;
  for (const question of params.questions) {
    canonical += 64 + question.width * (element + proofBytes(2)) +
      proofBytes(question.countValues.length);
  }
  return 2 * canonical + 4096;
}

function parseProof(params, value, branches, field) {
  const document = expectObject(value, PROOF_KEYS, field);
  const limits = {
    commitments: hexLength(params.nSquare - 1n),
    challenges: CHALLENGE_DIGITS,
    responses: hexLength(params.half),
  };
  const proof = {};
  for (const key of PROOF_KEYS) {
    const items = expectList(document[key], branches, `${field} ${key}`);
    proof[key] = items.map((item) => parseHex(item, `${field} ${key}`, limits[key]));
  }
  return proof;
}

function parseQuestion(params, question, part, label) {
  const where = label ? label + " " : "";
  const digits = hexLength(params.nSquare - 1n);
  const items = expectList(part.ciphertexts, question.width, `${where}ciphertexts`);
  const ciphertexts = items.map((c, i) => parseHex(c, `${where}ciphertext ${i}`, digits));
  const proofs = expectList(part.selection_proofs, question.width, `${where}selection_proofs`);
  const selection = proofs.map(
    (proof, i) => parseProof(params, proof, 2, `${where}selection proof ${i}`),
  );
  const count = parseProof(params, part.count_proof, question.countValues.length,
    `${where}count proof`);
  return { ciphertexts, selection, count };
}

function inRange(value, low, high, field) {
  if (value < low || value > high) throw new BallotCryptoError(`${field}: out of range`);
  return value;
}

function proofUnits(params, proof, field) {
  for (const e of proof.challenges) inRange(e, 0n, CHALLENGE_MODULUS - 1n, `${field} challenge`);
  const units = proof.commitments.map(
    (a) => inRange(a, 1n, params.nSquare - 1n, `${field} commitment`),
  );
  for (const z of proof.responses) units.push(inRange(z, 1n, params.half, `${field} response`));
  return units;
}

// Python's check_shape on a parsed ballot: ranges in order, then one gcd over
// the product of every element that must be a unit. Returns that product.
function checkShape(params, ballot) {
  const units = [];
  ballot.ciphertexts.forEach((c, i) => units.push(inRange(c, 1n, params.nSquare - 1n,
    `ciphertext ${i}`)));
  ballot.selectionProofs.forEach((proof, i) => units.push(...proofUnits(params, proof,
    `selection proof ${i}`)));
  ballot.countProofs.forEach((proof, q) => units.push(...proofUnits(params, proof,
    params.version === 1 ? "count proof" : `question ${q + 1} count proof`)));
  let product = 1n;
  for (const value of units) product = (product * value) % params.n;
  if (gcd(product, params.n) !== 1n) {
    throw new BallotCryptoError("an element shares a factor with n (not invertible)");
  }
}

// Parse and range-check a ballot of params before any arithmetic on it:
// Python's parse_ballot, with its messages. raw is the decoded document, or
// JSON text (read strictly, at most maxBallotBytes(params) bytes). Returns
// { document, ciphertexts, selectionProofs, countProofs }: the ciphertexts
// and 0/1 proofs run over every slot, one count proof per question; proofs
// are { commitments, challenges, responses } of BigInts. Throws
// BallotCryptoError. The proofs themselves are not checked here.
export function parseBallot(params, raw) {
  let document = raw;
  if (!(raw !== null && typeof raw === "object" && !Array.isArray(raw))) {
    if (typeof raw !== "string") {
      throw new BallotCryptoError(`expected JSON text, got ${pythonTypeName(raw)}`);
    }
    document = loadJson(raw, maxBallotBytes(params));
  }
  let parts;
  let labels;
  if (params.version === 1) {
    expectObject(document, BALLOT_KEYS_V1, "ballot");
    if (document.format !== BALLOT_FORMAT_V1) throw new BallotCryptoError("ballot: unknown format");
    parts = [document];
    labels = [""];
  } else {
    expectObject(document, ["format", "questions"], "ballot");
    if (document.format !== BALLOT_FORMAT) throw new BallotCryptoError("ballot: unknown format");
    parts = expectList(document.questions, params.questions.length, "questions");
    labels = parts.map((_, i) => `question ${i + 1}`);
  }
  const ballot = { document, ciphertexts: [], selectionProofs: [], countProofs: [] };
  params.questions.forEach((question, index) => {
    let part = parts[index];
    if (params.version === 2) part = expectObject(part, QUESTION_KEYS, labels[index]);
    const found = parseQuestion(params, question, part, labels[index]);
    ballot.ciphertexts.push(...found.ciphertexts);
    ballot.selectionProofs.push(...found.selection);
    ballot.countProofs.push(found.count);
  });
  checkShape(params, ballot);
  return ballot;
}

// The tracker: hex SHA-256 of the ballot's canonical JSON. A ballot that
// parseBallot accepted has exactly the keys and the canonical hex strings of
// Python's ballot_to_dict, so its canonical text is the same.
export async function ballotTracker(ballot) {
  return sha256Hex(canonicalJson(ballot.document));
}

function labelsOf(params, index, question) {
  if (params.version === 1) {
    return {
      labels: Array.from({ length: question.width }, (_, i) => selectionLabel(i)),
      countLabel: "count",
    };
  }
  return questionLabels(index, question.options.length, question.blank);
}

function countLabelOf(params, index) {
  return params.version === 1 ? "selection-count proof" : `question ${index + 1} count proof`;
}

// Whether every proof's challenges add up to its Fiat-Shamir hash; the
// message of the first that does not, else null (Python's check_challenges).
export async function challengeFailure(params, voterContext, ballot) {
  const { version } = params;
  const statement = await statementDigest(params.fingerprint, voterContext, ballot.ciphertexts,
    version);
  const sum = (proof) => proof.challenges.reduce((total, e) => total + e, 0n) % CHALLENGE_MODULUS;
  const countFailures = [];
  for (const [index, question] of params.questions.entries()) {
    const { labels, countLabel } = labelsOf(params, index, question);
    const start = params.offsets[index];
    for (let i = 0; i < question.width; i++) {
      const proof = ballot.selectionProofs[start + i];
      const expected = await proofChallenge(statement, labels[i], SELECTION_VALUES,
        proof.commitments, version);
      if (sum(proof) !== expected) {
        return `${proofSlot(params, start + i)}: 0/1 proof challenges do not match the hash`;
      }
    }
    const proof = ballot.countProofs[index];
    const expected = await proofChallenge(statement, countLabel, question.countValues,
      proof.commitments, version);
    if (sum(proof) !== expected) countFailures.push(index);
  }
  if (countFailures.length > 0) {
    return `${countLabelOf(params, countFailures[0])} challenges do not match the hash`;
  }
  return null;
}

function gPower(exponent, n, nSquare) {
  let x = exponent % n;
  if (x < 0n) x += n;
  return (1n + x * n) % nSquare;
}

function branchHolds(params, u, a, e, z) {
  const { n, nSquare, version } = params;
  const lhs = modPow(z, n, nSquare);
  const rhs = (a * modPow(u, e, nSquare)) % nSquare;
  if (version === 1) return lhs === rhs || lhs === nSquare - rhs;
  return (lhs * lhs) % nSquare === (rhs * rhs) % nSquare;
}

function failingBranch(params, base, values, proof) {
  const { n, nSquare } = params;
  for (let j = 0; j < values.length; j++) {
    const u = (base * gPower(-values[j], n, nSquare)) % nSquare;
    if (!branchHolds(params, u, proof.commitments[j], proof.challenges[j], proof.responses[j])) {
      return j;
    }
  }
  return null;
}

function countBase(params, index, ballot) {
  const question = params.questions[index];
  const start = params.offsets[index];
  const k = question.options.length;
  let product = 1n;
  for (let i = 0; i < k; i++) product = (product * ballot.ciphertexts[start + i]) % params.nSquare;
  if (question.blank) {
    product = (product * modPow(ballot.ciphertexts[start + k], BigInt(k + 1), params.nSquare)) %
      params.nSquare;
  }
  return product;
}

// The strict check of a well-formed ballot, one equation at a time (Python's
// verify_ballot): null when it holds, else the message naming the first
// failing proof. Two exponentiations modulo n^2 per branch.
export async function strictFailure(params, voterContext, ballot) {
  const challenges = await challengeFailure(params, voterContext, ballot);
  if (challenges !== null) return challenges;
  for (let slot = 0; slot < params.slotCount; slot++) {
    const branch = failingBranch(params, ballot.ciphertexts[slot], SELECTION_VALUES,
      ballot.selectionProofs[slot]);
    if (branch !== null) return `${proofSlot(params, slot)}: 0/1 proof fails for value ${branch}`;
  }
  for (const [index, question] of params.questions.entries()) {
    const values = question.countValues;
    const branch = failingBranch(params, countBase(params, index, ballot), values,
      ballot.countProofs[index]);
    if (branch !== null) {
      const value = values[branch];
      const what = question.blank && value === BigInt(question.blankWeight)
        ? "a blank vote"
        : `${value} selections`;
      return `${countLabelOf(params, index)} fails for ${what}`;
    }
  }
  return null;
}

// --- The batch test --------------------------------------------------------------

function bitLength(value) {
  return value === 0n ? 0 : value.toString(2).length;
}

function windowBits(lengths) {
  let best = 1;
  let bestCost = Infinity;
  for (let width = 1; width <= 16; width++) {
    const windows = Math.ceil(lengths[0] / width);
    let cost = windows * (2 << width);
    for (const bits of lengths) cost += Math.ceil(bits / width);
    if (cost < bestCost) [best, bestCost] = [width, cost];
  }
  return best;
}

// prod(bases[i] ^ exponents[i]) mod modulus, exponents >= 0, by Pippenger's
// bucket method (Python's batch.multi_exp): per c-bit window every base is
// multiplied into the bucket of its digit, and a running suffix product
// turns the buckets into prod(bucket_d ^ d) with 2 * 2^c multiplications.
export function multiExp(bases, exponents, modulus) {
  const pairs = [];
  for (let i = 0; i < bases.length; i++) {
    if (exponents[i] !== 0n) {
      const exponent = exponents[i];
      pairs.push({ exponent, base: bases[i] % modulus, bits: bitLength(exponent) });
    }
  }
  if (pairs.length === 0) return 1n % modulus;
  pairs.sort((x, y) => y.bits - x.bits);
  const width = windowBits(pairs.map((pair) => pair.bits));
  const mask = (1n << BigInt(width)) - 1n;
  let result = 1n;
  let active = 0;
  for (let window = Math.ceil(pairs[0].bits / width) - 1; window >= 0; window--) {
    const shift = window * width;
    while (active < pairs.length && pairs[active].bits > shift) active += 1;
    if (result !== 1n) {
      for (let i = 0; i < width; i++) result = (result * result) % modulus;
    }
    const buckets = new Array(Number(mask) + 1).fill(null);
    const bigShift = BigInt(shift);
    for (let i = 0; i < active; i++) {
      const digit = Number((pairs[i].exponent >> bigShift) & mask);
      if (digit) {
        const held = buckets[digit];
        buckets[digit] = held === null ? pairs[i].base : (held * pairs[i].base) % modulus;
      }
    }
    let running = null;
    let total = 1n;
    for (let digit = buckets.length - 1; digit >= 1; digit--) {
      const bucket = buckets[digit];
      if (bucket !== null) running = running === null ? bucket : (running * bucket) % modulus;
      if (running !== null) total = total === 1n ? running : (total * running) % modulus;
    }
    result = (result * total) % modulus;
  }
  return result;
}

class Weights {
  constructor() {
    this.pool = new BigUint64Array(WEIGHTS_PER_DRAW);
    this.next = WEIGHTS_PER_DRAW;
  }

  take() {
    if (this.next === WEIGHTS_PER_DRAW) {
      globalThis.crypto.getRandomValues(this.pool);
      this.next = 0;
    }
    return this.pool[this.next++] || 1n;
  }
}

// One small-exponent test over well-formed ballots whose challenges add up.
function batchHolds(params, ballots, weights) {
  const { n, nSquare } = params;
  const zBases = [];
  const zWeights = [];
  const bases = [];
  const exponents = [];
  let gExponent = 0n;
  const addBranch = (z, a, weightedChallenge, value, weight) => {
    zBases.push(z);
    zWeights.push(weight);
    bases.push(a);
    exponents.push(weight);
    gExponent -= value * weightedChallenge;
  };
  for (const ballot of ballots) {
    for (const [index, question] of params.questions.entries()) {
      const count = ballot.countProofs[index];
      // The count proof is about prod(c_i) * c_blank^(k+1): its u-terms fold
      // into every option's c_i, and k + 1 times into the blank's.
      let shared = 0n;
      question.countValues.forEach((value, j) => {
        const weight = weights.take();
        shared += weight * count.challenges[j];
        addBranch(count.responses[j], count.commitments[j], weight * count.challenges[j], value,
          weight);
      });
      const start = params.offsets[index];
      for (let i = 0; i < question.width; i++) {
        const proof = ballot.selectionProofs[start + i];
        let exponent = i < question.options.length ? shared : shared * BigInt(question.blankWeight);
        for (let j = 0; j < 2; j++) {
          const weight = weights.take();
          exponent += weight * proof.challenges[j];
          addBranch(proof.responses[j], proof.commitments[j], weight * proof.challenges[j],
            SELECTION_VALUES[j], weight);
        }
        bases.push(ballot.ciphertexts[start + i]);
        exponents.push(exponent);
      }
    }
  }
  const left = modPow(multiExp(zBases, zWeights, n), 2n * n, nSquare);
  const right = (multiExp(bases, exponents, nSquare) * gPower(gExponent, n, nSquare)) % nSquare;
  return left === (right * right) % nSquare;
}

// Bisect items (index, ballot) down to the ballots that fail the batch test;
// knownBad skips a test whose failure the caller already knows.
function badIndices(params, items, weights, knownBad = false) {
  if (items.length === 0) return [];
  if (!knownBad && batchHolds(params, items.map(([, ballot]) => ballot), weights)) return [];
  if (items.length === 1) return [items[0][0]];
  const middle = Math.floor(items.length / 2);
  const left = badIndices(params, items.slice(0, middle), weights);
  return left.concat(badIndices(params, items.slice(middle), weights, left.length === 0));
}

// Verify many well-formed ballots at once: items are [voterContext, ballot]
// (ballots from parseBallot). Resolves to the sorted indices of the bad
// ones: a ballot whose challenges do not match their hashes (checked one by
// one, hashing is cheap), or that fails the small-exponent test on its own.
export async function batchVerify(params, items) {
  const bad = [];
  const checked = [];
  for (const [index, [voterContext, ballot]] of items.entries()) {
    if ((await challengeFailure(params, voterContext, ballot)) !== null) bad.push(index);
    else checked.push([index, ballot]);
  }
  bad.push(...badIndices(params, checked, new Weights()));
  return bad.sort((x, y) => x - y);
}
