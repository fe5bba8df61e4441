// The checks of docs/election-record.md, section by section, in the record's
// order (ES module): the twin of elections/verify/checks.py, with the same
// check names and messages.
//
// RecordChecker receives each section as it is read, and the ballots one
// entry at a time: an entry's fields, sequence number, chain link and
// uniqueness are checked at once; its ballot waits in a batch whose proofs
// are checked together (record-ballots.mjs). Memory holds counters, the
// running product of the ballots per slot, the trackers and voter contexts
// seen (for duplicates and the tracker look-up) and the batches in flight.

import {
  BallotCryptoError,
  bytesToHex,
  canonicalJson,
  parseParams,
  transcriptDigest,
} from "./election-params.mjs";
import { InlineRunner } from "./record-ballots.mjs";
import {
  HASH_RE,
  MalformedRecord,
  detach,
  count as readCount,
  expectObject,
  hashValue,
  isObject,
  pythonList,
  pythonRepr,
  text,
  timeValue,
} from "./record-reader.mjs";
import {
  CANDIDATE_KEYS,
  CHAIN_KEYS,
  ELECTION_KEYS,
  ENTRY_KEYS,
  LAYOUTS,
  RECORD_FORMAT,
  ROLL_MODES,
  STATUSES,
  TALLY_KEYS,
  VOTER_ROLL_KEYS,
} from "./record-report.mjs";
import {
  ResultChecker,
  TrusteeChecker,
  optionNames,
  validateCiphertext,
} from "./record-results.mjs";
import { checkAuditedBallots } from "./audited-ballot.mjs";
import { checkText, expectObject as expectFields, hexLength, parseHex } from "./strict-json.mjs";

export const MIN_KEY_BITS = 2048;
// Pippenger's bucket overhead is shared by a whole batch; 128 ballots keep
// the progress bar moving (a few seconds a batch at 3072 bits).
export const BALLOTS_PER_BATCH = 128;
const MAX_PARAMS_BYTES = 2 * 1024 * 1024;
const MAX_KEY_BITS = 8192;
const PARAMS_KEYS = new Map([
  ["evoting/election-params/v1",
    ["format", "election_id", "n", "candidates", "min_selections", "max_selections"]],
  ["evoting/election-params/v2", ["format", "election_id", "title", "n", "questions"]],
]);
const MAX_VOTER_CONTEXT = 200;
const GENESIS_TAG = "evoting/board/v1/genesis";
const BALLOT_TAG = "evoting/board/v1/ballot";
const CLOSE_TAG = "evoting/board/v1/close";

// A failure after which nothing further can be checked (unusable parameters).
export class StopChecks extends Error {}

async function transcriptHex(items) {
  return bytesToHex(await transcriptDigest(items));
}

// The board's hashes (elections/board.py): sequence numbers and counts in decimal.
export function genesisHash(fingerprint) {
  return transcriptHex([GENESIS_TAG, fingerprint]);
}

export function ballotHash(previous, sequence, voterContext, castAt, tracker) {
  return transcriptHex([BALLOT_TAG, previous, sequence.toString(), voterContext, castAt, tracker]);
}

export function closingHash(head, ballots) {
  return transcriptHex([CLOSE_TAG, head, ballots.toString()]);
}

function bitLength(value) {
  return value === 0n ? 0 : value.toString(2).length;
}

// The parameters' checks up to the key size, in Python's order and words
// (params_from_dict, check_modulus); parseParams checks the rest.
function checkModulus(document, minKeyBits) {
  const keys = PARAMS_KEYS.get(document.format);
  if (keys === undefined) throw new BallotCryptoError("params: unknown format");
  expectFields(document, keys, "params");
  if (keys.includes("candidates") && !Array.isArray(document.candidates)) {
    throw new BallotCryptoError("params: candidates must be an array");
  }
  const bits = bitLength(parseHex(document.n, "n", hexLength(1n << BigInt(MAX_KEY_BITS))));
  if (bits < minKeyBits) {
    throw new BallotCryptoError(`the key has ${bits} bits; at least ${minKeyBits} are required`);
  }
  if (bits > MAX_KEY_BITS) {
    throw new BallotCryptoError(`the key has ${bits} bits; at most ${MAX_KEY_BITS} are supported`);
  }
  if (!(BigInt("0x" + document.n) & 1n)) throw new BallotCryptoError("the modulus must be odd");
}

function entryFields(entry) {
  expectObject(entry, ENTRY_KEYS, "ballot entry");
  const sequence = readCount(entry.sequence, "sequence");
  const context = checkText(entry.voter_context, "voter context", MAX_VOTER_CONTEXT);
  const castAt = timeValue(entry.cast_at, "cast_at");
  if (!castAt) throw new MalformedRecord("cast_at: missing");
  const tracker = hashValue(entry.tracker, "tracker");
  const chainHash = hashValue(entry.chain_hash, "chain_hash");
  return { sequence, context, castAt, tracker, chainHash, document: entry.ballot };
}

