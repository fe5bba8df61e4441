// Sealing a secret file under a passphrase in the browser: scrypt, then AES-256-GCM.
//
// The JavaScript twin of elections/crypto/sealing.py, specified byte by byte
// in docs/trustees.md: a sealed file is canonical JSON, a header (format,
// kdf "scrypt", kdf_log2_n, kdf_r, kdf_p, salt, cipher "aes-256-gcm", nonce)
// and "ciphertext", the AES-256-GCM encryption of the plain bytes with its
// 16-byte tag. The key is scrypt(passphrase as UTF-8, salt, N = 2^17, r = 8,
// p = 1, 32 bytes) from the vendored @noble/hashes (pure JavaScript, no
// WebAssembly: it runs under the site's CSP); AES-GCM is WebCrypto's. The
// header's canonical JSON is the associated data, so changing any field
// fails like a wrong passphrase. tests/js/trustee-files.test.mjs and
// tests/trustee/test_browser_files.py pin it to Python both ways.
//
// Threat model (as sealing.py). Protects a file at rest against whoever
// copies it without the passphrase: each guess costs one scrypt (128 MiB and
// about a second here), and any change is detected. Does not protect against
// a weak passphrase (guessable offline), a compromised browser or machine
// (it sees the passphrase and the plain bytes), or a lost passphrase.

import { scryptAsync } from "../vendor/noble-hashes/scrypt.js";
import { BallotCryptoError, bytesToHex, canonicalJson, toHex } from "./election-params.mjs";
import { checkText, expectObject, parseHex } from "./strict-json.mjs";

export const KDF = "scrypt";
export const CIPHER = "aes-256-gcm";
export const SCRYPT_LOG2_N = 17;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
// Other parameters open an older file, up to twice the default work and
// memory (128 r N p bytes), checked before deriving: a crafted header cannot
// make the page allocate gigabytes.
const SCRYPT_LOG2_N_MIN = 14;
const SCRYPT_LOG2_N_MAX = 20;
const SCRYPT_MAX_COST = 2n * 128n * BigInt(SCRYPT_R) * (1n << BigInt(SCRYPT_LOG2_N)) *
  BigInt(SCRYPT_P);
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const KEY_BYTES = 32;
export const HEADER_FIELDS = Object.freeze(
  ["format", "kdf", "kdf_log2_n", "kdf_r", "kdf_p", "salt", "cipher", "nonce"],
);
const MAX_FORMAT_LENGTH = 128;
const LOWER_HEX_RE = /^(?:[0-9a-f]{2})*$/;
const LONE_SURROGATE_RE = /\p{Cs}/u;

function checkPassphrase(passphrase) {
  if (typeof passphrase !== "string" || passphrase.length === 0) {
    throw new BallotCryptoError("the passphrase must be a non-empty string");
  }
  // UTF-8 has no encoding for a lone surrogate (Python refuses to encode one;
  // TextEncoder would silently write U+FFFD), so the same keystrokes could not
  // open the file in the trustee tool.
  if (LONE_SURROGATE_RE.test(passphrase)) {
    throw new BallotCryptoError("the passphrase must be valid Unicode (no lone surrogate)");
  }
  return new TextEncoder().encode(passphrase);
}

