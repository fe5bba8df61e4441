// Ballot encryption and validity proofs for the voting booth (ES module).
//
// The JavaScript twin of the Python package elections/crypto (client.py,
// proofs.py, params.py); docs/ballot-format.md is the specification and
// tests/crypto/vectors/*.json pin both sides to the same bytes.
// Native BigInt only: no dependency to audit, no eval (works under a strict
// CSP), SHA-256 from WebCrypto, randomness from crypto.getRandomValues.
// Loads in a module worker (new Worker(url, {type: "module"})) and in Node 20.
//
// Paillier with g = n + 1: c = (1 + m*n) * r^n mod n^2. Each ciphertext gets
// a CDS OR proof that c * g^-m is an n-th residue for m in {0, 1}; the product
// of the ciphertexts gets one for m in [min_selections, max_selections].
// Every exponentiation happens in precomputeBallot, before the choice;
// finishBallot needs one 128-bit exponentiation mod n per proof.

export const BALLOT_FORMAT = "evoting/ballot/v1";
export const PARAMS_FORMAT = "evoting/election-params/v1";
export const CHALLENGE_BITS = 128;
const CHALLENGE_MODULUS = 1n << BigInt(CHALLENGE_BITS);
const STATEMENT_TAG = "evoting/ballot/v1/statement";
const PROOF_TAG = "evoting/ballot/v1/proof";
const COUNT_LABEL = "count";
const SELECTION_VALUES = [0n, 1n];
const HEX_RE = /^(0|[1-9a-f][0-9a-f]*)$/;
const PRINTABLE_RE = /^[\x20-\x7e]+$/;
const MAX_ID_LENGTH = 128;
const MAX_VOTER_CONTEXT = 200;
const MAX_KEY_BITS = 8192;
const MIN_KEY_BITS = 512; // the server enforces its own, stricter floor

export class BallotCryptoError extends Error {}

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

