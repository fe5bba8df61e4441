// The checks of docs/election-record.md, section by section, in the record's
// order (ES module): the twin of elections/verify/checks.py, with the same
// check names and messages.
//
// RecordChecker receives each section as it is read, and the ballots one
// entry at a time: an entry's fields, sequence number, chain link, box and
// uniqueness are checked at once; its ballot waits in a batch whose proofs
// are checked together (record-ballots.mjs). Memory holds counters, the
// running product of the counted ballots per slot, each box's head, the
// trackers and voter contexts seen (for duplicates, replacements and the
// tracker look-up) and the batches in flight. A v3 record (section 12) has
// several ballot boxes, each with its own numbering and chain, and may mark
// a ballot as replaced by a later one of its voter: it is checked, not counted.

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
  BOX_CHAIN_KEYS,
  CANDIDATE_KEYS,
  CHAIN_KEYS,
  CHAIN_KEYS_V3,
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
const BOX_GENESIS_TAG = "evoting/board/v1/box-genesis";
const BOXES_CLOSE_TAG = "evoting/board/v1/close-boxes";
const BOX_TAG = "evoting/board/v1/box";
const MAX_BOXES = 256n;

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

// Where box `box` (from 0) of `boxes` starts its chain.
export function boxGenesisHash(fingerprint, box, boxes) {
  if (boxes === 1) return genesisHash(fingerprint);
  return transcriptHex([BOX_GENESIS_TAG, fingerprint, box.toString(), boxes.toString()]);
}

// The box (from 0) that every ballot of this voter goes to: the first eight
// bytes of the hash, big-endian, modulo the number of boxes.
export async function boxOf(voterContext, boxes) {
  const digest = await transcriptDigest([BOX_TAG, voterContext]);
  const first = new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, false);
  return Number(first % BigInt(boxes));
}