function randomBytes(count) {
  const bytes = new Uint8Array(count);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

function hexToBytes(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

// scrypt reports its progress some ten thousand times; a page posting each
// to its worker's owner needs about a hundred.
function everyPercent(onProgress) {
  if (onProgress === undefined) return undefined;
  if (typeof onProgress !== "function") {
    throw new BallotCryptoError("onProgress must be a function");
  }
  let reported = -1;
  return (fraction) => {
    const percent = Math.floor(fraction * 100);
    if (percent > reported) {
      reported = percent;
      onProgress(fraction);
    }
  };
}

// Takes the passphrase's bytes and wipes them, as it wipes the derived bytes
// once WebCrypto holds the key (non-extractable).
async function aesKey(passphraseBytes, salt, log2N, r, p, onProgress, usage) {
  let derived;
  try {
    derived = await scryptAsync(passphraseBytes, salt, {
      N: 2 ** log2N, r, p, dkLen: KEY_BYTES, onProgress: everyPercent(onProgress),
    });
  } finally {
    passphraseBytes.fill(0);
  }
  try {
    return await globalThis.crypto.subtle.importKey("raw", derived, "AES-GCM", false, [usage]);
  } finally {
    derived.fill(0);
  }
}

function gcmParams(nonce, header) {
  return {
    name: "AES-GCM",
    iv: nonce,
    additionalData: new TextEncoder().encode(canonicalJson(header)),
    tagLength: 128,
  };
}

// Encrypt plainBytes (a Uint8Array) under passphrase (a non-empty string,
// encoded as UTF-8 exactly as typed, not normalised); return the sealed file,
// canonical JSON in ASCII, with format tag sealedFormat (printable ASCII).
// A fresh 16-byte salt and 12-byte nonce come from crypto.getRandomValues, so
// two seals of the same bytes differ. onProgress(fraction), if given, follows
// the key derivation (about a second), about a hundred times. Throws
// BallotCryptoError for anything but bytes, an empty passphrase or a bad tag.
export async function seal(plainBytes, passphrase, sealedFormat, { onProgress } = {}) {
  if (!(plainBytes instanceof Uint8Array)) throw new BallotCryptoError("only bytes can be sealed");
  const passphraseBytes = checkPassphrase(passphrase);
  checkText(sealedFormat, "sealed format", MAX_FORMAT_LENGTH);
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const header = {
    format: sealedFormat,
    kdf: KDF,
    kdf_log2_n: toHex(BigInt(SCRYPT_LOG2_N)),
    kdf_r: toHex(BigInt(SCRYPT_R)),
    kdf_p: toHex(BigInt(SCRYPT_P)),
    salt: bytesToHex(salt),
    cipher: CIPHER,
    nonce: bytesToHex(nonce),
  };
  const key = await aesKey(
    passphraseBytes, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, onProgress, "encrypt",
  );
  const sealed = await globalThis.crypto.subtle.encrypt(gcmParams(nonce, header), key, plainBytes);
  return canonicalJson({ ...header, ciphertext: bytesToHex(new Uint8Array(sealed)) });
}

function fixedHex(value, size, field) {
  const length = typeof value === "string" ? value.length : -1;
  if (length < 0 || length % 2 || (size !== null && length !== 2 * size)) {
    throw new BallotCryptoError(`${field} has the wrong length`);
  }
  if (!LOWER_HEX_RE.test(value)) throw new BallotCryptoError(`${field} is not lowercase hex`);
  return hexToBytes(value);
}

function checkCost(log2N, r, p, what) {
  const cost = 128n * r * (1n << log2N) * p;
  if (
    log2N < SCRYPT_LOG2_N_MIN || log2N > SCRYPT_LOG2_N_MAX ||
    r < 1n || r > 16n || p < 1n || p > 4n || cost > SCRYPT_MAX_COST
  ) {
    throw new BallotCryptoError(`${what} scrypt parameters are out of the accepted range`);
  }
}

// Open a sealed file, already decoded from JSON (loadJson of strict-json.mjs);
// return the plain bytes (a Uint8Array). what names the file in messages
// ("share file"). Checks, before deriving any key and with Python's messages:
// exactly the header fields and ciphertext, the format sealedFormat, scrypt
// and AES-256-GCM, log2 N in 14..20, r <= 16, p <= 4 and at most twice the
// default memory, a 16-byte salt and 12-byte nonce in lowercase hex. Then
// "wrong passphrase, or the <what> was modified" when the GCM tag fails: the
// two cannot be told apart, by design. Throws BallotCryptoError.
export async function unseal(
  document, passphrase, sealedFormat, { what = "sealed file", onProgress } = {},
) {
  expectObject(document, [...HEADER_FIELDS, "ciphertext"], what);
  if (document.format !== sealedFormat) {
    throw new BallotCryptoError(`${what}: not of the expected format`);
  }
  const passphraseBytes = checkPassphrase(passphrase);
  if (document.kdf !== KDF || document.cipher !== CIPHER) {
    throw new BallotCryptoError(`unsupported ${what} encryption`);
  }
  const log2N = parseHex(document.kdf_log2_n, "kdf_log2_n", 2);
  const r = parseHex(document.kdf_r, "kdf_r", 2);
  const p = parseHex(document.kdf_p, "kdf_p", 1);
  checkCost(log2N, r, p, what);
  const salt = fixedHex(document.salt, SALT_BYTES, `${what} salt`);
  const nonce = fixedHex(document.nonce, NONCE_BYTES, `${what} nonce`);
  const sealed = fixedHex(document.ciphertext, null, `${what} ciphertext`);
  const header = Object.fromEntries(HEADER_FIELDS.map((field) => [field, document[field]]));
  const key = await aesKey(
    passphraseBytes, salt, Number(log2N), Number(r), Number(p), onProgress, "decrypt",
  );
  try {
    return new Uint8Array(
      await globalThis.crypto.subtle.decrypt(gcmParams(nonce, header), key, sealed),
    );
  } catch (error) {
    // WebCrypto's only signal of a failed tag check.
    if (error?.name !== "OperationError") throw error;
    throw new BallotCryptoError(`wrong passphrase, or the ${what} was modified`);
  }
}
