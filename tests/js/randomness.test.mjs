// The browser ballot code takes every random byte from crypto.getRandomValues
// and none from Math.random: a ballot is a function of the bytes that call
// gives it, and only of those.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import {
  ballotToJson,
  encryptBallot,
  parseParams,
} from "../../elections/static/elections/js/ballot-crypto.mjs";

const modulePath = fileURLToPath(
  new URL("../../elections/static/elections/js/ballot-crypto.mjs", import.meta.url),
);
const vectorDir = fileURLToPath(new URL("../crypto/vectors/", import.meta.url));
const oneOfThree = JSON.parse(
  readFileSync(
    vectorDir + readdirSync(vectorDir).find((name) => name.startsWith("ballot-k3-")),
    "utf8",
  ),
);

const realGetRandomValues = globalThis.crypto.getRandomValues;
const realMathRandom = Math.random;
after(() => {
  globalThis.crypto.getRandomValues = realGetRandomValues;
  Math.random = realMathRandom;
});

// A deterministic filler: a byte counter started at ``start``, counting its calls.
function filler(start) {
  let next = start;
  const state = { calls: 0 };
  state.fill = (array) => {
    state.calls += 1;
    for (let i = 0; i < array.length; i += 1) {
      array[i] = next & 0xff;
      next = (next * 1103515245 + 12345) >>> 0;
    }
    return array;
  };
  return state;
}

async function ballotWith(source) {
  const params = await parseParams(oneOfThree.params);
  globalThis.crypto.getRandomValues = source.fill;
  try {
    return ballotToJson(await encryptBallot(params, oneOfThree.voter_context, [0, 1, 0]));
  } finally {
    globalThis.crypto.getRandomValues = realGetRandomValues;
  }
}

describe("randomness", () => {
  it("comes from crypto.getRandomValues: same bytes, same ballot", async () => {
    const first = filler(7);
    const second = filler(7);
    const a = await ballotWith(first);
    const b = await ballotWith(second);
    assert.ok(first.calls > 0);
    assert.equal(first.calls, second.calls);
    assert.equal(a, b);
  });

  it("changes every ciphertext and proof when the bytes change", async () => {
    const a = JSON.parse(await ballotWith(filler(7)));
    const b = JSON.parse(await ballotWith(filler(8)));
    a.ciphertexts.forEach((c, i) => assert.notEqual(c, b.ciphertexts[i]));
    a.selection_proofs.forEach((proof, i) => {
      assert.notDeepEqual(proof.commitments, b.selection_proofs[i].commitments);
      assert.notDeepEqual(proof.responses, b.selection_proofs[i].responses);
    });
    assert.notDeepEqual(a.count_proof, b.count_proof);
  });

  it("never touches Math.random", async () => {
    Math.random = () => {
      throw new Error("Math.random called");
    };
    try {
      const params = await parseParams(oneOfThree.params);
      const ballot = await encryptBallot(params, oneOfThree.voter_context, [1, 0, 0]);
      assert.equal(ballot.ciphertexts.length, 3);
    } finally {
      Math.random = realMathRandom;
    }
    assert.ok(!readFileSync(modulePath, "utf8").includes("Math.random"));
  });
});
