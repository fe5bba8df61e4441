// The browser verifier against the reference verifier: every golden record,
// as it is and tampered in every way the Python tests tamper with it, must
// get the same report from record-verify.mjs as from `python -m
// elections.verify --json` (tests/verify/golden/browser-expectations.json,
// made by browser_expectations.py): verdict, exit status, failures with their
// check, ballot and message, hashes, results, trustees and tracker look-up.
// Then the audited ballots against crypto.check_audited_ballot, and the
// streaming reader on chunks cut anywhere.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { parseParams } from "../../elections/static/elections/js/election-params.mjs";
import {
  checkAuditedBallot,
  parseTracker,
  verifyRecord,
} from "../../elections/static/elections/js/record-verify.mjs";
import { InvalidAudit } from "../../elections/static/elections/js/audited-ballot.mjs";

const goldenDir = fileURLToPath(new URL("../verify/golden/", import.meta.url));
const expectations = JSON.parse(readFileSync(goldenDir + "browser-expectations.json", "utf8"));
const goldenLines = new Map();

function linesOf(name) {
  if (name === "documents") return expectations.documents;
  if (!goldenLines.has(name)) {
    goldenLines.set(name, readFileSync(goldenDir + name, "latin1").split("\n"));
  }
  return goldenLines.get(name);
}

function unpack(text) {
  if (typeof text === "string") return text;
  return text.map((piece) => (typeof piece === "string" ? piece : piece[0].repeat(piece[1])))
    .join("");
}

function buildLine(line) {
  if (typeof line === "string" || Array.isArray(line)) return unpack(line);
  const [name, index] = line.line;
  const source = linesOf(name)[index];
  return line.pieces.map((piece) => (Array.isArray(piece) && typeof piece[0] === "number"
    ? source.slice(piece[0], piece[1])
    : unpack(piece))).join("");
}

// The case's bytes: the golden file with the fixture's edits (browser_expectations.edits).
function caseBytes(testCase) {
  const lines = [...linesOf(testCase.base)];
  for (const [start, end, replacement] of [...testCase.edits].reverse()) {
    lines.splice(start, end - start, ...replacement.map(buildLine));
  }
  return Buffer.from(lines.join("\n"), "latin1");
}

async function* chunksOf(bytes, size) {
  for (let start = 0; start < bytes.length; start += size) {
    yield bytes.subarray(start, start + size);
  }
}

function sortedFailures(failures) {
  const key = (f) => JSON.stringify([f.check, f.sequence, f.position, f.message]);
  return [...failures].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
}

// The reports must agree on everything but the time taken. Of an unreadable
// record only the verdict is compared: the reason's wording, and what was
// read before it, depend on how much each reader buffers (a control byte at
// the end of the file is refused by Python before the first section, as it
// reads 64 KB at a time).
function comparable(report) {
  const { seconds: _, malformed, failures, ...rest } = report;
  if (malformed !== null) return { ok: rest.ok, exit_code: rest.exit_code, malformed: true };
  return { ...rest, malformed: false, failures: sortedFailures(failures) };
}

const CHUNK_SIZES = [65536, 4093, 97];

describe("the browser verifier agrees with python -m elections.verify", () => {
  expectations.cases.forEach((testCase, index) => {
    const size = CHUNK_SIZES[index % CHUNK_SIZES.length];
    it(`${testCase.name} (${size}-byte chunks)`, async () => {
      const report = await verifyRecord(chunksOf(caseBytes(testCase), size), {
        tracker: testCase.tracker,
        minKeyBits: testCase.min_key_bits,
      });
      assert.deepEqual(comparable(report.toDict()), comparable(testCase.report));
    });
  });

  it("covers every check name, every exit status and every record version", () => {
    const checks = new Set();
    const codes = new Set();
    const bases = new Set();
    for (const { base, report } of expectations.cases) {
      codes.add(report.exit_code);
      bases.add(base);
      for (const failure of report.failures) checks.add(failure.check);
    }
    assert.deepEqual([...codes].sort(), [0, 1, 2, 3]);
    assert.deepEqual([...checks].sort(), [
      "audited", "ballot", "box", "candidates", "chain", "decryption", "duplicate", "election",
      "entry", "params", "partial", "proof", "replacement", "results", "sequence", "tally",
      "tracker", "trustees",
    ]);
    assert.deepEqual([...bases].sort(), ["record-v1-12.json", "record-v1.json",
      "record-v2-trustees.json", "record-v2.json", "record-v3.json"]);
  });
});

