// What a verification run found (ES module): the twin of
// elections/verify/report.py and layout.py. toDict() gives the same object
// as the reference verifier's JSON report (python -m elections.verify
// --json), so the two are compared key by key in the tests; exitCode is the
// command's exit status.

export const RECORD_FORMAT = "evoting/election-record/v2";
// An election with several ballot boxes or with revoting: v2 plus each ballot's box
// and replacement, one chain per box.
export const RECORD_FORMAT_V3 = "evoting/election-record/v3";
export const RECORD_FORMAT_V1 = "evoting/election-record/v1";
// The one optional section: last, and present only when some ballot was audited (v2).
export const AUDITED_SECTION = "audited_ballots";
export const MAX_LISTED_FAILURES = 1000;
// The exit status when the record verifies but the tracker asked about is not on its board.
export const TRACKER_ABSENT = 3;

export const ELECTION_KEYS = ["id", "slug", "title", "status", "opened_at", "closed_at",
  "published_at", "ballot_count"];
export const ELECTION_KEYS_V3 = [...ELECTION_KEYS, "ballot_boxes", "revoting"];
export const CANDIDATE_KEYS = ["id", "position", "name", "affiliation"];
export const VOTER_ROLL_KEYS = ["mode", "eligible", "commitment"];
export const ENTRY_KEYS = ["sequence", "voter_context", "cast_at", "tracker", "chain_hash",
  "ballot"];
export const ENTRY_KEYS_V3 = ["sequence", "box", "voter_context", "cast_at", "tracker",
  "chain_hash", "replaced_by", "ballot"];
export const CHAIN_KEYS = ["genesis", "head", "closing"];
export const CHAIN_KEYS_V3 = ["boxes", "closing"];
export const BOX_CHAIN_KEYS = ["genesis", "head", "ballots"];
export const TALLY_KEYS = ["ciphertexts", "ballot_count"];
export const STATUSES = ["open", "closed", "published"];
export const ROLL_MODES = ["all", "explicit"];

// One version of the record: its sections in their fixed order, the only
// parameters version it may hold, the keys of each result, what a
// ciphertext of the tally counts (in messages), whether the optional
// audited_ballots section may follow the last section, and whether the
// board has ballot boxes and revoting (v3: the election's, entries' and
// chain's keys differ).
const LAYOUT_V2 = Object.freeze({
  format: RECORD_FORMAT,
  paramsVersion: 2,
  sections: Object.freeze(["format", "election", "params", "trustees", "voter_roll", "ballots",
    "chain", "encrypted_tally", "results", "partial_decryptions"]),
  resultKeys: Object.freeze(["question", "option", "count", "ciphertext", "proof"]),
  slotNoun: "slots",
  audited: true,
  boxes: false,
  electionKeys: ELECTION_KEYS,
  entryKeys: ENTRY_KEYS,
});
export const LAYOUTS = new Map([
  [RECORD_FORMAT_V3, Object.freeze({
    ...LAYOUT_V2,
    format: RECORD_FORMAT_V3,
    boxes: true,
    electionKeys: ELECTION_KEYS_V3,
    entryKeys: ENTRY_KEYS_V3,
  })],
  [RECORD_FORMAT, LAYOUT_V2],
  [RECORD_FORMAT_V1, Object.freeze({
    format: RECORD_FORMAT_V1,
    paramsVersion: 1,
    sections: Object.freeze(["format", "election", "params", "candidates", "voter_roll",
      "ballots", "chain", "encrypted_tally", "results"]),
    resultKeys: Object.freeze(["candidate", "count", "ciphertext", "proof"]),
    slotNoun: "candidates",
    audited: false,
    boxes: false,
    electionKeys: ELECTION_KEYS,
    entryKeys: ENTRY_KEYS,
  })],
]);

// A count as JSON: a Number while it is exact, else its decimal spelling.
export function jsonNumber(value) {
  if (value === null || value === undefined) return null;
  const big = BigInt(value);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(big)
    : big.toString();
}

