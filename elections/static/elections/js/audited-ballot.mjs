// Checking audited ballots in the browser (ES module): the twin of
// elections/crypto/audit.py's check_audited_ballot and, for a record's
// audited_ballots section, of elections/verify/audits.py, with their messages.
//
// An audited ballot (docs/ballot-format.md, "Audited ballot") is a ballot the
// voter opened instead of casting: the booth revealed every slot's choice m
// and randomness r. Re-encrypting each slot, c = (1 + m n) r^n mod n^2,
// shows that the device encrypted exactly the revealed choices; one
// exponentiation by n modulo n^2 per slot.
//
// Threat model. Protects against a voting device (or a page served to it)
// that encrypts another choice than the voter's, with the probability that
// its voter audits. Does not check the ballot's proofs: their statement
// includes the voter context, which the audited ballot does not carry. An
// audited ballot reveals its choices to everyone.

import { modPow } from "./ballot-crypto.mjs";
import { BallotCryptoError } from "./election-params.mjs";
import { ballotTracker, gcd, maxBallotBytes, parseBallot, slotTitle } from "./ballot-verify.mjs";
import { pythonRepr } from "./record-reader.mjs";
import {
  expectList,
  expectObject,
  hexLength,
  isObject,
  loadJson,
  parseHex,
} from "./strict-json.mjs";

export const AUDITED_FORMAT = "evoting/audited-ballot/v1";
const FIELDS = ["format", "election_id", "params_fingerprint", "tracker", "ballot", "choices",
  "randomness"];

export class InvalidAudit extends BallotCryptoError {}
InvalidAudit.prototype.name = "InvalidAudit";

// The largest audited ballot accepted: the ballot's cap and two numbers per slot.
export function maxAuditedBytes(params) {
  return maxBallotBytes(params) + params.slotCount * (hexLength(params.n) + 16) + 1024;
}

function numbers(value, params, field, digits) {
  const items = expectList(value, params.slotCount, `${field} (one per slot)`);
  return items.map((item, slot) => parseHex(item, `${field}: ${slotTitle(params, slot)}`, digits));
}

function checkOpening(params, ballot, choices, randomness) {
  const { n, nSquare } = params;
  ballot.ciphertexts.forEach((c, slot) => {
    const where = slotTitle(params, slot);
    const [m, r] = [choices[slot], randomness[slot]];
    if (m !== 0n && m !== 1n) throw new InvalidAudit(`${where}: a revealed choice must be 0 or 1`);
    if (r <= 0n || r >= n || gcd(r, n) !== 1n) {
      throw new InvalidAudit(`${where}: the revealed randomness is out of range`);
    }
    if (((1n + m * n) * modPow(r, n, nSquare)) % nSquare !== c) {
      throw new InvalidAudit(`${where}: the ciphertext is not the encryption of the revealed ` +
        "choice with the revealed randomness");
    }
  });
}

// Each question's rule on the revealed choices (Python's check_selections).
function checkRules(params, choices) {
  params.questions.forEach((question, index) => {
    const start = params.offsets[index];
    const k = question.options.length;
    const picked = choices.slice(start, start + k).reduce((sum, m) => sum + m, 0n);
    const blank = question.blank && choices[start + k] === 1n;
    const number = index + 1;
    if (blank && picked > 0n) {
      throw new InvalidAudit(`the revealed choices break a rule: question ${number}: a blank ` +
        "vote selects nothing else");
    }
    if (!blank && (picked < question.min || picked > question.max)) {
      throw new InvalidAudit(`the revealed choices break a rule: question ${number}: select ` +
        `between ${question.min} and ${question.max} options`);
    }
  });
}

