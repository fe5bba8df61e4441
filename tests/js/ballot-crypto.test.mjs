// Tests of the browser ballot code under Node: known-answer vectors shared with
// pytest (formats v1 and v2), arithmetic helpers, canonical JSON, strict
// parsing of both parameter formats, choices and the booth worker protocol.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import {
  BALLOT_FORMAT,
  BALLOT_FORMAT_V1,
  BallotCryptoError,
  DeterministicRandom,
  ballotToJson,
  ballotTracker,
  canonicalJson,
  createBoothHandler,
  encryptBallot,
  finishBallot,
  modInverse,
  modPow,
  paramsToJson,
  parseHex,
  parseParams,
  precomputeBallot,
  sha256Hex,
  statementDigest,
} from "../../elections/static/elections/js/ballot-crypto.mjs";

const vectorDir = fileURLToPath(new URL("../crypto/vectors/", import.meta.url));
const vectors = readdirSync(vectorDir)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => [name, JSON.parse(readFileSync(vectorDir + name, "utf8"))]);
const vector = (prefix) => vectors.find(([name]) => name.startsWith(prefix))[1];

const oneOfThree = vector("ballot-k3-");
// Chair (4 options, exactly 1), a motion (2 options, 1, or blank) and a
// committee (3 options, 1 or 2, or blank): 4 + 3 + 4 = 11 slots.
const assembly = vector("ballot-v2-three-questions-blank-");