// Runs every check of docs/election-record.md over one record's sections.
// `report.tracker`, when set, is looked up on the board. Options: minKeyBits
// (the key floor, 2048 as the reference verifier's), onProgress(done, total)
// after each batch of ballots, batchSize, runner (where the batches are
// checked: InlineRunner, or a pool of workers with the same methods).
export class RecordChecker {
  constructor(report, { minKeyBits = MIN_KEY_BITS, onProgress = null,
    batchSize = BALLOTS_PER_BATCH, runner = new InlineRunner() } = {}) {
    this.report = report;
    this.runner = runner;
    this.minKeyBits = minKeyBits;
    this.onProgress = onProgress;
    this.batchSize = batchSize;
    this.layout = LAYOUTS.get(RECORD_FORMAT);
    this.status = "";
    this.electionId = "";
    this.electionTitle = "";
    this.claimedBallots = 0n;
    this.eligible = 0n;
    this.names = [];
    this.params = null;
    this.genesis = "";
    this.head = "";
    this.count = 0;
    this.verified = 0;
    this.lastSequence = 0n;
    // Tracker and voter context -> { position, sequence } of the first entry with it.
    this.trackers = new Map();
    this.contexts = new Map();
    this.product = [];
    this.unreadable = 0;
    this.batch = [];
    this.tally = [];
    this.closing = "";
    this.trustees = new TrusteeChecker(report);
    this.results = null;
  }

  // The check of each section read whole (the ballots are streamed apart).
  handler(key) {
    const handlers = {
      election: (value) => this.checkElection(value),
      params: (value) => this.checkParams(value),
      trustees: (value) => this.trustees.checkKey(value, this.requireParams()),
      candidates: (value) => this.checkCandidates(value),
      voter_roll: (value) => this.checkVoterRoll(value),
      chain: (value) => this.checkChain(value),
      encrypted_tally: (value) => this.checkEncryptedTally(value),
      results: (value) => this.checkResults(value),
      partial_decryptions: (value) => this.checkPartialDecryptions(value),
    };
    return handlers[key];
  }

  // The board entry holding a tracker: { position, sequence } or undefined.
  findTracker(tracker) {
    return this.trackers.get(tracker);
  }

  // Header ------------------------------------------------------------------

  checkFormat(value) {
    const layout = typeof value === "string" ? LAYOUTS.get(value) : undefined;
    if (layout === undefined) {
      const known = pythonList([...LAYOUTS.keys()].sort());
      throw new MalformedRecord(`format: expected one of ${known}`);
    }
    this.layout = layout;
    return layout;
  }

  checkElection(value) {
    const election = expectObject(value, ELECTION_KEYS, "election");
    for (const key of ["id", "slug", "title"]) text(election[key], `election ${key}`);
    if (!STATUSES.includes(election.status)) {
      throw new MalformedRecord(`election status: expected one of ${pythonList(STATUSES)}`);
    }
    for (const key of ["opened_at", "closed_at", "published_at"]) {
      timeValue(election[key], `election ${key}`);
    }
    this.status = election.status;
    this.electionId = election.id;
    this.electionTitle = election.title;
    this.claimedBallots = readCount(election.ballot_count, "election ballot_count");
    this.report.election = Object.fromEntries(
      ["id", "slug", "title", "status"].map((key) => [key, election[key]]),
    );
    const expected = {
      opened_at: true,
      closed_at: this.status !== "open",
      published_at: this.status === "published",
    };
    for (const [key, present] of Object.entries(expected)) {
      if (Boolean(election[key]) !== present) {
        this.report.fail("election",
          `${key} is ${present ? "missing" : "set"} for a ${this.status} election`);
      }
    }
  }

  async checkParams(value) {
    if (!isObject(value)) throw new MalformedRecord("params: expected an object");
    let params;
    try {
      if (new TextEncoder().encode(canonicalJson(value)).length > MAX_PARAMS_BYTES) {
        throw new BallotCryptoError(`input is larger than ${MAX_PARAMS_BYTES} bytes`);
      }
      checkModulus(value, this.minKeyBits);
      params = await parseParams(value);
    } catch (error) {
      if (!(error instanceof BallotCryptoError)) throw error;
      this.report.fail("params", `the election parameters are refused: ${error.message}`);
      throw new StopChecks();
    }
    const layout = this.layout;
    if (params.version !== layout.paramsVersion) {
      this.report.fail("params", "the election parameters are refused: parameters of format " +
        `v${params.version} in a record of format ${layout.format}, which holds ` +
        `v${layout.paramsVersion}`);
      throw new StopChecks();
    }
    if (params.electionId !== this.electionId) {
      this.report.fail("params", "the parameters belong to another election id");
    }
    if (params.version === 2 && params.title !== this.electionTitle) {
      this.report.fail("params", "the election title differs from the parameters' title");
    }
    this.params = params;
    this.names = optionNames(params);
    this.genesis = await genesisHash(params.fingerprint);
    this.head = this.genesis;
    this.product = new Array(params.slotCount).fill(1n);
  }

