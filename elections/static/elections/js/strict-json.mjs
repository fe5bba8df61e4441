// Strict reading of the trustees' JSON files (ES module), with Python's messages.
//
// The JavaScript twin of load_json, parse_hex, check_text, expect_object and
// expect_list in elections/crypto/encoding.py: a size cap before parsing, no
// JSON numbers or NaN/Infinity (integers are hex strings), no duplicate key,
// one spelling per integer with a digit cap before conversion, exactly the
// listed fields. Every refusal is a BallotCryptoError whose message is the
// one Python gives, so the trustee page and the trustee tool say the same
// thing about the same file. (election-params.mjs has its own parseHex and
// checkText, with the booth's messages.)

import { BallotCryptoError } from "./election-params.mjs";

const HEX_RE = /^(?:0|[1-9a-f][0-9a-f]*)$/;
const PRINTABLE_RE = /^[\x20-\x7e]*$/;
const LONE_SURROGATE_RE = /\p{Cs}/u;
// Python's json nests about a thousand levels before a RecursionError; these
// files nest at most six.
const MAX_DEPTH = 500;

// The name Python's type(value).__name__ gives the value JSON decodes to.
export function pythonTypeName(value) {
  if (value === null) return "NoneType";
  if (Array.isArray(value)) return "list";
  if (value instanceof Uint8Array) return "bytes";
  return { string: "str", boolean: "bool", object: "dict", bigint: "int" }[typeof value]
    ?? typeof value;
}

// Python's repr() of a string: single quotes unless it holds a single quote
// and no double quote; backslashes, quotes and control characters escaped.
export function pythonRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let body = "";
  for (const char of text) {
    const code = char.codePointAt(0);
    if (char === "\\" || char === quote) body += "\\" + char;
    else if (char === "\n") body += "\\n";
    else if (char === "\r") body += "\\r";
    else if (char === "\t") body += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0)) {
      body += "\\x" + code.toString(16).padStart(2, "0");
    } else if (code >= 0xd800 && code < 0xe000) body += "\\u" + code.toString(16);
    else body += char;
  }
  return quote + body + quote;
}

function compareCodePoints(a, b) {
  const [x, y] = [Array.from(a, (c) => c.codePointAt(0)), Array.from(b, (c) => c.codePointAt(0))];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

function pythonList(texts) {
  return "[" + texts.map(pythonRepr).join(", ") + "]";
}

// The number of hex digits of bound: the longest spelling of any value <= it.
export function hexLength(bound) {
  return bound.toString(16).length;
}

// One canonical hex integer (lowercase, no prefix, no leading zero), its
// length checked before conversion. Returns a BigInt.
export function parseHex(value, field, maxDigits) {
  if (typeof value !== "string") {
    throw new BallotCryptoError(`${field}: expected a hex string, got ${pythonTypeName(value)}`);
  }
  if (value.length === 0 || value.length > maxDigits) {
    throw new BallotCryptoError(`${field}: hex string must have 1 to ${maxDigits} digits`);
  }
  if (!HEX_RE.test(value)) {
    throw new BallotCryptoError(`${field}: not a canonical lowercase hex integer`);
  }
  return BigInt("0x" + value);
}

// 1 to maxLength printable ASCII characters (identifiers, format tags).
export function checkText(value, field, maxLength) {
  if (typeof value !== "string") {
    throw new BallotCryptoError(`${field}: expected a string, got ${pythonTypeName(value)}`);
  }
  const length = Array.from(value).length;
  if (length === 0 || length > maxLength) {
    throw new BallotCryptoError(`${field}: must have 1 to ${maxLength} characters`);
  }
  if (!PRINTABLE_RE.test(value)) {
    throw new BallotCryptoError(`${field}: only printable ASCII characters are allowed`);
  }
  return value;
}

export function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    && !(value instanceof Uint8Array);
}

// Exactly these keys: an extra field is refused, not ignored.
export function expectObject(value, keys, field) {
  if (!isObject(value)) {
    throw new BallotCryptoError(`${field}: expected an object, got ${pythonTypeName(value)}`);
  }
  const present = Object.keys(value);
  const missing = keys.filter((key) => !Object.hasOwn(value, key)).sort(compareCodePoints);
  const extra = present
    .filter((key) => !keys.includes(key))
    .map((key) => Array.from(key).slice(0, 40).join(""))
    .sort(compareCodePoints);
  if (missing.length > 0 || extra.length > 0) {
    throw new BallotCryptoError(
      `${field}: missing fields ${pythonList(missing)}, unexpected fields ${pythonList(extra)}`,
    );
  }
  return value;
}