// Seals every box at once: `heads` is each box's [head hash, ballots], box 0 first.
export function boxesClosingHash(heads) {
  if (heads.length === 1) return closingHash(...heads[0]);
  const parts = [BOXES_CLOSE_TAG, heads.length.toString()];
  for (const [head, ballots] of heads) parts.push(head, ballots.toString());
  return transcriptHex(parts);
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

function entryFields(entry, layout, boxes) {
  expectObject(entry, layout.entryKeys, "ballot entry");
  const sequence = readCount(entry.sequence, "sequence");
  const context = checkText(entry.voter_context, "voter context", MAX_VOTER_CONTEXT);
  const castAt = timeValue(entry.cast_at, "cast_at");
  if (!castAt) throw new MalformedRecord("cast_at: missing");
  const tracker = hashValue(entry.tracker, "tracker");
  const chainHash = hashValue(entry.chain_hash, "chain_hash");
  let box = 0;
  let replacedBy = null;
  if (layout.boxes) {
    const read = readCount(entry.box, "box");
    if (read >= BigInt(boxes)) {
      throw new MalformedRecord(`box: ${read} is not one of the election's ${boxes} boxes`);
    }
    box = Number(read);
    if (entry.replaced_by !== null) {
      replacedBy = readCount(entry.replaced_by, "replaced_by");
      if (replacedBy <= sequence) {
        throw new MalformedRecord("replaced_by: a ballot is replaced by a later one of its box");
      }
    }
  }
  return { sequence, box, context, castAt, tracker, chainHash, replacedBy,
    document: entry.ballot };
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
    // v3: the number of boxes, whether ballots may be replaced, each box's head,
    // the last sequence number read in it and its entries (unreadable ones too),
    // and the box being read (entries come box by box).
    this.boxes = 1;
    this.revoting = false;
    this.boxHeads = [];
    this.boxLengths = [];
    this.boxEntries = [];
    this.box = 0;
    this.count = 0;
    // Entries not marked as replaced: the ballots the tally counts.
    this.counted = 0;
    this.verified = 0;
    // Tracker -> { position, sequence, box, replacedBy } of the first entry with it
    // (box null but in a v3 record).
    this.trackers = new Map();
    // Voter context -> { position, sequence, box, replacedBy } of its latest entry.
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

  // The board entry holding a tracker: { position, sequence, box, replacedBy }
  // or undefined.
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
    const election = expectObject(value, this.layout.electionKeys, "election");
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
    if (this.layout.boxes) {
      const boxes = readCount(election.ballot_boxes, "election ballot_boxes");
      if (boxes < 1n || boxes > MAX_BOXES) {
        throw new MalformedRecord(`election ballot_boxes: expected 1 to ${MAX_BOXES}`);
      }
      this.boxes = Number(boxes);
      if (election.revoting !== "0" && election.revoting !== "1") {
        throw new MalformedRecord('election revoting: expected "0" or "1"');
      }
      this.revoting = election.revoting === "1";
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
    this.boxHeads = [];
    for (let box = 0; box < this.boxes; box++) {
      this.boxHeads.push(await boxGenesisHash(params.fingerprint, box, this.boxes));
    }
    this.boxLengths = new Array(this.boxes).fill(0n);
    this.boxEntries = new Array(this.boxes).fill(0);
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
    this.checkReplacementsFound();
    this.report.counted = this.counted;
    if (BigInt(this.counted) > this.eligible) {
      this.report.warnings.push(`${this.counted} ballots but ${this.eligible} eligible voters ` +
        "at export time (voters removed from the roll after voting, or ballots from outside it)");
    }
  }

  async checkEntry(position, entry, duplicate) {
    let fields;
    try {
      if (duplicate !== null) throw new MalformedRecord(`duplicate key ${pythonRepr(duplicate)}`);
      fields = entryFields(entry, this.layout, this.boxes);
    } catch (error) {
      if (!(error instanceof MalformedRecord || error instanceof BallotCryptoError)) throw error;
      this.report.fail("entry", error.message, { position });
      this.unreadable += 1;
      this.counted += 1; // it may be a counted ballot: the tally cannot be recomputed
      this.followUnreadable(entry);
      return;
    }
    const { sequence, box, context, castAt, tracker, chainHash, replacedBy, document } = fields;
    const where = { sequence, position: this.boxes > 1 ? position : null };
    this.enterBox(box, where);
    const expected = this.boxLengths[box] + 1n;
    if (sequence !== expected) {
      this.report.fail("sequence", `expected sequence ${expected}${this.inBox(box)}, found ` +
        `${sequence} (a ballot is missing, inserted or out of order)`, where);
    }
    this.boxLengths[box] = sequence;
    this.boxEntries[box] += 1;
    if ((await ballotHash(this.boxHeads[box], sequence, context, castAt, tracker)) !== chainHash) {
      this.report.fail("chain", "the chain hash does not follow from the previous one", where);
    }
    this.boxHeads[box] = this.head = chainHash;
    if (this.boxes > 1) {
      const belongs = await boxOf(context, this.boxes);
      if (belongs !== box) {
        this.report.fail("box", `the voter's ballots belong in box ${belongs}`, where);
      }
    }
    if (replacedBy !== null && !this.revoting) {
      this.report.fail("replacement", "a ballot is marked replaced but revoting is off", where);
    }
    const found = { position, sequence, box: this.layout.boxes ? box : null, replacedBy };
    const sought = this.report.tracker;
    if (sought !== null && sought.match === null && tracker === sought.tracker) {
      sought.match = { ...found, castAt, chainHash };
    }
    this.checkUnique(found, context, tracker);
    const counted = replacedBy === null;
    this.counted += counted ? 1 : 0;
    this.batch.push({ sequence, context, tracker, document, counted });
  }

  // Entries come box by box, each box's in sequence order.
  enterBox(box, where) {
    if (box < this.box) {
      this.report.fail("sequence", `an entry of box ${box} after those of box ${this.box}`,
        where);
    }
    this.box = Math.max(this.box, box);
  }

  inBox(box) {
    return this.boxes > 1 ? ` in box ${box}` : "";
  }

  // A recorded chain hash still becomes its chain's head, so one altered entry
  // is reported once rather than at every later entry of its box.
  followUnreadable(entry) {
    if (!isObject(entry)) return;
    const chainHash = entry.chain_hash;
    if (!(typeof chainHash === "string" && HASH_RE.test(chainHash))) return;
    let box = this.box;
    if (this.layout.boxes) {
      let read;
      try {
        read = readCount(entry.box, "box");
      } catch (error) {
        if (error instanceof MalformedRecord) return;
        throw error;
      }
      if (read >= BigInt(this.boxes)) return;
      box = Number(read);
    }
    this.boxHeads[box] = this.head = chainHash;
    this.boxEntries[box] += 1;
  }

  // Keyed by board position: an entry repeated whole repeats its sequence too.
  // A voter context seen before is a second vote unless its latest entry says
  // this one, in the same box, replaced it.
  checkUnique(found, context, tracker) {
    const { position, sequence, box, replacedBy } = found;
    const earlier = this.trackers.get(tracker);
    if (earlier === undefined) this.trackers.set(detach(tracker), found);
    else if (earlier.position !== position) {
      this.report.fail("duplicate", `tracker already on the board as ballot ` +
        `${earlier.sequence}${this.inBox(earlier.box)} (position ${earlier.position})`, { sequence });
    }
    const previous = this.contexts.get(context);
    const latest = { position, sequence, box: box ?? 0, replacedBy };
    if (previous === undefined) {
      this.contexts.set(detach(context), latest);
      return;
    }
    this.contexts.set(context, latest);
    const named = previous.replacedBy;
    if (named === null || named !== sequence || previous.box !== latest.box) {
      this.report.fail("duplicate", "voter context already voted as ballot " +
        `${previous.sequence}${this.inBox(previous.box)} (position ${previous.position})` +
        (named === null ? "" : `, which says ballot ${named} replaced it`), { sequence });
    }
  }

  // A ballot marked replaced must be followed by its voter's replacing ballot.
  checkReplacementsFound() {
    for (const { position, sequence, box, replacedBy } of this.contexts.values()) {
      if (replacedBy !== null) {
        this.report.fail("replacement", `ballot ${sequence}${this.inBox(box)} (position ` +
          `${position}) is marked replaced by ballot ${replacedBy}, but no later ballot of its ` +
          "voter is on the board", { sequence });
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
    if (this.layout.boxes) {
      await this.checkBoxChains(value);
      return;
    }
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
    this.checkClosing(closing, await closingHash(this.head, this.count));
  }

  checkClosing(closing, expected) {
    if (this.status === "open") {
      if (closing) this.report.fail("chain", "an open election has a closing hash");
      this.report.warnings.push("the election is still open: this record is partial (no " +
        "closing hash, no results) and later ballots may follow");
    } else if (closing !== expected) {
      this.report.fail("chain", `the closing hash does not seal these ${this.count} ballots`);
    }
  }

  // v3: each box's genesis, head and length, and one closing hash over them all.
  async checkBoxChains(value) {
    const chain = expectObject(value, CHAIN_KEYS_V3, "chain");
    const boxes = chain.boxes;
    if (!Array.isArray(boxes) || boxes.length !== this.boxes) {
      throw new MalformedRecord(`chain boxes: expected an array of ${this.boxes} boxes`);
    }
    const closing = hashValue(chain.closing, "chain closing", { nullable: true });
    this.closing = closing;
    const fingerprint = this.requireParams().fingerprint;
    const heads = [];
    for (const [index, item] of boxes.entries()) {
      const box = expectObject(item, BOX_CHAIN_KEYS, `chain box ${index}`);
      const genesis = hashValue(box.genesis, `chain box ${index} genesis`);
      const head = hashValue(box.head, `chain box ${index} head`);
      const length = readCount(box.ballots, `chain box ${index} ballots`);
      if (genesis !== (await boxGenesisHash(fingerprint, index, this.boxes))) {
        this.report.fail("chain", `box ${index}: the genesis hash does not match`);
      }
      if (head !== this.boxHeads[index]) {
        this.report.fail("chain", `box ${index}: the head is not its last ballot's hash`);
      }
      if (length !== BigInt(this.boxEntries[index])) {
        this.report.fail("chain", `box ${index}: says ${length} ballots, the board holds ` +
          `${this.boxEntries[index]}`);
      }
      heads.push([this.boxHeads[index], this.boxEntries[index]]);
    }
    // The board hash is the one head with one box, else the seal over every head.
    const sealed = await boxesClosingHash(heads);
    const boardHash = this.boxes === 1 ? heads[0][0] : sealed;
    this.report.chain = { boxes: String(this.boxes), head: boardHash, closing };
    this.checkClosing(closing, sealed);
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
    if (tallyCount !== BigInt(this.counted)) {
      const holds = this.counted === this.count
        ? `the board holds ${board}`
        : `${this.counted} of the board's ${board} count (the others replaced)`;
      this.report.fail("tally", `the tally counts ${tallyCount} ballots, ${holds}`);
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
    this.report.questions = this.results.check(value, this.names, this.counted);
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