describe("the record is read as a stream", () => {
  const honest = expectations.cases.find((c) => c.name === "v2 honest");

  for (const size of [1, 2, 3, 5, 13]) {
    it(`gives the same report whatever the chunks (${size} bytes)`, async () => {
      // The first 4 KB of the v2 golden record in tiny chunks, the rest in one:
      // cuts inside every escape of its labels (\u00e9, a surrogate pair, \n).
      const bytes = caseBytes(honest);
      async function* uneven() {
        yield* chunksOf(bytes.subarray(0, 4096), size);
        yield bytes.subarray(4096);
      }
      const report = await verifyRecord(uneven(), { minKeyBits: 512 });
      assert.deepEqual(comparable(report.toDict()), comparable(honest.report));
    });
  }

  it("gives the same report whatever the size of the proof batches", async () => {
    const names = ["v1 twelve ballots", "v1 reordered ballots", "v3 honest",
      "v3 replaced ballot unreadable", "v3 replaced ballot changed"];
    for (const name of names) {
      const testCase = expectations.cases.find((c) => c.name === name);
      for (const batchSize of [1, 5]) {
        const report = await verifyRecord(chunksOf(caseBytes(testCase), 65536),
          { minKeyBits: 512, batchSize });
        assert.deepEqual(comparable(report.toDict()), comparable(testCase.report));
      }
    }
  });

  it("splits a UTF-8 character across chunks", async () => {
    const raw = expectations.cases.find((c) => c.name === "raw UTF-8 title");
    const report = await verifyRecord(chunksOf(caseBytes(raw), 1), { minKeyBits: 512 });
    assert.equal(report.exitCode, 0);
    assert.equal(report.election.title, "Golden \u{1f5f3} \u00e9lection");
  });

  it("refuses a record that is not a stream of bytes as unreadable, not a crash", async () => {
    async function* broken() {
      yield new TextEncoder().encode('{"format":');
      throw new Error("connection reset");
    }
    const report = await verifyRecord(broken());
    assert.equal(report.exitCode, 2);
    assert.match(report.malformed, /connection reset/);
  });
});

describe("parseTracker", () => {
  it("takes a tracker as a receipt shows it", () => {
    const tracker = "8F093D52 2caf108d f6b10649 3e01acd9\n3d2155ba 8debec35 d56a688c e272c476";
    assert.equal(parseTracker(tracker),
      "8f093d522caf108df6b106493e01acd93d2155ba8debec35d56a688ce272c476");
  });

  it("refuses what is not one, with the reference verifier's messages", () => {
    assert.throws(() => parseTracker("xyz"), /only the digits 0-9 and the letters a-f/);
    assert.throws(() => parseTracker("ab"), /has 64 characters; this has 2/);
  });
});

describe("checkAuditedBallot agrees with crypto.check_audited_ballot", async () => {
  const audited = expectations.audited;
  const [paramsLine] = linesOf(audited.base).filter((line) => line.startsWith('"params":'));
  const params = await parseParams(JSON.parse(paramsLine.slice('"params":'.length, -1)));
  const text = expectations.documents[audited.document];
  const honest = JSON.parse(text);

  for (const testCase of audited.cases) {
    it(testCase.name, async () => {
      const document = structuredClone(honest);
      for (const [path, value] of testCase.patch) {
        let target = document;
        for (const key of path.slice(0, -1)) target = target[key];
        target[path.at(-1)] = value;
      }
      if (testCase.ok) {
        const opened = await checkAuditedBallot(params, document);
        assert.deepEqual(opened.chosenSlots, testCase.chosen_slots);
        assert.deepEqual(opened.choices.map(Number), audited.selections);
      } else {
        await assert.rejects(checkAuditedBallot(params, document), (error) => {
          assert.ok(error instanceof InvalidAudit);
          assert.equal(error.message, testCase.message);
          return true;
        });
      }
    });
  }

  it("reads the audited ballot's canonical text as the booth sends it", async () => {
    const opened = await checkAuditedBallot(params, text);
    assert.equal(opened.tracker, honest.tracker);
    await assert.rejects(checkAuditedBallot(params, text.slice(0, -1)), InvalidAudit);
  });
});