export function expectList(value, length, field) {
  if (!Array.isArray(value)) {
    throw new BallotCryptoError(`${field}: expected an array, got ${pythonTypeName(value)}`);
  }
  if (value.length !== length) {
    throw new BallotCryptoError(`${field}: expected ${length} items, got ${value.length}`);
  }
  return value;
}

const WHITESPACE_RE = /[ \t\n\r]*/y;
const STRING_RE = /"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|NaN|Infinity|-Infinity/y;
const LITERALS = [["true", true], ["false", false], ["null", null]];

class JsonReader {
  constructor(text) {
    this.text = text;
    this.at = 0;
  }

  fail(kind = "JSONDecodeError") {
    throw new BallotCryptoError(`not valid JSON: ${kind}`);
  }

  match(pattern) {
    pattern.lastIndex = this.at;
    const found = pattern.exec(this.text);
    if (found === null || found[0].length === 0) return null;
    this.at += found[0].length;
    return found[0];
  }

  skipSpace() {
    WHITESPACE_RE.lastIndex = this.at;
    WHITESPACE_RE.exec(this.text);
    this.at = WHITESPACE_RE.lastIndex;
  }

  expect(char) {
    this.skipSpace();
    if (this.text[this.at] !== char) this.fail();
    this.at += 1;
  }

  peek(char) {
    this.skipSpace();
    if (this.text[this.at] !== char) return false;
    this.at += 1;
    return true;
  }

  string() {
    this.skipSpace();
    const token = this.match(STRING_RE);
    if (token === null) this.fail();
    return JSON.parse(token);
  }

  value(depth) {
    if (depth > MAX_DEPTH) this.fail("RecursionError");
    this.skipSpace();
    const char = this.text[this.at];
    if (char === "{") return this.object(depth);
    if (char === "[") return this.array(depth);
    if (char === '"') return this.string();
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    if (this.match(NUMBER_RE) !== null) {
      throw new BallotCryptoError("JSON numbers are not allowed: integers are hex strings");
    }
    return this.fail();
  }

  object(depth) {
    this.at += 1;
    const result = {};
    if (this.peek("}")) return result;
    do {
      const key = this.string();
      this.expect(":");
      const value = this.value(depth + 1);
      if (Object.hasOwn(result, key)) {
        throw new BallotCryptoError(`duplicate key ${pythonRepr(key)}`);
      }
      // defineProperty, not assignment: a "__proto__" key stays an ordinary field.
      Object.defineProperty(result, key, {
        value, enumerable: true, writable: true, configurable: true,
      });
    } while (this.peek(","));
    this.expect("}");
    return result;
  }

  array(depth) {
    this.at += 1;
    const result = [];
    if (this.peek("]")) return result;
    do {
      result.push(this.value(depth + 1));
    } while (this.peek(","));
    this.expect("]");
    return result;
  }

  document() {
    const value = this.value(0);
    this.skipSpace();
    if (this.at !== this.text.length) this.fail();
    return value;
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

// Decode JSON text (a string, or UTF-8 bytes as a Uint8Array) after a size
// check, refusing what Python's load_json refuses: over maxBytes (checked
// before parsing), not UTF-8, not JSON, nested too deep, a duplicate key,
// any JSON number or NaN/Infinity. true, false and null decode (the field
// checks then refuse them by type, as Python's do).
export function loadJson(raw, maxBytes) {
  if (typeof raw !== "string" && !(raw instanceof Uint8Array)) {
    throw new BallotCryptoError(`expected JSON text, got ${pythonTypeName(raw)}`);
  }
  if (raw.length > maxBytes) throw new BallotCryptoError(`input is larger than ${maxBytes} bytes`);
  let text = raw;
  if (typeof raw === "string") {
    if (LONE_SURROGATE_RE.test(raw)) {
      throw new BallotCryptoError("not valid JSON: UnicodeEncodeError");
    }
    if (encoder.encode(raw).length > maxBytes) {
      throw new BallotCryptoError(`input is larger than ${maxBytes} bytes`);
    }
  } else {
    try {
      text = strictUtf8.decode(raw);
    } catch {
      throw new BallotCryptoError("not valid JSON: UnicodeDecodeError");
    }
  }
  return new JsonReader(text).document();
}