function checkText(value, field, maxLength) {
  if (typeof value !== "string" || value.length > maxLength || !PRINTABLE_RE.test(value)) {
    throw new BallotCryptoError(`${field}: 1 to ${maxLength} printable ASCII characters`);
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

// One spelling per proof: responses live in [1, (n-1)/2]; (n - z)^n = -z^n
// mod n^2 and the verifiers accept z^n = +-a*u^e.
function canonicalResponse(z, n) {
  const r = ((z % n) + n) % n;
  return r > (n - 1n) / 2n ? n - r : r;
}

// Sorted keys, no spaces; strings only (integers are hex strings). Printable
// ASCII strings serialise exactly as Python's json.dumps(ensure_ascii=True).
export function canonicalJson(value) {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(value[k])).join(",") + "}";
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

export async function statementDigest(fingerprint, voterContext, ciphertexts) {
  const items = [STATEMENT_TAG, fingerprint, voterContext, toHex(BigInt(ciphertexts.length))];
  for (const c of ciphertexts) items.push(toHex(c));
  return bytesToHex(await transcriptDigest(items));
}

export async function proofChallenge(statement, label, values, commitments) {
  const items = [PROOF_TAG, statement, label, toHex(BigInt(values.length))];
  for (const v of values) items.push(toHex(v));
  items.push(toHex(BigInt(commitments.length)));
  for (const a of commitments) items.push(toHex(a));
  const digest = await transcriptDigest(items);
  return BigInt("0x" + bytesToHex(digest.subarray(0, CHALLENGE_BITS / 8)));
}

export function selectionLabel(index) {
  return "selection/" + index.toString(16);
}

// Parse the document produced by Python's params_to_json.
export async function parseParams(document) {
  if (document === null || typeof document !== "object" || document.format !== PARAMS_FORMAT) {
    throw new BallotCryptoError("params: unknown format");
  }
  const electionId = checkText(document.election_id, "election id", MAX_ID_LENGTH);
  const n = parseHex(document.n, "n", MAX_KEY_BITS / 4);
  const bits = n.toString(2).length;
  if (bits < MIN_KEY_BITS || n % 2n === 0n) throw new BallotCryptoError("params: unusable modulus");
  if (!Array.isArray(document.candidates) || document.candidates.length === 0) {
    throw new BallotCryptoError("params: candidates must be a non-empty array");
  }
  const candidates = document.candidates.map((c) => checkText(c, "candidate", MAX_ID_LENGTH));
  if (new Set(candidates).size !== candidates.length) {
    throw new BallotCryptoError("params: candidate identifiers must be unique");
  }
  const min = parseHex(document.min_selections, "min_selections", 4);
  const max = parseHex(document.max_selections, "max_selections", 4);
  if (!(min <= max && max <= BigInt(candidates.length))) {
    throw new BallotCryptoError("params: need min_selections <= max_selections <= candidates");
  }
  const canonical = {
    format: PARAMS_FORMAT,
    election_id: electionId,
    n: toHex(n),
    candidates,
    min_selections: toHex(min),
    max_selections: toHex(max),
  };
  const countValues = [];
  for (let v = min; v <= max; v++) countValues.push(v);
  return {
    electionId,
    n,
    nSquare: n * n,
    half: (n - 1n) / 2n,
    candidates,
    countValues,
    fingerprint: await sha256Hex(canonicalJson(canonical)),
  };
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

// Every exponentiation of the ballot; randomness drawn in the documented
// order: per candidate r, rho, simulated challenge, simulated mask t; then
// the count proof's rho and, per allowed count, a challenge and a mask.
export async function precomputeBallot(params, voterContext, { rng, onProgress } = {}) {
  checkText(voterContext, "voter context", MAX_VOTER_CONTEXT);
  const source = rng ?? new SystemRandom();
  const { n, nSquare } = params;
  const k = params.candidates.length;
  const unit = async () => 1n + (await source.randbelow(n - 1n));
  const drawSimulated = async () => [await source.randbelow(CHALLENGE_MODULUS), await unit()];
  const draws = [];
  for (let i = 0; i < k; i++) draws.push([await unit(), await unit(), await drawSimulated()]);
  const countRho = await unit();
  const countDraws = [];
  for (let v = 0; v < params.countValues.length; v++) countDraws.push(await drawSimulated());
  const candidates = [];
  let rProduct = 1n;
  for (const [r, rho, simulated] of draws) {
    const rToN = modPow(r, n, nSquare);
    candidates.push({
      r,
      rToN,
      rho,
      commitment: modPow(rho, n, nSquare),
      simulated: simulate(simulated, r, n, nSquare),
    });
    rProduct = (rProduct * r) % n;
    if (onProgress) onProgress(candidates.length, k + 1);
  }
  const countSimulated = countDraws.map((draw) =>
    countDraws.length > 1
      ? simulate(draw, rProduct, n, nSquare)
      : { challenge: draw[0], response: draw[1], base: 0n },
  );
  const countCommitment = modPow(countRho, n, nSquare);
  if (onProgress) onProgress(k + 1, k + 1);
  return { params, voterContext, candidates, countRho, countCommitment, countSimulated, used: false };
}

async function finishOrProof(params, statement, label, values, real, simulated, witness) {
  const { n, nSquare } = params;
  const [rho, commitment, r] = witness;
  const truth = values[real];
  const commitments = values.map((value, j) =>
    j === real
      ? commitment
      : (simulated[j].base * gPower((value - truth) * simulated[j].challenge, n, nSquare)) %
        nSquare,
  );
  const challenge = await proofChallenge(statement, label, values, commitments);
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

function checkSelections(params, selections) {
  if (!Array.isArray(selections) || selections.length !== params.candidates.length) {
    throw new BallotCryptoError(`expected ${params.candidates.length} selections`);
  }
  if (!selections.every((s) => s === 0 || s === 1)) {
    throw new BallotCryptoError("each selection must be 0 or 1");
  }
  const count = BigInt(selections.reduce((sum, s) => sum + s, 0));
  const index = params.countValues.indexOf(count);
  if (index < 0) throw new BallotCryptoError("the number of selections is not allowed");
  return index;
}

// The cheap part after the click. Returns the ballot document (hex strings).
export async function finishBallot(pre, selections) {
  if (pre.used) throw new BallotCryptoError("a ballot precomputation can be used only once");
  const { params } = pre;
  const countIndex = checkSelections(params, selections);
  pre.used = true;
  const { n, nSquare } = params;
  const ciphertexts = pre.candidates.map(
    (work, i) => ((1n + BigInt(selections[i]) * n) * work.rToN) % nSquare,
  );
  const statement = await statementDigest(params.fingerprint, pre.voterContext, ciphertexts);
  const selectionProofs = [];
  for (let i = 0; i < ciphertexts.length; i++) {
    const work = pre.candidates[i];
    selectionProofs.push(
      await finishOrProof(params, statement, selectionLabel(i), SELECTION_VALUES, selections[i],
        [work.simulated, work.simulated], [work.rho, work.commitment, work.r]),
    );
  }
  let rProduct = 1n;
  for (const work of pre.candidates) rProduct = (rProduct * work.r) % n;
  const countProof = await finishOrProof(params, statement, COUNT_LABEL, params.countValues,
    countIndex, pre.countSimulated, [pre.countRho, pre.countCommitment, rProduct]);
  return {
    format: BALLOT_FORMAT,
    ciphertexts: ciphertexts.map(toHex),
    selection_proofs: selectionProofs,
    count_proof: countProof,
  };
}

export async function encryptBallot(params, voterContext, selections, { rng } = {}) {
  checkSelections(params, selections);
  return finishBallot(await precomputeBallot(params, voterContext, { rng }), selections);
}

export function ballotToJson(ballot) {
  return canonicalJson(ballot);
}

export async function ballotTracker(ballot) {
  return sha256Hex(canonicalJson(ballot));
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