  checkCandidates(value) {
    const params = this.requireParams();
    if (!Array.isArray(value)) throw new MalformedRecord("candidates: expected an array");
    let previous = 0n;
    const ids = [];
    this.names = [];
    value.forEach((item, index) => {
      const candidate = expectObject(item, CANDIDATE_KEYS, `candidate ${index}`);
      ids.push(text(candidate.id, "candidate id"));
      this.names.push(text(candidate.name, "candidate name"));
      text(candidate.affiliation, "candidate affiliation");
      const position = readCount(candidate.position, "candidate position");
      if (position <= previous) {
        this.report.fail("candidates", `candidate ${index}: positions must increase`);
      }
      previous = position;
    });
    const expected = params.optionIds;
    if (ids.length !== expected.length || ids.some((id, i) => id !== expected[i])) {
      this.report.fail("candidates", "the candidate list differs from the parameters' candidates");
    }
  }

  checkVoterRoll(value) {
    const roll = expectObject(value, VOTER_ROLL_KEYS, "voter_roll");
    if (!ROLL_MODES.includes(roll.mode)) {
      throw new MalformedRecord(`voter_roll mode: expected one of ${pythonList(ROLL_MODES)}`);
    }
    this.eligible = readCount(roll.eligible, "voter_roll eligible");
    hashValue(roll.commitment, "voter_roll commitment");
  }

  // Ballots -----------------------------------------------------------------

  // items: an async iterable of { value, duplicate } (RecordStream.arrayItems).
  async checkBallots(items) {
    this.requireParams();
    let position = 0;
    for await (const { value, duplicate } of items) {
      position += 1;
      this.count = position;
      await this.checkEntry(position, value, duplicate);
      if (this.batch.length >= this.batchSize) await this.flush();
    }
    await this.flush();
    await this.runner.finish();
    this.report.ballots = this.count;
    if (BigInt(this.count) > this.eligible) {
      this.report.warnings.push(`${this.count} ballots but ${this.eligible} eligible voters at ` +
        "export time (voters removed from the roll after voting, or ballots from outside it)");
    }
  }

  async checkEntry(position, entry, duplicate) {
    let fields;
    try {
      if (duplicate !== null) throw new MalformedRecord(`duplicate key ${pythonRepr(duplicate)}`);
      fields = entryFields(entry);
    } catch (error) {
      if (!(error instanceof MalformedRecord || error instanceof BallotCryptoError)) throw error;
      this.report.fail("entry", error.message, { position });
      this.unreadable += 1;
      const chainHash = isObject(entry) ? entry.chain_hash : undefined;
      if (typeof chainHash === "string" && HASH_RE.test(chainHash)) this.head = chainHash;
      return;
    }
    const { sequence, context, castAt, tracker, chainHash, document } = fields;
    if (sequence !== this.lastSequence + 1n) {
      this.report.fail("sequence", `expected sequence ${this.lastSequence + 1n}, found ` +
        `${sequence} (a ballot is missing, inserted or out of order)`, { sequence });
    }
    this.lastSequence = sequence;
    if ((await ballotHash(this.head, sequence, context, castAt, tracker)) !== chainHash) {
      this.report.fail("chain", "the chain hash does not follow from the previous one",
        { sequence });
    }
    this.head = chainHash;
    const sought = this.report.tracker;
    if (sought !== null && sought.match === null && tracker === sought.tracker) {
      sought.match = { position, sequence, castAt, chainHash };
    }
    this.checkUnique(position, sequence, context, tracker);
    this.batch.push({ sequence, context, tracker, document });
  }

  // Keyed by board position: an entry repeated whole repeats its sequence too.
  checkUnique(position, sequence, context, tracker) {
    for (const [seen, value, what] of [
      [this.trackers, tracker, "tracker already on the board"],
      [this.contexts, context, "voter context already voted"],
    ]) {
      const earlier = seen.get(value);
      if (earlier === undefined) seen.set(detach(value), { position, sequence });
      else if (earlier.position !== position) {
        this.report.fail("duplicate",
          `${what} as ballot ${earlier.sequence} (position ${earlier.position})`, { sequence });
      }
    }
  }

  async flush() {
    if (this.batch.length === 0) return;
    const [batch, params] = [this.batch, this.requireParams()];
    this.batch = [];
    await this.runner.submit(params, batch, this.report.listing,
      (outcome) => this.merge(params, outcome, batch.length));
  }

