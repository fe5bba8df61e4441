// The trustees' files in the browser modules, pinned to the golden files that
// Python wrote (tests/trustee/golden/): the same bytes out, the same refusals,
// the same messages. tests/trustee/test_browser_files.py checks the other way.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { canonicalJson } from "../../elections/static/elections/js/election-params.mjs";
import { seal, unseal } from "../../elections/static/elections/js/sealing.mjs";
import { loadJson } from "../../elections/static/elections/js/strict-json.mjs";
import { combine, verifyPartial } from "../../elections/static/elections/js/threshold.mjs";
import {
  MAX_SHARE_BYTES,
  SEALED_SHARE_FORMAT,
  checkShare,
  checkTallyKey,
  dumpPartial,
  dumpPublicKey,
  dumpShare,
  loadPublicKey,
  loadShare,
  loadTally,
  makePublicKey,
  partiallyDecryptTally,
  randomBits,
  shareIsSealed,
  slotContext,
} from "../../elections/static/elections/js/trustee-files.mjs";
import { scrypt } from "../../elections/static/elections/vendor/noble-hashes/scrypt.js";

const goldenDir = fileURLToPath(new URL("../trustee/golden/", import.meta.url));
const golden = (name) => readFileSync(goldenDir + name, "utf8");
const PASSPHRASE_2 = "golden passphrase of trustee 2";
// Column sums of regenerate.py's CHOICES: the count of every slot.
const EXPECTED_COUNTS = [3n, 3n, 1n, 2n, 3n, 1n, 2n];
const big = (hex) => BigInt("0x" + hex);

function edited(text, changes) {
  return JSON.stringify({ ...JSON.parse(text), ...changes });
}

function partialFileOf(text) {
  const document = JSON.parse(text);
  const trustee = Number(big(document.trustee));
  return {
    electionId: document.election_id,
    paramsFingerprint: document.params_fingerprint,
    trustee,
    partials: document.partials.map((item) => ({
      index: trustee,
      value: big(item.value),
      challenge: big(item.challenge),
      response: big(item.response),
    })),
  };
}

async function refusal(promise) {
  try {
    await promise;
  } catch (error) {
    assert.equal(error.name, "BallotCryptoError", String(error));
    return error.message;
  }
  assert.fail("expected a refusal");
}

const publicKey = await loadPublicKey(golden("public.json"));
const tally = await loadTally(golden("tally.json"));
const shareOne = await loadShare(golden("trustee-1.json"), publicKey, null);

