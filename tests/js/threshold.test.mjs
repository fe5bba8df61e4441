// Threshold decryption in the browser module, pinned to Python by the vectors in
// tests/crypto/threshold_vectors/: the same randomness deals the same key and
// shares, and gives the same partial decryptions and proofs.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { DeterministicRandom } from "../../elections/static/elections/js/ballot-crypto.mjs";
import {
  combine,
  deal,
  generateSafePrime,
  isSafePrime,
  lagrangeCoefficient,
  partialDecrypt,
  verifyPartial,
} from "../../elections/static/elections/js/threshold.mjs";

const vectorDir = fileURLToPath(new URL("../crypto/threshold_vectors/", import.meta.url));
const vectors = readdirSync(vectorDir)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => [name, JSON.parse(readFileSync(vectorDir + name, "utf8"))]);

const big = (hex) => BigInt("0x" + hex);

function randbitsFrom(seed) {
  const rng = new DeterministicRandom(new TextEncoder().encode(seed));
  return (bits) => rng.randbelow(1n << BigInt(bits));
}

function keyOf(vector) {
  return {
    n: big(vector.key.n),
    threshold: vector.threshold,
    trustees: vector.trustees,
    v: big(vector.key.v),
    verificationKeys: vector.key.verification_keys.map(big),
  };
}

describe("threshold known answers", () => {
  it("finds the vector files", () => assert.ok(vectors.length >= 2));

  for (const [name, vector] of vectors) {
    it(`deals ${name} exactly as Python does`, async () => {
      const { key, shares } = await deal(vector.bits, vector.threshold, vector.trustees, {
        randbits: randbitsFrom(vector.seed),
      });
      assert.deepEqual(key, keyOf(vector));
      assert.deepEqual(
        shares.map((share) => share.share),
        vector.shares.map(big),
      );
    });

    it(`decrypts ${name} with the same partials and proofs`, async () => {
      const key = keyOf(vector);
      const ciphertext = big(vector.ciphertext);
      const partials = [];
      for (const expected of vector.partials) {
        const index = Number(big(expected.trustee));
        const share = { index, share: big(vector.shares[index - 1]) };
        const partial = await partialDecrypt(key, share, ciphertext, vector.context, {
          randbits: randbitsFrom(expected.seed),
        });
        assert.equal(partial.value, big(expected.value));
        assert.equal(partial.challenge, big(expected.challenge));
        assert.equal(partial.response, big(expected.response));
        await verifyPartial(key, ciphertext, partial, vector.context);
        partials.push(partial);
      }
      assert.equal(combine(key, partials), big(vector.plaintext));
    });

    it(`refuses a tampered partial of ${name} and names the trustee`, async () => {
      const key = keyOf(vector);
      const ciphertext = big(vector.ciphertext);
      const expected = vector.partials[0];
      const partial = {
        index: Number(big(expected.trustee)),
        value: big(expected.value),
        challenge: big(expected.challenge),
        response: big(expected.response) + 1n,
      };
      await assert.rejects(
        verifyPartial(key, ciphertext, partial, vector.context),
        /trustee \d+: the proof of correct partial decryption does not hold/,
      );
      await assert.rejects(
        verifyPartial(key, ciphertext, { ...partial, response: partial.response - 1n }, "other"),
        /the proof of correct partial decryption does not hold/,
      );
      await assert.rejects(
        verifyPartial(key, ciphertext, { ...partial, index: key.trustees + 1 }, vector.context),
        /no such trustee/,
      );
    });
  }
});

describe("threshold arithmetic", () => {
  it("finds safe primes", async () => {
    const p = await generateSafePrime(64, { randbits: randbitsFrom("safe-64") });
    assert.equal(p.toString(2).length, 64);
    assert.ok(isSafePrime(p));
    assert.ok(isSafePrime(23n) && !isSafePrime(29n));
  });

  it("makes integer Lagrange coefficients that interpolate", () => {
    const delta = 120n;
    for (const chosen of [[1, 2, 3], [1, 3, 5], [2, 4, 5]]) {
      const total = chosen.reduce(
        (sum, j) => sum + lagrangeCoefficient(chosen, j, delta) * BigInt(1 + 2 * j + 3 * j * j),
        0n,
      );
      assert.equal(total, delta);
    }
  });

  it("needs K partials", async () => {
    const [, vector] = vectors.find(([name]) => name.includes("3-of-5"));
    const key = keyOf(vector);
    const partials = vector.partials.slice(0, 2).map((p) => ({
      index: Number(big(p.trustee)),
      value: big(p.value),
    }));
    assert.throws(() => combine(key, partials), /2 of the 3 partial decryptions needed/);
  });
});