export class Report {
  constructor({ tracker = null } = {}) {
    this.election = {};
    this.ballots = 0;
    // The ballots the tally counts: all of them, less those replaced (revoting).
    this.counted = 0;
    // The record's chain section as read: genesis, head and closing ("" while open);
    // for v3, the number of boxes, the board hash over their heads, and closing.
    this.chain = null;
    this.failures = [];
    this.failureTotal = 0;
    this.warnings = [];
    // Per question: { title, options: [{ id, name, count }], blank, blankAllowed };
    // a count the run could not confirm is null.
    this.questions = null;
    // { threshold, trustees, decryptedBy }, for an election decrypted by trustees.
    this.trustees = null;
    this.malformed = null;
    // The tracker asked about and { position, sequence, castAt, chainHash, box,
    // replacedBy } of its entry (box null but in a v3 record; replacedBy null
    // for a ballot that counts).
    this.tracker = tracker === null ? null : { tracker, match: null };
    this.seconds = 0;
    // The audited ballots that opened to their choices (never counted):
    // { position, tracker, answers: [[question, answer in words], ...] }.
    this.audited = [];
    // The product of the verified ballots, per slot, once it equals the encrypted tally.
    this.verifiedTotals = null;
  }

  get ok() {
    return this.malformed === null && this.failureTotal === 0;
  }

  get exitCode() {
    if (this.malformed !== null) return 2;
    if (!this.ok) return 1;
    if (this.tracker !== null && this.tracker.match === null) return TRACKER_ABSENT;
    return 0;
  }

  // The tracker is on the board, not replaced, and every check holds, so its
  // ballot is in the tally.
  get trackerCounted() {
    const match = this.tracker?.match ?? null;
    return this.ok && match !== null && match.replacedBy === null;
  }

  // Whether the chain read is a v3 record's, with boxes.
  get hasBoxes() {
    return this.chain !== null && Object.hasOwn(this.chain, "boxes");
  }

  // Whether another failure would still be listed (messages cost nothing after that).
  get listing() {
    return this.failures.length < MAX_LISTED_FAILURES;
  }

  fail(check, message, { sequence = null, position = null } = {}) {
    this.failureTotal += 1;
    if (this.listing) this.failures.push({ check, message, sequence, position });
  }

  toDict() {
    const tracker = this.tracker;
    const match = tracker?.match ?? null;
    return {
      ok: this.ok,
      exit_code: this.exitCode,
      malformed: this.malformed,
      election: this.election,
      ballots: this.ballots,
      // v3 records (boxes, revoting): the ballots counted, each voter's last.
      ...(this.hasBoxes ? { counted: this.counted } : {}),
      chain: this.chain === null
        ? null
        : Object.fromEntries(Object.entries(this.chain).map(([key, hash]) => [key, hash || null])),
      failure_count: this.failureTotal,
      failures: this.failures.map((failure) => ({
        check: failure.check,
        sequence: jsonNumber(failure.sequence),
        position: jsonNumber(failure.position),
        message: failure.message,
      })),
      warnings: this.warnings,
      trustees: this.trustees === null
        ? null
        : {
          threshold: this.trustees.threshold,
          trustees: this.trustees.trustees,
          decrypted_by: [...this.trustees.decryptedBy],
        },
      results: this.questions === null
        ? null
        : this.questions.map((question) => ({
          question: question.title,
          options: question.options.map((option) => ({
            id: option.id, name: option.name, count: jsonNumber(option.count),
          })),
          blank: jsonNumber(question.blank),
          blank_allowed: question.blankAllowed,
        })),
      tracker: tracker === null
        ? null
        : {
          tracker: tracker.tracker,
          found: match !== null,
          sequence: jsonNumber(match?.sequence),
          position: jsonNumber(match?.position),
          cast_at: match?.castAt ?? null,
          chain_hash: match?.chainHash ?? null,
          ...(match === null || match.box === null
            ? {}
            : { box: jsonNumber(match.box), replaced_by: jsonNumber(match.replacedBy) }),
          counted: this.trackerCounted,
        },
      audited: this.audited.map(({ position, tracker: audited, answers }) => ({
        position,
        tracker: audited,
        revealed: answers.map(([question, answer]) => ({ question, answer })),
      })),
      seconds: Math.round(this.seconds * 1000) / 1000,
    };
  }
}