describe("public.json", () => {
  it("reads the golden file and writes it back byte for byte", async () => {
    assert.equal(publicKey.electionId, "trustee-golden-2027");
    assert.equal(publicKey.key.threshold, 3);
    assert.equal(publicKey.key.trustees, 5);
    assert.equal(publicKey.key.verificationKeys.length, 5);
    assert.equal(dumpPublicKey(publicKey), golden("public.json"));
  });

  it("computes Python's fingerprint for a dealt key", async () => {
    const made = await makePublicKey(publicKey.electionId, { ...publicKey.key });
    assert.equal(made.fingerprint, JSON.parse(golden("public.json")).fingerprint);
    assert.equal(dumpPublicKey(made), golden("public.json"));
    const other = await makePublicKey("another-election", publicKey.key);
    assert.notEqual(other.fingerprint, publicKey.fingerprint);
  });

  it("refuses tampered, malformed and oversized files, naming the check", async () => {
    const text = golden("public.json");
    const document = JSON.parse(text);
    const cases = [
      [edited(text, { threshold: "4" }),
        "the public key's fingerprint does not match its contents"],
      [edited(text, { fingerprint: "0".repeat(64) }),
        "the public key's fingerprint does not match its contents"],
      [edited(text, { fingerprint: "A".repeat(64) }),
        "fingerprint: expected 64 lowercase hex digits"],
      [edited(text, { threshold: "6" }), "need 1 <= threshold <= trustees <= 64"],
      [edited(text, { threshold: "03" }), "threshold: not a canonical lowercase hex integer"],
      [edited(text, { n: "c" + document.n.slice(1, -1) + "4" }), "the modulus must be odd"],
      [edited(text, { n: "ff" }), "the key has 8 bits; at least 512 are required"],
      [edited(text, { v: "0" }), "v: not an element of Z*_(n^2)"],
      [edited(text, { v: document.n }), "v: not invertible modulo n"],
      [edited(text, { verification_keys: document.verification_keys.slice(1) }),
        "verification_keys (one per trustee): expected 5 items, got 4"],
      [edited(text, { extra: "1" }), "public key: missing fields [], unexpected fields ['extra']"],
      [edited(text, { format: "evoting/trustee-public-key/v2" }),
        "not a trustee public key of a known format (expected evoting/trustee-public-key/v1)"],
      [edited(text, { election_id: "caf\u00e9" }),
        "election id: only printable ASCII characters are allowed"],
      [text.replace('"threshold":"3"', '"threshold":3'),
        "JSON numbers are not allowed: integers are hex strings"],
      [text.replace('{"election_id"', '{"n":"3","election_id"'), "duplicate key 'n'"],
      [text.slice(0, -1), "not valid JSON: JSONDecodeError"],
      ["[]", "not a trustee public key: expected a JSON object"],
      [" ".repeat(275027), "input is larger than 275026 bytes"],
      [new Uint8Array([0x7b, 0xff, 0x7d]), "not valid JSON: UnicodeDecodeError"],
    ];
    for (const [input, message] of cases) {
      assert.equal(await refusal(loadPublicKey(input)), message);
    }
  });

  it("takes UTF-8 bytes as well as text", async () => {
    const bytes = new TextEncoder().encode(golden("public.json"));
    assert.equal((await loadPublicKey(bytes)).fingerprint, publicKey.fingerprint);
  });

  it("refuses an unusable key to make a public key from", async () => {
    const { key } = publicKey;
    assert.match(await refusal(makePublicKey("e1", { ...key, n: 15n })), /at least 512/);
    assert.equal(
      await refusal(makePublicKey("e1", { ...key, threshold: 6 })),
      "need 1 <= K <= N <= 64",
    );
    assert.equal(
      await refusal(makePublicKey("e1", { ...key, verificationKeys: [key.v] })),
      "one verification key per trustee",
    );
    assert.equal(
      await refusal(makePublicKey("", key)),
      "election id: must have 1 to 128 characters",
    );
  });
});

