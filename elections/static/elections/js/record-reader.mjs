// Reading an election record as a stream, strictly (ES module): the
// JavaScript twin of elections/verify/reading.py.
//
// The record (docs/election-record.md) is read one section, or one ballot
// entry, at a time, so memory holds the entry being read and not the file:
// a record of 10,000 ballots at 3072 bits is about 340 MB, one entry 34 KB.
// The bytes are decoded as strict UTF-8 (TextDecoder with fatal errors and
// the byte-order mark kept, so that it is refused as JSON); the extent of
// each value is found by a scanner that jumps between quotes and brackets,
// then the value is parsed by a strict recursive-descent parser whose depth
// the scanner has already bounded. Every refusal is a MalformedRecord: the
// record cannot be read and the run stops (exit status 2). The rules are
// section 6 of the document: no control character outside the JSON
// whitespace set, no raw control character inside a string, no lone
// surrogate escape, nesting of at most MAX_DEPTH levels per section value or
// ballot entry, a JSON integer beyond 2^63 - 1 or a float that overflows a
// double unreadable (other numbers are values of the wrong type: BigInt for
// an integer, Number for a float, as Python's int and float).

import { pythonRepr } from "./strict-json.mjs";

export const MAX_DEPTH = 32;
export const MAX_TEXT = 5000;
const MAX_COUNT_DIGITS = 16;
const INT64_MAX = (1n << 63n) - 1n;