  merge(params, outcome, size) {
    for (const [check, message, sequence] of outcome.failures) {
      this.report.fail(check, message, { sequence });
    }
    outcome.product.forEach((total, slot) => {
      this.product[slot] = (this.product[slot] * total) % params.nSquare;
    });
    this.unreadable += outcome.unreadable;
    this.verified += size;
    const claimed = Number(this.claimedBallots);
    if (this.onProgress) this.onProgress(this.verified, Math.max(claimed, this.count));
  }

  // Trailer -----------------------------------------------------------------

  async checkChain(value) {
    const chain = expectObject(value, CHAIN_KEYS, "chain");
    const genesis = hashValue(chain.genesis, "chain genesis");
    const head = hashValue(chain.head, "chain head");
    const closing = hashValue(chain.closing, "chain closing", { nullable: true });
    this.closing = closing;
    this.report.chain = { genesis, head, closing };
    if (genesis !== this.genesis) {
      this.report.fail("chain", "the genesis hash does not match the parameters");
    }
    if (head !== this.head) {
      this.report.fail("chain", "the head is not the last ballot's chain hash");
    }
    if (this.status === "open") {
      if (closing) this.report.fail("chain", "an open election has a closing hash");
      this.report.warnings.push("the election is still open: this record is partial (no " +
        "closing hash, no results) and later ballots may follow");
    } else if (closing !== (await closingHash(this.head, this.count))) {
      this.report.fail("chain", `the closing hash does not seal these ${this.count} ballots`);
    }
  }

  checkEncryptedTally(value) {
    const params = this.requireParams();
    const tally = expectObject(value, TALLY_KEYS, "encrypted_tally");
    const ciphertexts = tally.ciphertexts;
    if (!Array.isArray(ciphertexts)) {
      throw new MalformedRecord("encrypted_tally ciphertexts: expected an array");
    }
    const digits = hexLength(params.nSquare - 1n);
    let parsed;
    try {
      parsed = ciphertexts.map((c) => validateCiphertext(params,
        parseHex(c, "encrypted tally ciphertext", digits)));
    } catch (error) {
      if (!(error instanceof BallotCryptoError)) throw error;
      this.report.fail("tally", `invalid encrypted tally: ${error.message}`);
      return;
    }
    if (parsed.length !== params.slotCount) {
      this.report.fail("tally", `the encrypted tally has ${parsed.length} ciphertexts for ` +
        `${params.slotCount} ${this.layout.slotNoun}`);
      this.tally = [];
      return;
    }
    this.tally = parsed;
    this.compareTally(readCount(tally.ballot_count, "encrypted_tally ballot_count"));
  }

  compareTally(tallyCount) {
    const board = BigInt(this.count);
    if (tallyCount !== board) {
      this.report.fail("tally", `the tally counts ${tallyCount} ballots, the board holds ${board}`);
    }
    if (this.claimedBallots !== board) {
      this.report.fail("election",
        `ballot_count says ${this.claimedBallots}, the board holds ${board}`);
    }
    if (this.unreadable) {
      this.report.fail("tally", "the product of the ballots cannot be recomputed: " +
        `${this.unreadable} ballot(s) are unreadable`);
    } else if (this.product.some((total, slot) => total !== this.tally[slot])) {
      this.report.fail("tally",
        "the encrypted tally is not the product of the ballots on the board");
    } else {
      this.report.verifiedTotals = [...this.tally];
    }
  }

  checkResults(value) {
    if (this.status !== "published") {
      if (value !== null) this.report.fail("results", `a ${this.status} election has results`);
      return;
    }
    if (!Array.isArray(value)) {
      throw new MalformedRecord("results: expected an array for a published election");
    }
    this.results = new ResultChecker(this.report, this.layout, this.requireParams(), this.tally,
      { byTrustees: this.trustees.present });
    this.report.questions = this.results.check(value, this.names, this.count);
  }

  async checkPartialDecryptions(value) {
    const published = this.status === "published";
    let tally = null;
    if (published && this.tally.length > 0 && HASH_RE.test(this.closing)) {
      tally = { params: this.requireParams(), ciphertexts: this.tally };
    }
    const combined = await this.trustees.checkPartials(value, tally, { published });
    if (this.results !== null && this.trustees.present) {
      this.report.questions = this.results.checkCombined(combined);
    }
  }

  // The optional audited_ballots section (step 17, audited-ballot.mjs).
  async checkAudited(items) {
    await checkAuditedBallots(this.report, this.requireParams(), items, this.trackers);
  }

  requireParams() {
    if (this.params === null) {
      throw new MalformedRecord("params must come before the sections that use them");
    }
    return this.params;
  }
}