function hexToBytes(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

// An assert.rejects validator: a BallotCryptoError whose message matches.
function refusal(message) {
  return (error) => {
    assert.ok(error instanceof BallotCryptoError, String(error));
    assert.match(error.message, message);
    return true;
  };
}

function ballotCiphertexts(ballot) {
  const parts = ballot.format === BALLOT_FORMAT ? ballot.questions : [ballot];
  return parts.flatMap((part) => part.ciphertexts.map((c) => BigInt("0x" + c)));
}

describe("known-answer vectors", () => {
  it("finds the v1 and v2 vector files", () => {
    assert.ok(vectors.filter(([name]) => /^ballot-k\d/.test(name)).length >= 3);
    assert.ok(vectors.filter(([name]) => name.startsWith("ballot-v2-")).length >= 4);
  });

  for (const [name, known] of vectors) {
    it(`reproduces ${name} byte for byte`, async () => {
      const params = await parseParams(known.params);
      assert.equal(paramsToJson(params), known.params_json);
      assert.equal(canonicalJson(known.params), known.params_json);
      assert.equal(params.fingerprint, known.fingerprint);
      assert.equal(params.fingerprint, await sha256Hex(known.params_json));
      const rng = new DeterministicRandom(hexToBytes(known.seed));
      const ballot = await encryptBallot(params, known.voter_context, known.selections, { rng });
      assert.equal(ballotToJson(ballot), known.ballot_json);
      assert.equal(await ballotTracker(ballot), known.tracker);
      assert.equal(
        await statementDigest(
          params.fingerprint,
          known.voter_context,
          ballotCiphertexts(ballot),
          params.version,
        ),
        known.statement,
      );
    });
  }
});

describe("arithmetic", () => {
  const naive = (base, exponent, modulus) => {
    let result = 1n;
    let b = base % modulus;
    for (let e = exponent; e > 0n; e >>= 1n) {
      if (e & 1n) result = (result * b) % modulus;
      b = (b * b) % modulus;
    }
    return result;
  };

  it("modPow agrees with square-and-multiply", () => {
    const modulus = (1n << 521n) - 1n;
    let x = 0x1234567890abcdefn;
    for (let i = 0; i < 30; i++) {
      x = (x * 0x5deece66dn + 11n) % modulus;
      const exponent = (x * x) >> BigInt(i * 17);
      assert.equal(modPow(x, exponent, modulus), naive(x, exponent, modulus));
    }
    assert.equal(modPow(5n, 0n, 7n), 1n);
    assert.equal(modPow(5n, 3n, 1n), 0n);
    assert.equal(modPow(-2n, 3n, 7n), 6n);
    assert.equal(modPow(3n, -1n, 7n), 5n);
  });

  it("modInverse inverts and refuses non-units", () => {
    assert.equal((modInverse(17n, 3120n) * 17n) % 3120n, 1n);
    assert.throws(() => modInverse(6n, 9n), BallotCryptoError);
  });

  it("sha256Hex matches the known digest of abc", async () => {
    assert.equal(
      await sha256Hex("abc"),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("statementDigest knows only formats 1 and 2", async () => {
    await assert.rejects(statementDigest("f", "v", [1n], 3), BallotCryptoError);
    await assert.rejects(statementDigest("f", "v", [1n]), BallotCryptoError);
  });
});

describe("canonical JSON", () => {
  it("sorts keys like Python", () => {
    assert.equal(
      canonicalJson({ b: ["1"], a: { d: "x", c: 'q"\\' } }),
      '{"a":{"c":"q\\"\\\\","d":"x"},"b":["1"]}',
    );
    assert.throws(() => canonicalJson({ a: 1 }), BallotCryptoError);
    assert.throws(() => canonicalJson({ a: null }), BallotCryptoError);
  });

  it("escapes like json.dumps(ensure_ascii=True), keys in code point order", () => {
    // Python: json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    const value = { "\u{10000}": "a", "\uffff": "b", k: 'é\u{1f5f3}\x7f\n"\\/\x01\u2028' };
    assert.equal(
      canonicalJson(value),
      '{"k":"\\u00e9\\ud83d\\uddf3\\u007f\\n\\"\\\\/\\u0001\\u2028",' +
        '"\\uffff":"b","\\ud800\\udc00":"a"}',
    );
  });
});

// A v2 parameters document with `questions` questions of `options` options
// each (ids unique in the election), built on the assembly vector's key.
function manyQuestions(questions, options, blank = false) {
  let number = 0;
  return {
    ...assembly.params,
    questions: Array.from({ length: questions }, (_, q) => ({
      title: `Question ${q + 1}`,
      description: "",
      min_selections: "1",
      max_selections: "1",
      blank: blank ? "1" : "0",
      options: Array.from({ length: options }, (_, i) => ({
        id: `o-${(number += 1)}`,
        name: `Option ${i + 1}`,
        affiliation: "",
        position: (i + 1).toString(16),
      })),
    })),
  };
}

// A copy of the assembly parameters with `change` applied to it.
function assemblyWith(change) {
  const document = structuredClone(assembly.params);
  change(document);
  return document;
}

const setTitle = (value) => assemblyWith((d) => (d.title = value));
const setQuestion = (field, value) => assemblyWith((d) => (d.questions[0][field] = value));
const setOption = (field, value) =>
  assemblyWith((d) => (d.questions[0].options[0][field] = value));

describe("strict parsing", () => {
  it("accepts only canonical hex", () => {
    assert.equal(parseHex("ff", "x", 4), 255n);
    for (const bad of ["", "0ff", "FF", "0x1", "-1", " 1", 5, null, "fffff"]) {
      assert.throws(() => parseHex(bad, "x", 4), BallotCryptoError);
    }
  });

  it("refuses malformed v1 parameters", async () => {
    const good = oneOfThree.params;
    const cases = [
      { ...good, format: "v0" },
      { ...good, format: ["evoting/election-params/v1"] },
      { ...good, n: "0" + good.n },
      { ...good, n: "10" },
      { ...good, candidates: [] },
      { ...good, candidates: ["a", "a"] },
      { ...good, candidates: ["caf\u00e9"] },
      { ...good, candidates: Array.from({ length: 257 }, (_, i) => `c${i}`) },
      { ...good, election_id: "caf\u00e9" },
      { ...good, min_selections: "2", max_selections: "1" },
      { ...good, max_selections: "9" },
      { ...good, title: "A v1 election has no title" },
      { ...good, voter_id: "17" },
      { ...good, format: "evoting/election-params/v2" },
      Object.fromEntries(Object.entries(good).filter(([key]) => key !== "max_selections")),
      [],
      null,
    ];
    for (const params of cases) await assert.rejects(parseParams(params), BallotCryptoError);
  });

  it("reads v1 parameters as one question without blank vote or labels", async () => {
    const params = await parseParams(oneOfThree.params);
    assert.equal(params.version, 1);
    assert.equal(params.title, "");
    assert.deepEqual(params.offsets, [0]);
    assert.equal(params.slotCount, 3);
    const [question] = params.questions;
    assert.deepEqual(question.options.map((option) => option.id), ["alice", "bob", "carol"]);
    assert.equal(question.blank, false);
    assert.deepEqual(question.countValues, [1n]);
  });

  it("reads v2 questions, slots and count values", async () => {
    const params = await parseParams(assembly.params);
    assert.equal(params.version, 2);
    assert.equal(params.title, "General assembly");
    assert.deepEqual(params.offsets, [0, 4, 7]);
    assert.equal(params.slotCount, 11);
    assert.deepEqual(params.questions.map((q) => q.width), [4, 3, 4]);
    assert.deepEqual(params.questions.map((q) => q.countValues), [[1n], [1n, 3n], [1n, 2n, 4n]]);
    assert.throws(() => {
      params.title = "Another title";
    }, TypeError);
  });

  it("keeps labels byte for byte, non-ASCII escaped in the fingerprint's text", async () => {
    const known = vector("ballot-v2-one-question-1024");
    const params = await parseParams(known.params);
    assert.equal(params.title, "Élection du comité 2027");
    assert.equal(params.questions[0].description, "Choose one.\nThe term is two years.");
    assert.equal(params.questions[0].options[2].affiliation, "\u{1f5f3} Indépendante");
    assert.ok(paramsToJson(params).includes('"title":"\\u00c9lection du comit\\u00e9 2027"'));
    assert.ok(/^[\x20-\x7e]*$/.test(paramsToJson(params)));
  });

  it("refuses labels that are not in NFC", async () => {
    for (const document of [
      setTitle("Election du comite\u0301"),
      setQuestion("title", "A\u030a"),
      setOption("name", "\u212b"), // the Angstrom sign, whose NFC is U+00C5
      setOption("affiliation", "e\u0308"),
      setQuestion("description", "Cafe\u0301"),
    ]) {
      await assert.rejects(parseParams(document), refusal(/normalisation form NFC/));
    }
    await parseParams(setTitle("Comit\u00e9"));
  });

  it("refuses control characters, except line feeds in a description", async () => {
    for (const document of [
      setTitle("Board\telection"),
      setQuestion("title", "Chair\n"),
      setQuestion("description", "Choose one.\r\nThe term is two years."),
      setOption("name", "Ada\x7f"),
      setOption("affiliation", "\x85"),
      setOption("name", "Ada\u0000"),
    ]) {
      await assert.rejects(parseParams(document), refusal(/control characters/));
    }
    await parseParams(setQuestion("description", "Choose one.\nThe term is two years."));
  });

  it("refuses lone surrogates but not surrogate pairs", async () => {
    for (const document of [
      setTitle("Board \ud83d election"),
      setOption("name", "\udc00Ada"),
      setOption("affiliation", "\uddf3"),
      setQuestion("description", "x\ud800"),
    ]) {
      await assert.rejects(parseParams(document), refusal(/lone surrogates/));
    }
    await parseParams(setOption("affiliation", "\ud83d\uddf3 Independent"));
  });

  it("counts label lengths in code points and refuses blank titles and names", async () => {
    await parseParams(setOption("name", "\u{1f5f3}".repeat(120)));
    const tooLong = setOption("name", "\u{1f5f3}".repeat(121));
    await assert.rejects(parseParams(tooLong), refusal(/at most 120/));
    await assert.rejects(parseParams(setTitle("x".repeat(201))), refusal(/at most 200/));
    await parseParams(setQuestion("description", "x".repeat(2000)));
    const longDescription = setQuestion("description", "x".repeat(2001));
    await assert.rejects(parseParams(longDescription), refusal(/at most 2000/));
    for (const document of [setTitle(""), setTitle(" \u3000"), setOption("name", "\u00a0")]) {
      await assert.rejects(parseParams(document), refusal(/must not be empty/));
    }
    // Python's str.strip() does not strip U+FEFF, so such a title is not blank.
    await parseParams(setTitle("\ufeff"));
    await parseParams(setOption("affiliation", ""));
    await parseParams(setQuestion("description", ""));
  });

  it("refuses a blank key other than \"0\" or \"1\"", async () => {
    for (const blank of ["2", "", "01", "true", 1, 0, true, null, undefined]) {
      await assert.rejects(parseParams(setQuestion("blank", blank)), BallotCryptoError);
    }
    const params = await parseParams(setQuestion("blank", "1"));
    assert.deepEqual(params.questions[0].countValues, [1n, 5n]);
  });

  it("refuses positions that do not count from 1 in ballot order", async () => {
    for (const position of ["0", "2", "01", "1 ", "A", 1, ""]) {
      await assert.rejects(parseParams(setOption("position", position)), BallotCryptoError);
    }
    const swapped = assemblyWith((d) => {
      const [first, second] = d.questions[0].options;
      d.questions[0].options[0] = second;
      d.questions[0].options[1] = first;
    });
    await assert.rejects(parseParams(swapped), refusal(/positions must count from 1/));
  });

  it("refuses option ids repeated anywhere in the election, or not printable ASCII", async () => {
    const repeated = assemblyWith((d) => {
      d.questions[2].options[1].id = d.questions[0].options[0].id;
    });
    await assert.rejects(parseParams(repeated), refusal(/unique in the election/));
    for (const id of ["", "caf\u00e9", "x".repeat(129), "a\tb", 7]) {
      await assert.rejects(parseParams(setOption("id", id)), BallotCryptoError);
    }
  });

  it("refuses fields missing, unexpected or of the wrong type", async () => {
    for (const document of [
      assemblyWith((d) => (d.voter_id = "17")),
      assemblyWith((d) => delete d.title),
      assemblyWith((d) => (d.questions[1].tally = "0")),
      assemblyWith((d) => delete d.questions[1].description),
      assemblyWith((d) => (d.questions[0].options[0].note = "")),
      assemblyWith((d) => delete d.questions[0].options[0].affiliation),
      assemblyWith((d) => (d.questions = {})),
      assemblyWith((d) => (d.questions[0].options = "o-1")),
      assemblyWith((d) => (d.questions[0] = [])),
      assemblyWith((d) => (d.format = "evoting/election-params/v1")),
      assemblyWith((d) => (d.title = 2027)),
      assemblyWith((d) => (d.questions[0].max_selections = 1)),
    ]) {
      await assert.rejects(parseParams(document), BallotCryptoError);
    }
  });

  it("refuses selection bounds outside 0 <= min <= max <= options, max >= 1", async () => {
    for (const [min, max] of [["2", "1"], ["0", "5"], ["0", "0"], ["01", "1"], ["10000", "1"]]) {
      const document = assemblyWith((d) => {
        d.questions[0].min_selections = min;
        d.questions[0].max_selections = max;
      });
      await assert.rejects(parseParams(document), BallotCryptoError);
    }
  });

  it("refuses too many questions, options or slots", async () => {
    await parseParams(manyQuestions(20, 1));
    await assert.rejects(parseParams(manyQuestions(21, 1)), refusal(/1 to 20/));
    await assert.rejects(parseParams(manyQuestions(0, 1)), refusal(/1 to 20/));
    await parseParams(manyQuestions(1, 64));
    await assert.rejects(parseParams(manyQuestions(1, 65)), refusal(/1 to 64/));
    await assert.rejects(parseParams(manyQuestions(1, 0)), refusal(/1 to 64/));
    await parseParams(manyQuestions(4, 64)); // 256 slots
    const oneBlankMore = manyQuestions(4, 64);
    oneBlankMore.questions[3].blank = "1";
    await assert.rejects(parseParams(oneBlankMore), refusal(/^257 options and blank votes/));
    await parseParams(manyQuestions(4, 63, true)); // 256 slots with blank votes
    await assert.rejects(parseParams(manyQuestions(5, 52)), refusal(/at most 256/));
  });
});

describe("choices", () => {
  const chair = [0, 1, 0, 0];

  it("refuses invalid v1 choices and voter contexts", async () => {
    const params = await parseParams(oneOfThree.params);
    for (const selections of [[1, 1, 0], [0, 0, 0], [2, 0, 0], [1, 0], [true, 0, 0], "100"]) {
      await assert.rejects(encryptBallot(params, "v", selections), BallotCryptoError);
    }
    await assert.rejects(precomputeBallot(params, ""), BallotCryptoError);
    await assert.rejects(precomputeBallot(params, "x".repeat(201)), BallotCryptoError);
  });

  it("refuses a blank vote with another choice, naming the question", async () => {
    const params = await parseParams(assembly.params);
    const pre = await precomputeBallot(params, "v");
    const motionBlankAndYes = [...chair, 1, 0, 1, 1, 0, 0, 0];
    await assert.rejects(
      finishBallot(pre, motionBlankAndYes),
      refusal(/^question 2: a blank vote selects nothing else$/),
    );
    const committeeBlankAndTwo = [...chair, 1, 0, 0, 1, 1, 0, 1];
    await assert.rejects(finishBallot(pre, committeeBlankAndTwo), refusal(/^question 3: a blank/));
    // A refused choice leaves the precomputation unused.
    const ballot = await finishBallot(pre, [...chair, 0, 0, 1, 0, 0, 0, 1]);
    assert.equal(ballot.format, BALLOT_FORMAT);
  });

  it("refuses counts out of each question's bounds, naming the question", async () => {
    const params = await parseParams(assembly.params);
    const cases = [
      [[0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0], /^question 1: select between 1 and 1 options$/],
      [[1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0], /^question 1: select between 1 and 1 options$/],
      [[...chair, 0, 0, 0, 1, 0, 0, 0], /^question 2: select between 1 and 1 options$/],
      [[...chair, 1, 1, 0, 1, 0, 0, 0], /^question 2: select between 1 and 1 options$/],
      [[...chair, 1, 0, 0, 0, 0, 0, 0], /^question 3: select between 1 and 2 options$/],
      [[...chair, 1, 0, 0, 1, 1, 1, 0], /^question 3: select between 1 and 2 options$/],
    ];
    for (const [selections, message] of cases) {
      await assert.rejects(encryptBallot(params, "v", selections), refusal(message));
    }
  });

  it("refuses a wrong length or values other than the numbers 0 and 1", async () => {
    const params = await parseParams(assembly.params);
    const valid = [...chair, 1, 0, 0, 1, 0, 0, 0];
    const holed = [...valid];
    delete holed[5];
    for (const selections of [
      valid.slice(1),
      [...valid, 0],
      [...chair, 1, 0, 0, 1, 0, 0],
      valid.map((s) => (s === 1 ? true : s)),
      valid.map((s) => String(s)),
      valid.map((s) => BigInt(s)),
      [...chair, 1, 0, 0, 2, 0, 0, 0],
      holed,
      null,
    ]) {
      await assert.rejects(encryptBallot(params, "v", selections), BallotCryptoError);
    }
  });

  it("writes one part per question, with a count branch per allowed value", async () => {
    const params = await parseParams(assembly.params);
    const ballot = await encryptBallot(params, "v", [...chair, 0, 0, 1, 0, 1, 1, 0]);
    assert.deepEqual(Object.keys(ballot).sort(), ["format", "questions"]);
    assert.deepEqual(ballot.questions.map((q) => q.ciphertexts.length), [4, 3, 4]);
    assert.deepEqual(ballot.questions.map((q) => q.selection_proofs.length), [4, 3, 4]);
    assert.deepEqual(ballot.questions.map((q) => q.count_proof.challenges.length), [1, 2, 3]);
    const v1 = await encryptBallot(await parseParams(oneOfThree.params), "v", [1, 0, 0]);
    assert.equal(v1.format, BALLOT_FORMAT_V1);
    assert.deepEqual(Object.keys(v1).sort(),
      ["ciphertexts", "count_proof", "format", "selection_proofs"]);
  });

  it("accepts the lower bound 0 where a question allows it", async () => {
    const params = await parseParams(vector("ballot-v2-three-questions-1024").params);
    const ballot = await encryptBallot(params, "v", [1, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert.equal(ballot.questions[2].count_proof.challenges.length, 3);
  });

  it("uses a precomputation only once", async () => {
    const params = await parseParams(oneOfThree.params);
    const pre = await precomputeBallot(params, "v");
    await finishBallot(pre, [1, 0, 0]);
    await assert.rejects(finishBallot(pre, [0, 1, 0]), refusal(/only once/));
  });

  it("works only on parameters from parseParams", async () => {
    const params = await parseParams(assembly.params);
    const copy = { ...params, title: "Another title" };
    await assert.rejects(precomputeBallot(copy, "v"), refusal(/from parseParams/));
    const valid = [...chair, 1, 0, 0, 1, 0, 0, 0];
    await assert.rejects(encryptBallot(copy, "v", valid), BallotCryptoError);
    assert.throws(() => paramsToJson(copy), BallotCryptoError);
    await assert.rejects(finishBallot({ params, used: false }, [1]), refusal(/precomputation/));
  });
});

describe("booth worker protocol", () => {
  const session = () => {
    const messages = [];
    return { messages, handle: createBoothHandler((message) => messages.push(message)) };
  };
  const init = { type: "init", params: oneOfThree.params, voter_context: "voter-1" };

  it("precomputes, reports progress, then encrypts on demand", async () => {
    const { messages, handle } = session();
    await handle({ ...init, fingerprint: oneOfThree.fingerprint });
    const progress = messages.filter((m) => m.type === "progress");
    assert.deepEqual(progress.at(-1), { type: "progress", done: 4, total: 4 });
    assert.equal(messages.at(-1).type, "ready");
    await handle({ type: "encrypt", selections: [0, 0, 1] });
    const reply = messages.at(-1);
    assert.equal(reply.type, "ballot");
    assert.equal(reply.ballot.format, BALLOT_FORMAT_V1);
    assert.equal(reply.json, canonicalJson(reply.ballot));
    assert.equal(reply.tracker, await sha256Hex(reply.json));
    assert.ok(reply.timings.finishMs >= 0 && reply.timings.precomputeMs >= 0);
    await handle({ type: "encrypt", selections: [0, 0, 1] });
    assert.equal(messages.at(-1).type, "error");
  });

  it("encrypts a v2 choice given per slot", async () => {
    const { messages, handle } = session();
    await handle({ type: "init", params: assembly.params, voter_context: "voter-2",
      fingerprint: assembly.fingerprint });
    // 11 slots and 3 count proofs.
    assert.deepEqual(messages.filter((m) => m.type === "progress").at(-1),
      { type: "progress", done: 14, total: 14 });
    await handle({ type: "encrypt", selections: [0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1] });
    const reply = messages.at(-1);
    assert.equal(reply.type, "ballot");
    assert.equal(reply.ballot.format, BALLOT_FORMAT);
    assert.equal(reply.json, ballotToJson(reply.ballot));
    assert.equal(reply.tracker, await ballotTracker(reply.ballot));
  });

  it("reports a refused choice with its question", async () => {
    const { messages, handle } = session();
    await handle({ type: "init", params: assembly.params, voter_context: "voter-3" });
    await handle({ type: "encrypt", selections: [0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1] });
    assert.deepEqual(messages.at(-1),
      { type: "error", message: "question 2: a blank vote selects nothing else" });
  });

  it("waits for a precomputation still running", async () => {
    const { messages, handle } = session();
    const running = handle(init);
    await handle({ type: "encrypt", selections: [1, 0, 0] });
    await running;
    assert.ok(messages.some((m) => m.type === "ballot"));
  });

  it("reports errors as messages", async () => {
    const { messages, handle } = session();
    await handle({ type: "encrypt", selections: [1, 0, 0] });
    await handle({ type: "bogus" });
    await handle({ ...init, fingerprint: "0".repeat(64) });
    await handle({ type: "encrypt", selections: [1, 0, 0] });
    await handle({ ...init, params: { ...init.params, n: "zz" } });
    await handle({ ...init, params: assemblyWith((d) => (d.title = "Renamed")),
      fingerprint: assembly.fingerprint });
    await handle(null);
    assert.equal(messages.length, 7);
    assert.ok(messages.every((m) => m.type === "error" && typeof m.message === "string"));
  });
});