describe("share files", () => {
  it("reads the plain golden share and writes it back byte for byte", async () => {
    assert.equal(shareOne.index, 1);
    checkShare(publicKey, shareOne);
    assert.equal(await dumpShare(publicKey, shareOne, null), golden("trustee-1.json"));
    assert.equal(shareIsSealed(golden("trustee-1.json")), false);
  });

  it("opens the share Python sealed, with its passphrase only", async () => {
    const text = golden("trustee-2.sealed.json");
    assert.equal(shareIsSealed(text), true);
    const progress = [];
    const share = await loadShare(text, publicKey, PASSPHRASE_2, {
      onProgress: (fraction) => progress.push(fraction),
    });
    assert.equal(share.index, 2);
    checkShare(publicKey, share);
    assert.ok(progress.length >= 10 && progress.length <= 101, `${progress.length} reports`);
    assert.equal(progress.at(-1), 1);
    assert.equal(
      await refusal(loadShare(text, publicKey, PASSPHRASE_2 + " ")),
      "wrong passphrase, or the share file was modified",
    );
    assert.equal(
      await refusal(loadShare(text, publicKey, null)),
      "this share is sealed: a passphrase is required",
    );
  });

  it("refuses a sealed share whose header was changed", async () => {
    const text = golden("trustee-2.sealed.json");
    const salt = JSON.parse(text).salt;
    const flipped = (salt[0] === "0" ? "1" : "0") + salt.slice(1);
    assert.equal(
      await refusal(loadShare(edited(text, { salt: flipped }), publicKey, PASSPHRASE_2)),
      "wrong passphrase, or the share file was modified",
    );
    const derived = [];
    const quick = { onProgress: () => derived.push(1) };
    const cases = [
      [{ kdf_log2_n: "15" }, "share file scrypt parameters are out of the accepted range"],
      [{ kdf_log2_n: "13", kdf_r: "10" },
        "share file scrypt parameters are out of the accepted range"],
      [{ kdf_log2_n: "d" }, "share file scrypt parameters are out of the accepted range"],
      [{ kdf_log2_n: "e", kdf_r: "11" },
        "share file scrypt parameters are out of the accepted range"],
      [{ kdf_log2_n: "e", kdf_p: "5" },
        "share file scrypt parameters are out of the accepted range"],
      [{ kdf_log2_n: "0b" }, "kdf_log2_n: not a canonical lowercase hex integer"],
      [{ kdf: "pbkdf2" }, "unsupported share file encryption"],
      [{ cipher: "aes-128-gcm" }, "unsupported share file encryption"],
      [{ salt: salt.slice(2) }, "share file salt has the wrong length"],
      [{ salt: salt.toUpperCase() }, "share file salt is not lowercase hex"],
      [{ nonce: "00" }, "share file nonce has the wrong length"],
      [{ ciphertext: "abc" }, "share file ciphertext has the wrong length"],
      [{ comment: "hi" }, "share file: missing fields [], unexpected fields ['comment']"],
    ];
    for (const [changes, message] of cases) {
      assert.equal(
        await refusal(loadShare(edited(text, changes), publicKey, PASSPHRASE_2, quick)),
        message,
      );
    }
    assert.equal(derived.length, 0, "a refused header must not cost a key derivation");
  });

  it("refuses a share of another election or key, or one that does not match", async () => {
    const text = golden("trustee-1.json");
    const other = await makePublicKey("another-election", publicKey.key);
    const fingerprint = JSON.parse(text).public_fingerprint;
    const cases = [
      [text, other,
        "this share belongs to election 'trustee-golden-2027', " +
          "the public key to 'another-election'"],
      [edited(text, { public_fingerprint: "f" + fingerprint.slice(1) }), publicKey,
        "this share was dealt with another public key (fingerprint)"],
      [edited(text, { index: "2" }), publicKey,
        "this share does not match trustee 2's verification key"],
      [edited(text, { index: "6" }), publicKey, "trustee 6 is not one of the key's 5"],
      [edited(text, { share: (shareOne.share + 1n).toString(16) }), publicKey,
        "this share does not match trustee 1's verification key"],
      [edited(text, { format: SEALED_SHARE_FORMAT }), publicKey,
        "this share is sealed: a passphrase is required"],
      [edited(text, { format: "evoting/trustee-share/v0" }), publicKey,
        "not a trustee share of a known format (expected evoting/trustee-share/v1)"],
      [edited(text, { index: undefined }), publicKey,
        "share: missing fields ['index'], unexpected fields []"],
      [" ".repeat(MAX_SHARE_BYTES + 1), publicKey, `input is larger than ${MAX_SHARE_BYTES} bytes`],
    ];
    for (const [input, key, message] of cases) {
      assert.equal(await refusal(loadShare(input, key, null)), message);
    }
    assert.equal(
      await refusal(loadShare(text, publicKey, "a passphrase")),
      "this share is not sealed, but a passphrase was given",
    );
  });

  it("seals a share that only its passphrase opens", async () => {
    const sealed = await dumpShare(publicKey, shareOne, "trustee one's long passphrase");
    assert.equal(shareIsSealed(sealed), true);
    assert.equal(JSON.parse(sealed).format, SEALED_SHARE_FORMAT);
    assert.ok(!sealed.includes(publicKey.fingerprint) && !sealed.includes("trustee-golden"));
    const opened = await loadShare(sealed, publicKey, "trustee one's long passphrase");
    assert.deepEqual(opened, shareOne);
  });

  it("refuses to write a share that does not match, or without a real passphrase", async () => {
    const wrong = { index: 2, share: shareOne.share };
    assert.equal(
      await refusal(dumpShare(publicKey, wrong, null)),
      "this share does not match trustee 2's verification key",
    );
    assert.equal(
      await refusal(dumpShare(publicKey, shareOne, "")),
      "the passphrase must be a non-empty string",
    );
    assert.equal(
      await refusal(dumpShare(publicKey, shareOne, undefined)),
      "the passphrase must be a non-empty string",
    );
    assert.match(
      await refusal(dumpShare({ ...publicKey }, shareOne, null)),
      /expected a public key from makePublicKey or loadPublicKey/,
    );
  });
});