export const HASH_RE = /^[0-9a-f]{64}$/;
const COUNT_RE = /^(?:0|[1-9a-f][0-9a-f]*)$/;
const TIME_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
const CONTROL_RE = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;
const RAW_CONTROL_RE = /[\x00-\x1f]/;
const LONE_SURROGATE_RE = /\p{Cs}/u;
const STRING_BODY_RE = /^(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*$/;
const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const STRUCTURE_RE = /[{}[\]"]/g;
const QUOTE_OR_ESCAPE_RE = /["\\]/g;
const SCALAR_END_RE = /[\s,\]}:{["]/g;

export class MalformedRecord extends Error {}
MalformedRecord.prototype.name = "MalformedRecord";

// Python's repr() of a short string, as the reference verifier quotes keys.
export { pythonRepr };

// A copy of a string that shares no memory with the text it was read from.
// V8 represents a substring as a view of its parent, so a tracker kept for
// the whole run would otherwise keep the chunk of the file it came from,
// and the kept trackers would hold the whole file.
export function detach(text) {
  return JSON.parse(JSON.stringify(text));
}

export function codePoints(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

// The first 40 code points of a key, as Python's str(key)[:40].
function shortKey(key) {
  return Array.from(String(key)).slice(0, 40).join("");
}

function isSpace(code) {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

// A strict parser of one complete JSON value whose nesting the scanner has
// checked. Objects keep the last value of a repeated key, as Python's dict;
// the first repeated key is noted in `duplicate`.
class ValueParser {
  constructor(text) {
    this.text = text;
    this.at = 0;
    this.duplicate = null;
  }

  fail(reason) {
    throw new MalformedRecord(`not valid JSON: ${reason}`);
  }

  space() {
    const text = this.text;
    while (this.at < text.length && isSpace(text.charCodeAt(this.at))) this.at += 1;
  }

  value() {
    this.space();
    const char = this.text[this.at];
    if (char === "{") return this.object();
    if (char === "[") return this.array();
    if (char === '"') return this.string();
    return this.scalar();
  }

  string() {
    const start = this.at;
    QUOTE_OR_ESCAPE_RE.lastIndex = start + 1;
    let escaped = false;
    for (;;) {
      const found = QUOTE_OR_ESCAPE_RE.exec(this.text);
      if (found === null) this.fail("unterminated string");
      if (found[0] === '"') {
        this.at = found.index + 1;
        break;
      }
      escaped = true;
      QUOTE_OR_ESCAPE_RE.lastIndex = found.index + 2;
    }
    const body = this.text.slice(start + 1, this.at - 1);
    if (!escaped) {
      if (RAW_CONTROL_RE.test(body)) this.fail("control character in a string");
      return body;
    }
    if (!STRING_BODY_RE.test(body)) this.fail("invalid string");
    const value = JSON.parse(`"${body}"`);
    const lone = LONE_SURROGATE_RE.exec(value);
    if (lone !== null) {
      const code = lone[0].charCodeAt(0).toString(16).toUpperCase();
      throw new MalformedRecord(`not valid JSON: lone surrogate escape \\u${code}`);
    }
    return value;
  }

  scalar() {
    SCALAR_END_RE.lastIndex = this.at;
    const found = SCALAR_END_RE.exec(this.text);
    const end = found === null ? this.text.length : found.index;
    const token = this.text.slice(this.at, end);
    this.at = end;
    if (token === "true") return true;
    if (token === "false") return false;
    if (token === "null") return null;
    const number = NUMBER_RE.exec(token);
    if (number === null) this.fail(token ? "unexpected token" : "a value is missing");
    if (number[1] === undefined && number[2] === undefined) {
      const integer = BigInt(token);
      if (integer > INT64_MAX || -integer > INT64_MAX) this.fail("integer out of range");
      return integer;
    }
    const float = Number(token);
    if (!Number.isFinite(float)) this.fail("number out of range");
    return float;
  }

  expect(char) {
    this.space();
    if (this.text[this.at] !== char) this.fail(`expected ${char}`);
    this.at += 1;
  }

  more(close) {
    this.space();
    const char = this.text[this.at];
    this.at += 1;
    if (char === ",") return true;
    if (char === close) return false;
    return this.fail(`expected , or ${close}`);
  }

  object() {
    this.at += 1;
    const result = {};
    this.space();
    if (this.text[this.at] === "}") {
      this.at += 1;
      return result;
    }
    do {
      this.space();
      if (this.text[this.at] !== '"') this.fail("expected a key");
      const key = this.string();
      this.expect(":");
      const value = this.value();
      if (Object.hasOwn(result, key)) {
        if (this.duplicate === null) this.duplicate = shortKey(key);
      }
      // defineProperty, not assignment: a "__proto__" key stays an ordinary field.
      Object.defineProperty(result, key, {
        value, enumerable: true, writable: true, configurable: true,
      });
    } while (this.more("}"));
    return result;
  }

  array() {
    this.at += 1;
    const result = [];
    this.space();
    if (this.text[this.at] === "]") {
      this.at += 1;
      return result;
    }
    do {
      result.push(this.value());
    } while (this.more("]"));
    return result;
  }
}

// Parse one JSON text holding a single value (a scanned section or entry).
// Returns { value, duplicate }: duplicate is the first repeated key, or null.
export function parseValue(text) {
  const parser = new ValueParser(text);
  const value = parser.value();
  parser.space();
  if (parser.at !== text.length) parser.fail("unexpected content after a value");
  return { value, duplicate: parser.duplicate };
}

// Strict UTF-8 text chunks from byte chunks (Uint8Array, or Node's Buffers).
async function* decodeStrictly(chunks) {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const decode = (chunk, stream) => {
    try {
      return decoder.decode(chunk, { stream });
    } catch {
      throw new MalformedRecord("not valid UTF-8");
    }
  };
  for await (const chunk of chunks) {
    const text = decode(chunk, true);
    if (text) yield text;
  }
  const rest = decode(undefined, false);
  if (rest) yield rest;
}

// The record's tokens and values from a stream of bytes. Only the text of
// the value being read (and the rest of the last chunk) is held.
export class RecordReader {
  constructor(chunks) {
    this.source = decodeStrictly(chunks)[Symbol.asyncIterator]();
    this.buffer = "";
    this.at = 0;
    this.ended = false;
  }

  // Append the next chunk; false at the end of the file.
  async fill() {
    if (this.ended) return false;
    let next;
    try {
      next = await this.source.next();
    } catch (error) {
      if (error instanceof MalformedRecord) throw error;
      throw new MalformedRecord(`cannot read the file: ${error?.message ?? error}`);
    }
    if (next.done) {
      this.ended = true;
      return false;
    }
    const control = CONTROL_RE.exec(next.value);
    if (control !== null) {
      const code = control[0].charCodeAt(0).toString(16).padStart(2, "0");
      throw new MalformedRecord(`not valid JSON: control byte \\x${code}`);
    }
    // Drop what has been read: a regular expression flattens the buffer it
    // searches, which should cost the value being read, not the file so far.
    this.buffer = this.buffer.slice(this.at) + next.value;
    this.at = 0;
    return true;
  }

  async close() {
    this.ended = true;
    await this.source.return?.();
  }

  // Skip whitespace; the next character, or "" at the end of the file.
  async peek() {
    for (;;) {
      const buffer = this.buffer;
      while (this.at < buffer.length && isSpace(buffer.charCodeAt(this.at))) this.at += 1;
      if (this.at < buffer.length) return buffer[this.at];
      if (!(await this.fill())) return "";
    }
  }

  // Consume one structural character, or fail with `message`.
  async expectChar(char, message) {
    const found = await this.peek();
    if (found === "") throw new MalformedRecord("the file ends too early (truncated)");
    if (found !== char) throw new MalformedRecord(message ?? `not valid JSON: expected ${char}`);
    this.at += 1;
  }

  // Whether the next character is `char`, consumed if so.
  async accept(char) {
    if ((await this.peek()) !== char) return false;
    this.at += 1;
    return true;
  }

  // The end offset of the value starting at this.at, filling the buffer as
  // needed; refuses nesting beyond MAX_DEPTH while scanning.
  async scanValue() {
    const first = await this.peek();
    if (first === "") throw new MalformedRecord("the file ends too early (truncated)");
    if (first !== "{" && first !== "[" && first !== '"') return this.scanScalar();
    let offset = 1; // relative to this.at, which fill() may move
    let depth = first === '"' ? 0 : 1;
    let inString = first === '"';
    for (;;) {
      const pattern = inString ? QUOTE_OR_ESCAPE_RE : STRUCTURE_RE;
      pattern.lastIndex = this.at + offset;
      const found = pattern.exec(this.buffer);
      // Not found, or an escape whose next character is in the next chunk: read on.
      if (found === null || (found[0] === "\\" && found.index + 1 >= this.buffer.length)) {
        offset = (found === null ? this.buffer.length : found.index) - this.at;
        if (!(await this.fill())) throw new MalformedRecord("the file ends too early (truncated)");
        continue;
      }
      const char = found[0];
      offset = found.index + 1 - this.at;
      if (inString) {
        if (char === "\\") offset += 1;
        else {
          inString = false;
          if (depth === 0) return this.at + offset;
        }
      } else if (char === '"') inString = true;
      else if (char === "{" || char === "[") {
        depth += 1;
        if (depth > MAX_DEPTH) {
          throw new MalformedRecord(`a value is nested more than ${MAX_DEPTH} levels deep`);
        }
      } else {
        depth -= 1;
        if (depth === 0) return this.at + offset;
      }
    }
  }

  async scanScalar() {
    for (;;) {
      SCALAR_END_RE.lastIndex = this.at;
      const found = SCALAR_END_RE.exec(this.buffer);
      if (found !== null) return found.index;
      if (!(await this.fill())) return this.buffer.length;
    }
  }

  // Read one whole value: { value, duplicate }.
  async value() {
    const end = await this.scanValue();
    const text = this.buffer.slice(this.at, end);
    this.at = end;
    return parseValue(text);
  }

  // Read a key and its colon.
  async key() {
    if ((await this.peek()) !== '"') return null;
    const { value } = await this.value();
    await this.expectChar(":");
    return value;
  }
}

// The sections in their fixed order: expectKey(name), then section(name) or
// arrayItems(name) for the ballots, then end() after the last section.
export class RecordStream {
  constructor(chunks) {
    this.reader = new RecordReader(chunks);
    this.opened = false;
  }

  async expectKey(key) {
    const reader = this.reader;
    if (!this.opened) {
      await reader.expectChar("{", "the record must be a JSON object");
      this.opened = true;
    } else if (!(await reader.accept(","))) {
      const next = await reader.peek();
      if (next === "") throw new MalformedRecord("the file ends too early (truncated)");
      const found = next === "}" ? "end_map" : next;
      throw new MalformedRecord(
        `expected the key ${pythonRepr(key)} here, found ${pythonRepr(found)}`);
    }
    const found = await reader.key();
    if (found !== key) {
      const shown = found === null ? await reader.peek() : shortKey(found);
      throw new MalformedRecord(
        `expected the key ${pythonRepr(key)} here, found ${pythonRepr(shown)}`);
    }
  }

  // One whole section value; a repeated key anywhere in it is unreadable.
  async section(name) {
    const { value, duplicate } = await this.reader.value();
    if (duplicate !== null) {
      throw new MalformedRecord(`${name}: duplicate key ${pythonRepr(duplicate)}`);
    }
    return value;
  }

  // Each item of an array with the first repeated key inside it, or null.
  async *arrayItems(name) {
    const reader = this.reader;
    if ((await reader.peek()) !== "[") throw new MalformedRecord(`${name}: expected an array`);
    reader.at += 1;
    if (await reader.accept("]")) return;
    for (;;) {
      yield await reader.value();
      if (await reader.accept(",")) continue;
      await reader.expectChar("]", `not valid JSON: expected , or ] in ${name}`);
      return;
    }
  }

  // After the last section: whether the optional section `key` follows.
  async optionalKey(key, last) {
    const reader = this.reader;
    if (!(await reader.accept(","))) return false;
    const found = await reader.key();
    if (found === key) return true;
    const shown = found === null ? await reader.peek() : shortKey(found);
    throw new MalformedRecord(`unexpected key ${pythonRepr(shown)} after ${pythonRepr(last)}`);
  }

  // After the last section: the closing brace, then nothing but whitespace.
  async end(last) {
    const reader = this.reader;
    if (await reader.accept(",")) {
      const key = await reader.key();
      const shown = key === null ? await reader.peek() : shortKey(key);
      throw new MalformedRecord(`unexpected key ${pythonRepr(shown)} after ${pythonRepr(last)}`);
    }
    await reader.expectChar("}", `unexpected content after ${pythonRepr(last)}`);
    if ((await reader.peek()) !== "") {
      throw new MalformedRecord("unexpected content after the record");
    }
  }

  async close() {
    await this.reader.close();
  }
}

// --- Fields (section 1 of docs/election-record.md) -----------------------------

export function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function pythonList(texts) {
  return "[" + texts.map(pythonRepr).join(", ") + "]";
}

function byCodePoint(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function expectObject(value, keys, name) {
  if (!isObject(value)) throw new MalformedRecord(`${name}: expected an object`);
  const present = Object.keys(value);
  if (present.length !== keys.length || !keys.every((key) => Object.hasOwn(value, key))) {
    const missing = keys.filter((key) => !Object.hasOwn(value, key)).sort(byCodePoint);
    const extra = present.filter((key) => !keys.includes(key)).map(shortKey).sort(byCodePoint);
    throw new MalformedRecord(
      `${name}: missing keys ${pythonList(missing)}, unexpected keys ${pythonList(extra)}`,
    );
  }
  return value;
}

export function text(value, name) {
  if (typeof value !== "string" || (value.length > MAX_TEXT && codePoints(value) > MAX_TEXT)) {
    throw new MalformedRecord(`${name}: expected a string`);
  }
  return value;
}

// A count: 1 to 16 canonical hex digits, as a BigInt (below 2^64).
export function count(value, name, ErrorClass = MalformedRecord) {
  if (typeof value !== "string" || value.length < 1 || value.length > MAX_COUNT_DIGITS) {
    throw new ErrorClass(`${name}: expected a hex integer string`);
  }
  if (!COUNT_RE.test(value)) throw new ErrorClass(`${name}: not a canonical lowercase hex integer`);
  return BigInt("0x" + value);
}

export function hashValue(value, name, { nullable = false } = {}) {
  if (value === null && nullable) return "";
  if (typeof value !== "string" || !HASH_RE.test(value)) {
    throw new MalformedRecord(`${name}: expected 64 lowercase hex digits`);
  }
  return value;
}

export function timeValue(value, name) {
  if (value !== null && (typeof value !== "string" || !TIME_RE.test(value))) {
    throw new MalformedRecord(`${name}: expected a UTC time YYYY-MM-DDTHH:MM:SS.mmmZ or null`);
  }
  return value ?? "";
}
