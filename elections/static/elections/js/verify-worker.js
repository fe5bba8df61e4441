// The browser verifier's worker: streams the election record and checks it
// off the main thread (record-verify.mjs), its ballots' proofs on a pool of
// batch workers, one per core (verify-batch-worker.js), then answers tracker
// look-ups.
//
// Start it as a module worker:
//   const worker = new Worker(url, { type: "module" });
//
// Messages to the worker:
//   { type: "verify", url, minKeyBits }
//       url: the record's address (same origin); minKeyBits: the key floor
//       (2048 as the reference verifier's; the test suite's pages lower it).
//       Downloads the record as a stream and runs every check. Once.
//   { type: "lookup", tracker }
//       tracker: as typed from a receipt (spaces and case do not matter).
//
// Messages from the worker:
//   { type: "progress", done, total }   ballots verified so far, of the total
//   { type: "report", report }          the run's report: the reference
//                                       verifier's JSON report (--json)
//   { type: "lookup", tracker, found, complete, counted, ballots }
//       tracker: normalised; found: { position, sequence, box, replaced_by }
//       of the first readable entry with it, or null (box: null but in a v3
//       record; replaced_by: the sequence of the ballot of the same voter
//       that replaced it, or null); complete: whether the whole record has
//       been read (else the look-up covers only `ballots` entries so far);
//       counted: found, not replaced, and every check of the record holds
//   { type: "error", of, message }      `of` the message refused ("verify":
//                                       the record could not be fetched;
//                                       "lookup": a malformed tracker)
import { paramsToJson } from "./election-params.mjs";
import { bodyChunks, parseTracker, verifyRecord } from "./record-verify.mjs";

// Batches in flight per batch worker: one being checked, one waiting.
const BATCHES_PER_WORKER = 2;
const MAX_WORKERS = 8;

// Checks batches of ballots on a pool of workers (verify-batch-worker.js):
// the runner interface of record-ballots.mjs's InlineRunner.
class WorkerPool {
  constructor(size) {
    const url = new URL("./verify-batch-worker.js", import.meta.url);
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(url, { type: "module" });
      worker.onmessage = (event) => this.settle(event.data);
      return { worker, busy: 0 };
    });
    this.pending = new Map();
    this.inFlight = new Set();
    this.nextId = 0;
    this.paramsText = new WeakMap();
  }

  settle({ id, outcome, error }) {
    const { resolve, reject } = this.pending.get(id);
    this.pending.delete(id);
    if (error === undefined) resolve(outcome);
    else reject(new Error(error));
  }

  async submit(params, batch, word, merge) {
    while (this.inFlight.size >= BATCHES_PER_WORKER * this.workers.length) {
      await Promise.race(this.inFlight);
    }
    if (!this.paramsText.has(params)) this.paramsText.set(params, paramsToJson(params));
    const slot = this.workers.reduce((best, next) => (next.busy < best.busy ? next : best));
    const id = this.nextId++;
    const done = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    slot.busy += 1;
    slot.worker.postMessage({ id, params: this.paramsText.get(params), batch, word });
    const merged = done.then(merge).finally(() => {
      slot.busy -= 1;
      this.inFlight.delete(merged);
    });
    this.inFlight.add(merged);
  }

  async finish() {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  close() {
    for (const { worker } of this.workers) worker.terminate();
  }
}

let checker = null;
let finished = null;
let started = false;

async function verify({ url, minKeyBits }) {
  if (started) throw new Error("this worker has already verified a record");
  started = true;
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok || response.body === null) {
    throw new Error(`the election record could not be downloaded (HTTP ${response.status})`);
  }
  // Nested workers: every core checks proofs while this one reads the record.
  const cores = Math.min(MAX_WORKERS, self.navigator.hardwareConcurrency || 1);
  const pool = typeof Worker === "undefined" || cores < 2 ? null : new WorkerPool(cores);
  let report;
  try {
    report = await verifyRecord(bodyChunks(response.body), {
      minKeyBits,
      runner: pool ?? undefined,
      onChecker: (created) => {
        checker = created;
      },
      onProgress: (done, total) => self.postMessage({ type: "progress", done, total }),
    });
  } finally {
    pool?.close();
  }
  finished = report;
  self.postMessage({ type: "report", report: report.toDict() });
}

function lookup({ tracker: typed }) {
  const tracker = parseTracker(typed);
  const entry = checker === null ? undefined : checker.findTracker(tracker);
  const found = entry === undefined
    ? null
    : {
      position: entry.position,
      sequence: Number(entry.sequence),
      box: entry.box,
      replaced_by: entry.replacedBy === null ? null : Number(entry.replacedBy),
    };
  self.postMessage({
    type: "lookup",
    tracker,
    found,
    complete: finished !== null,
    counted: found !== null && found.replaced_by === null && finished !== null && finished.ok,
    ballots: checker === null ? 0 : checker.count,
  });
}

self.onmessage = async (event) => {
  const message = event.data;
  try {
    if (message?.type === "verify") await verify(message);
    else if (message?.type === "lookup") lookup(message);
    else throw new Error("unknown message type");
  } catch (error) {
    const reason = String(error?.message ?? error);
    self.postMessage({ type: "error", of: message?.type, message: reason });
  }
};