describe("sealing", () => {
  const plain = new TextEncoder().encode('{"secret":"caf\\u00e9"}');
  const format = "evoting/test-sealed/v1";
  let sealing = null;
  const sealedTwice = () => {
    sealing ??= Promise.all([1, 2].map(() => seal(plain, "pass phrase", format)));
    return sealing;
  };

  it("writes Python's layout: canonical JSON, header fields, costs, sizes", async () => {
    const [text] = await sealedTwice();
    assert.match(text, /^[\x20-\x7e]+$/);
    const document = loadJson(text, 1 << 16);
    assert.equal(canonicalJson(document), text);
    assert.deepEqual(Object.keys(document), [
      "cipher", "ciphertext", "format", "kdf", "kdf_log2_n", "kdf_p", "kdf_r", "nonce", "salt",
    ]);
    assert.equal(document.cipher, "aes-256-gcm");
    assert.equal(document.format, format);
    assert.equal(document.kdf, "scrypt");
    assert.equal(document.kdf_log2_n, "11");
    assert.equal(document.kdf_r, "8");
    assert.equal(document.kdf_p, "1");
    assert.match(document.salt, /^[0-9a-f]{32}$/);
    assert.match(document.nonce, /^[0-9a-f]{24}$/);
    assert.match(document.ciphertext, /^[0-9a-f]+$/);
    assert.equal(document.ciphertext.length, 2 * (plain.length + 16));
  });

  it("draws a fresh salt and nonce each time, and opens both", async () => {
    const [first, second] = await sealedTwice();
    const [a, b] = [JSON.parse(first), JSON.parse(second)];
    assert.notEqual(a.salt, b.salt);
    assert.notEqual(a.nonce, b.nonce);
    assert.notEqual(a.ciphertext, b.ciphertext);
    assert.deepEqual(await unseal(a, "pass phrase", format), plain);
    assert.equal(
      await refusal(unseal(a, "pass phrase", "evoting/other/v1", { what: "key file" })),
      "key file: not of the expected format",
    );
  });

  it("refuses what cannot be sealed", async () => {
    assert.equal(await refusal(seal("text", "pass", format)), "only bytes can be sealed");
    assert.equal(
      await refusal(seal(plain, "\ud800", format)),
      "the passphrase must be valid Unicode (no lone surrogate)",
    );
    assert.equal(
      await refusal(seal(plain, "pass", "tab\there")),
      "sealed format: only printable ASCII characters are allowed",
    );
  });

  it("uses an scrypt that gives RFC 7914's answer", () => {
    const key = scrypt(new TextEncoder().encode("password"), new TextEncoder().encode("NaCl"), {
      N: 1024, r: 8, p: 16, dkLen: 64,
    });
    assert.equal(
      Buffer.from(key).toString("hex"),
      "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162" +
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
    );
  });
});

describe("tally.json", () => {
  it("reads the golden tally", () => {
    const document = JSON.parse(golden("tally.json"));
    assert.equal(tally.electionId, "trustee-golden-2027");
    assert.equal(tally.ballotCount, 6n);
    assert.equal(tally.closingHash, document.closing_hash);
    assert.equal(tally.params.slotCount, 7);
    assert.equal(tally.params.fingerprint, JSON.parse(golden("partial-1.json")).params_fingerprint);
    assert.deepEqual(tally.ciphertexts, document.ciphertexts.map(big));
    checkTallyKey(publicKey, tally);
  });

  it("refuses tampered totals, counts and parameters", async () => {
    const text = golden("tally.json");
    const document = JSON.parse(text);
    const cases = [
      [{ ciphertexts: document.ciphertexts.slice(1) },
        "ciphertexts (one per slot): expected 7 items, got 6"],
      [{ ciphertexts: ["0", ...document.ciphertexts.slice(1)] },
        "total of slot 0: not an element of Z*_(n^2)"],
      [{ ciphertexts: [...document.ciphertexts.slice(0, 6), document.params.n] },
        "total of slot 6: not invertible modulo n"],
      [{ election_id: "another-election" }, "the tally's election id is not its parameters'"],
      [{ ballot_count: "06" }, "ballot_count: not a canonical lowercase hex integer"],
      [{ ballot_count: "1".repeat(17) }, "ballot_count: hex string must have 1 to 16 digits"],
      [{ closing_hash: document.closing_hash.toUpperCase() },
        "closing_hash: expected 64 lowercase hex digits"],
      [{ format: "evoting/encrypted-tally/v2" },
        "not a encrypted tally of a known format (expected evoting/encrypted-tally/v1)"],
      [{ params: { ...document.params, n: "ff" } }, /^tally params: /],
      [{ params: "none" }, /^tally params: /],
    ];
    for (const [changes, message] of cases) {
      const refused = await refusal(loadTally(edited(text, changes)));
      if (message instanceof RegExp) assert.match(refused, message);
      else assert.equal(refused, message);
    }
  });

  it("refuses a tally under another key or of another election", async () => {
    const other = await makePublicKey("another-election", publicKey.key);
    assert.throws(
      () => checkTallyKey(other, tally),
      {
        message: "the tally is of election 'trustee-golden-2027', " +
          "the public key of 'another-election'",
      },
    );
    assert.throws(() => checkTallyKey(publicKey, { ...tally }), /expected a tally from loadTally/);
  });
});

