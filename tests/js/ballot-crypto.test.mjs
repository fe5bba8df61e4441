// Tests of the browser ballot code under Node: known-answer vectors shared with
// pytest, arithmetic helpers, strict parsing and the booth worker protocol.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import {
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

const oneOfThree = vectors.find(([name]) => name.startsWith("ballot-k3-"))[1];

function hexToBytes(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

describe("known-answer vectors", () => {
  it("finds the vector files", () => assert.ok(vectors.length >= 3));

  for (const [name, vector] of vectors) {
    it(`reproduces ${name} byte for byte`, async () => {
      const params = await parseParams(vector.params);
      assert.equal(params.fingerprint, vector.fingerprint);
      const rng = new DeterministicRandom(hexToBytes(vector.seed));
      const ballot = await encryptBallot(params, vector.voter_context, vector.selections, { rng });
      assert.equal(ballotToJson(ballot), canonicalJson(vector.ballot));
      assert.equal(await ballotTracker(ballot), vector.tracker);
      const ciphertexts = ballot.ciphertexts.map((c) => BigInt("0x" + c));
      assert.equal(
        await statementDigest(params.fingerprint, vector.voter_context, ciphertexts),
        vector.statement,
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

  it("canonicalJson sorts keys like Python", () => {
    assert.equal(canonicalJson({ b: ["1"], a: { d: "x", c: 'q"\\' } }), '{"a":{"c":"q\\"\\\\","d":"x"},"b":["1"]}');
    assert.throws(() => canonicalJson({ a: 1 }), BallotCryptoError);
  });

  it("sha256Hex matches the known digest of abc", async () => {
    assert.equal(
      await sha256Hex("abc"),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});

describe("strict parsing", () => {
  it("accepts only canonical hex", () => {
    assert.equal(parseHex("ff", "x", 4), 255n);
    for (const bad of ["", "0ff", "FF", "0x1", "-1", " 1", 5, null, "fffff"]) {
      assert.throws(() => parseHex(bad, "x", 4), BallotCryptoError);
    }
  });

  it("refuses malformed parameters", async () => {
    const good = oneOfThree.params;
    const cases = [
      { ...good, format: "v0" },
      { ...good, n: "0" + good.n },
      { ...good, n: "10" },
      { ...good, candidates: [] },
      { ...good, candidates: ["a", "a"] },
      { ...good, election_id: "caf\u00e9" },
      { ...good, min_selections: "2", max_selections: "1" },
      { ...good, max_selections: "9" },
      null,
    ];
    for (const params of cases) await assert.rejects(parseParams(params), BallotCryptoError);
  });

  it("refuses invalid choices and voter contexts", async () => {
    const params = await parseParams(oneOfThree.params);
    for (const selections of [[1, 1, 0], [0, 0, 0], [2, 0, 0], [1, 0], [true, 0, 0], "100"]) {
      await assert.rejects(encryptBallot(params, "v", selections), BallotCryptoError);
    }
    await assert.rejects(precomputeBallot(params, ""), BallotCryptoError);
    await assert.rejects(precomputeBallot(params, "x".repeat(201)), BallotCryptoError);
  });

  it("uses a precomputation only once", async () => {
    const params = await parseParams(oneOfThree.params);
    const pre = await precomputeBallot(params, "v");
    await finishBallot(pre, [1, 0, 0]);
    await assert.rejects(finishBallot(pre, [0, 1, 0]), /only once/);
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
    assert.equal(reply.json, canonicalJson(reply.ballot));
    assert.equal(reply.tracker, await sha256Hex(reply.json));
    assert.ok(reply.timings.finishMs >= 0 && reply.timings.precomputeMs >= 0);
    await handle({ type: "encrypt", selections: [0, 0, 1] });
    assert.equal(messages.at(-1).type, "error");
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
    await handle(null);
    assert.equal(messages.length, 6);
    assert.ok(messages.every((m) => m.type === "error" && typeof m.message === "string"));
  });
});
