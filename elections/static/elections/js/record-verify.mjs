// The browser verifier of a public election record (ES module): the same
// checks, with the same check names and messages, as the reference verifier
// `python -m elections.verify` (docs/election-record.md, sections 5 to 8, and
// section 12 for the records of elections with ballot boxes or revoting).
//
//   import { verifyRecord } from "./record-verify.mjs";
//   const report = await verifyRecord(chunks, { tracker, onProgress });
//   report.exitCode  // 0 verified, 1 a check failed, 2 unreadable, 3 tracker absent
//
// `chunks` is an async iterable of byte chunks (Uint8Array): a fetch
// response's body in a module worker (see bodyChunks), a file stream in
// Node. The record is read as a stream (record-reader.mjs), one section or
// one ballot entry at a time, and its ballots are checked a batch at a time
// (record-checks.mjs), so memory does not grow with the record's ballots
// beyond a tracker and a voter context each (for duplicates and the tracker
// look-up): about one entry of text and the batches in flight (one, or two
// per batch worker when the caller passes a pool as `runner`).
//
// The modules, by concern, mirroring elections/verify/: record-reader
// (reading, sections 1 and 6), record-report (report and layouts, sections 2
// and 8), record-checks (steps 1 to 14), record-ballots and ballot-verify
// (ballots and proofs, steps 9 to 12), record-results (steps 15 and 16) and
// audited-ballot (the audited ballots of step 17, docs/ballot-format.md).
//
// Key size: like the reference verifier, a modulus under 2048 bits is a
// `params` failure; minKeyBits lowers that floor (to 512 at the least), for
// records made with the test suites' small keys.
//
// Threat model. Protects an observer against a record that is not what it
// claims (a ballot altered, removed, inserted or reordered, a proof that
// fails, a total that is not the product of the ballots, a count that is not
// its decryption) with nothing installed: the checks run in the observer's
// browser on the record as downloaded. Does not protect against a server that
// serves altered verifier code along with the record (an observer who cannot
// trust the site runs the reference verifier on the downloaded record, or
// compares this page's hashes with it), nor, like any verifier, against a
// whole record forged by whoever runs the server (section 1 of the document:
// compare the hashes with ones noted earlier).

import { MalformedRecord, RecordStream } from "./record-reader.mjs";
import { RecordChecker, StopChecks } from "./record-checks.mjs";
import { AUDITED_SECTION, Report } from "./record-report.mjs";

export { MalformedRecord } from "./record-reader.mjs";
export { MIN_KEY_BITS, RecordChecker } from "./record-checks.mjs";
export {
  MAX_LISTED_FAILURES, RECORD_FORMAT, RECORD_FORMAT_V1, RECORD_FORMAT_V3, Report,
} from "./record-report.mjs";
export { checkAuditedBallot } from "./audited-ballot.mjs";

const TRACKER_LENGTH = 64;

// A tracker as a receipt shows it, to the board's spelling (64 lowercase hex
// digits): whitespace and case do not matter. Throws a RangeError with the
// reference verifier's message if it is not one.
export function parseTracker(value) {
  const tracker = String(value).split(/\s+/).join("").toLowerCase();
  if (!/^[0-9a-f]*$/.test(tracker)) {
    throw new RangeError("a tracker has only the digits 0-9 and the letters a-f");
  }
  if (tracker.length !== TRACKER_LENGTH) {
    throw new RangeError(`a tracker has ${TRACKER_LENGTH} characters; this has ${tracker.length}`);
  }
  return tracker;
}

// A ReadableStream of bytes (a fetch response's body) as an async iterable.
export async function* bodyChunks(stream) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

async function readRecord(stream, checker) {
  await stream.expectKey("format");
  // The first value decides the layout of everything after it.
  const layout = checker.checkFormat(await stream.section("format"));
  for (const key of layout.sections.slice(1)) {
    await stream.expectKey(key);
    if (key === "ballots") await checker.checkBallots(stream.arrayItems("ballots"));
    else await checker.handler(key)(await stream.section(key));
  }
  const last = layout.sections.at(-1);
  if (layout.audited && (await stream.optionalKey(AUDITED_SECTION, last))) {
    await checker.checkAudited(stream.arrayItems(AUDITED_SECTION));
  }
  await stream.end(last);
}

// Read a record (any version) from byte chunks and run every check;
// resolves to the Report. Never rejects for a bad record: a malformed one
// sets report.malformed (exit status 2), failed checks fill report.failures
// (exit 1). Options: tracker (64 lowercase hex digits, see parseTracker) to
// look up on the board; onProgress(done, total), ballots verified so far;
// onChecker(checker), called before reading, for a caller that wants to
// query the run later (RecordChecker.findTracker); minKeyBits; batchSize.
export async function verifyRecord(chunks, options = {}) {
  const started = performance.now();
  const report = new Report({ tracker: options.tracker ?? null });
  const checker = new RecordChecker(report, options);
  if (options.onChecker) options.onChecker(checker);
  const stream = new RecordStream(chunks);
  try {
    await readRecord(stream, checker);
  } catch (error) {
    if (error instanceof MalformedRecord) report.malformed = error.message;
    else if (!(error instanceof StopChecks)) throw error;
  } finally {
    await stream.close();
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