describe("partial decryptions", () => {
  const goldenPartials = Object.fromEntries(
    [1, 3, 4].map((index) => [index, partialFileOf(golden(`partial-${index}.json`))]),
  );

  it("writes the golden partial files back byte for byte", () => {
    for (const index of [1, 3, 4]) {
      assert.equal(dumpPartial(goldenPartials[index]), golden(`partial-${index}.json`));
    }
  });

  it("decrypts the golden tally with proofs that hold and combine into the counts", async () => {
    const reports = [];
    const made = await partiallyDecryptTally(publicKey, shareOne, tally, {
      onProgress: (done, total) => reports.push([done, total]),
    });
    assert.deepEqual(reports, [1, 2, 3, 4, 5, 6, 7].map((done) => [done, 7]));
    assert.equal(made.trustee, 1);
    assert.equal(made.paramsFingerprint, tally.params.fingerprint);
    const reread = partialFileOf(dumpPartial(made));
    assert.deepEqual(reread, made);
    for (const [slot, partial] of reread.partials.entries()) {
      // c^(2 Delta s_1) does not depend on the proof's randomness: Python's value.
      assert.equal(partial.value, goldenPartials[1].partials[slot].value);
      assert.notEqual(partial.response, goldenPartials[1].partials[slot].response);
      const context = slotContext(tally.params, slot);
      await verifyPartial(publicKey.key, tally.ciphertexts[slot], partial, context);
    }
    const counts = (first) => tally.ciphertexts.map((_, slot) => {
      const files = [first, goldenPartials[3], goldenPartials[4]];
      return combine(publicKey.key, files.map((file) => file.partials[slot]));
    });
    assert.deepEqual(counts(reread), counts(goldenPartials[1]));
    assert.deepEqual(counts(reread), EXPECTED_COUNTS);
  });

  it("binds each proof to its slot", async () => {
    const partial = goldenPartials[1].partials[0];
    await verifyPartial(publicKey.key, tally.ciphertexts[0], partial, slotContext(tally.params, 0));
    await assert.rejects(
      verifyPartial(publicKey.key, tally.ciphertexts[0], partial, slotContext(tally.params, 1)),
      /trustee 1: the proof of correct partial decryption does not hold/,
    );
    assert.equal(slotContext(tally.params, 6), `${tally.params.fingerprint}/slot/6`);
    assert.throws(() => slotContext(tally.params, 7), /no such slot/);
  });

  it("refuses a share that is not this trustee's or a tally of another election", async () => {
    await assert.rejects(
      partiallyDecryptTally(publicKey, { index: 3, share: shareOne.share }, tally),
      { message: "this share does not match trustee 3's verification key" },
    );
    const other = await makePublicKey("another-election", publicKey.key);
    await assert.rejects(
      partiallyDecryptTally(other, shareOne, tally),
      /the tally is of election 'trustee-golden-2027'/,
    );
  });
});

describe("randomBits", () => {
  it("draws k bits from crypto.getRandomValues", () => {
    assert.equal(randomBits(0), 0n);
    const draws = Array.from({ length: 200 }, () => randomBits(9));
    assert.ok(draws.every((value) => value >= 0n && value < 512n));
    assert.ok(draws.some((value) => value >= 256n), "the top bit is never set");
    assert.ok(new Set(draws).size > 100);
    const long = randomBits(600_000);
    assert.ok(long < 1n << 600_000n && long > 1n << 599_900n);
    assert.throws(() => randomBits(-1), /non-negative integer/);
  });
});
