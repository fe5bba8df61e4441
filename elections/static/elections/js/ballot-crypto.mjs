// Ballot encryption and validity proofs for the voting booth (ES module).
//
// The JavaScript twin of the Python package elections/crypto (proofs.py,
// client.py; the parameters and canonical JSON are in election-params.mjs,
// which this module re-exports); docs/ballot-format.md is the
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

import {
  BALLOT_FORMAT,
  BALLOT_FORMAT_V1,
  BallotCryptoError,
  CHALLENGE_BITS,
  MAX_VOTER_CONTEXT,
  bytesToHex,
  canonicalJson,
  checkText,
  parseParams,
  requireParams,
  sha256,
  sha256Hex,
  toHex,
  transcriptDigest,
} from "./election-params.mjs";

// The parameters' public API, so that the booth needs this module only.
export {
  BALLOT_FORMAT,
  BALLOT_FORMAT_V1,
  BallotCryptoError,
  CHALLENGE_BITS,
  MAX_OPTIONS_PER_QUESTION,
  MAX_QUESTIONS,
  MAX_SLOTS,
  PARAMS_FORMAT,
  PARAMS_FORMAT_V1,
  canonicalJson,
  paramsToJson,
  parseHex,
  parseParams,
  sha256Hex,
  toHex,
} from "./election-params.mjs";

const TAGS = {
  1: { statement: "evoting/ballot/v1/statement", proof: "evoting/ballot/v1/proof" },
  2: { statement: "evoting/ballot/v2/statement", proof: "evoting/ballot/v2/proof" },
};
const CHALLENGE_MODULUS = 1n << BigInt(CHALLENGE_BITS);
const COUNT_LABEL = "count";
const SELECTION_VALUES = [0n, 1n];

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

export const AUDITED_FORMAT = "evoting/audited-ballot/v1";

// The audited-ballot document (docs/ballot-format.md, "Audited ballot") of a
// ballot made by finishBallot(pre, selections): the ballot with every slot's
// choice and randomness revealed. The ballot must then never be cast.
export async function auditedBallot(pre, ballot, selections) {
  if (!(pre instanceof BallotPrecomputation) || !pre.used) {
    throw new BallotCryptoError("only an encrypted ballot can be audited");
  }
  const { params } = pre;
  return {
    format: AUDITED_FORMAT,
    election_id: params.electionId,
    params_fingerprint: params.fingerprint,
    tracker: await ballotTracker(ballot),
    ballot,
    choices: selections.map((m) => toHex(BigInt(m))),
    randomness: pre.slots.map((work) => toHex(work.r)),
  };
}

// The booth worker's message protocol (see ballot-worker.js); separate from
// the worker file so Node can test it. post(message) sends a reply.
export function createBoothHandler(post) {
  let pending = null;
  // The last encrypted ballot and its randomness, kept only until it is audited
  // or forgotten (after a cast): what an audit reveals, never reused.
  let last = null;
  const fail = (error) => post({ type: "error", message: String(error?.message ?? error) });
  return async function handle(message) {
    try {
      if (message?.type === "init") {
        last = null;
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
        last = { pre, ballot, selections: [...message.selections] };
        post({ type: "ballot", ballot, json, tracker,
          timings: { precomputeMs, finishMs: performance.now() - started } });
      } else if (message?.type === "audit") {
        if (last === null) throw new BallotCryptoError("no encrypted ballot to audit");
        const document = await auditedBallot(last.pre, last.ballot, last.selections);
        last = null;
        post({ type: "audited", json: canonicalJson(document), tracker: document.tracker });
      } else if (message?.type === "forget") {
        last = null;
        pending = null;
      } else {
        throw new BallotCryptoError("unknown message type");
      }
    } catch (error) {
      fail(error);
    }
  };
}