async function check(params, raw) {
  const document = isObject(raw) ? raw : loadJson(raw, maxAuditedBytes(params));
  expectObject(document, FIELDS, "audited ballot");
  if (document.format !== AUDITED_FORMAT) {
    throw new InvalidAudit(`not an audited ballot (expected format ${AUDITED_FORMAT})`);
  }
  if (document.election_id !== params.electionId) {
    throw new InvalidAudit("the audited ballot is of another election");
  }
  if (document.params_fingerprint !== params.fingerprint) {
    throw new InvalidAudit("the audited ballot is for other election parameters (fingerprint)");
  }
  let ballot;
  try {
    ballot = parseBallot(params, document.ballot);
  } catch (error) {
    if (!(error instanceof BallotCryptoError)) throw error;
    throw new InvalidAudit(`the audited ballot's ballot: ${error.message}`);
  }
  const tracker = await ballotTracker(ballot);
  if (document.tracker !== tracker) {
    throw new InvalidAudit("the tracker is not the SHA-256 of the ballot");
  }
  const choices = numbers(document.choices, params, "choices", 1);
  const randomness = numbers(document.randomness, params, "randomness", hexLength(params.n));
  checkOpening(params, ballot, choices, randomness);
  checkRules(params, choices);
  return Object.freeze({
    tracker,
    ballot,
    choices: Object.freeze(choices),
    randomness: Object.freeze(randomness),
    chosenSlots: Object.freeze(choices.flatMap((m, slot) => (m === 1n ? [slot] : []))),
  });
}

// Read an audited ballot of `params` (from election-params.mjs's parseParams)
// and check that it opens to its choices: the format and exactly its fields;
// the election id and the parameters' fingerprint; the ballot's shape and
// ranges (not its proofs); the tracker; one choice (0 or 1) and one
// randomness (in [1, n), invertible) per slot; each ciphertext's
// re-encryption; the question rules of the revealed choices. `document` is
// the decoded object, or its JSON text or UTF-8 bytes. Resolves to
// { tracker, ballot, choices, randomness, chosenSlots } (BigInt choices and
// randomness, slot order); rejects with InvalidAudit naming the check and,
// for a slot, "question q, option i" or "question q, blank" (v1:
// "candidate <id>").
export async function checkAuditedBallot(params, document) {
  try {
    return await check(params, document);
  } catch (error) {
    if (error instanceof InvalidAudit || !(error instanceof BallotCryptoError)) throw error;
    throw new InvalidAudit(error.message);
  }
}

// Each question's revealed choice: option names, "blank vote" or "nothing".
export function answersInWords(params, audited) {
  return params.questions.map((question, index) => {
    const start = params.offsets[index];
    const picked = question.options
      .filter((_, offset) => audited.choices[start + offset] === 1n)
      .map((option) => option.name);
    const blank = question.blank && audited.choices[start + question.options.length] === 1n;
    const answer = blank ? "blank vote" : picked.join(", ") || "nothing";
    return [question.title || `question ${index + 1}`, answer];
  });
}

// A record's audited_ballots section (docs/election-record.md, step 17):
// each document must open to its choices, must not be on the cast board
// (castTrackers: the board's trackers) and must appear once; failures are
// `audited` failures naming the position (Python's audits.py). Each valid
// one goes to report.audited with its revealed choices in words.
export async function checkAuditedBallots(report, params, items, castTrackers) {
  const seen = new Set();
  let position = 0;
  for await (const { value, duplicate } of items) {
    position += 1;
    const where = `audited ballot ${position}`;
    if (duplicate !== null) {
      report.fail("audited", `${where}: duplicate key ${pythonRepr(duplicate)}`);
      continue;
    }
    let audited;
    try {
      audited = await checkAuditedBallot(params, value);
    } catch (error) {
      if (!(error instanceof BallotCryptoError)) throw error;
      report.fail("audited", `${where}: ${error.message}`);
      continue;
    }
    const { tracker } = audited;
    if (castTrackers.has(tracker)) {
      report.fail("audited", `${where} (tracker ${tracker}) is also on the cast board: ` +
        "its choices are public and it must not be counted");
    }
    if (seen.has(tracker)) {
      report.fail("audited", `${where} (tracker ${tracker}) appears twice`);
    }
    seen.add(tracker);
    report.audited.push({ position, tracker, answers: answersInWords(params, audited) });
  }
}
