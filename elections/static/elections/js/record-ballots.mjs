// The cryptographic checks of a record's ballots, a batch at a time, in this
// thread or on a pool of workers (ES module): the twin of
// elections/verify/ballots.py, with the same check names and messages.
//
// Each ballot is parsed strictly, its tracker recomputed and its proofs
// checked by the batch test (ballot-verify.mjs's batchVerify); a ballot the
// batch test rejects is checked again strictly, only to word the failure.
// A batch's outcome is its failures and the per-slot product of its counted
// ballots' ciphertexts, which the record checker multiplies into the tally
// it recomputes: a ballot a later one of its voter replaced (revoting) is
// parsed, hashed and proof-checked, but not multiplied in.

import { BallotCryptoError } from "./election-params.mjs";
import { batchVerify, ballotTracker, parseBallot, strictFailure } from "./ballot-verify.mjs";

// Parse, hash and verify a batch of pending ballots. Resolves to the
// failures as [check, message, sequence], the per-slot product of the
// readable counted ballots' ciphertexts and the number of unreadable
// ballots among the counted.
// `word` says whether a failing proof's message will be shown: the strict
// check that words it costs two exponentiations per branch. Batch items are
// { sequence, context, tracker, document, counted }: plain data, so that a
// pool of workers can check batches (verify-batch-worker.js); counted is
// false for a replaced ballot.
export async function checkBallotBatch(params, batch, word = true) {
  const failures = [];
  const product = new Array(params.slotCount).fill(1n);
  const parsed = [];
  let unreadable = 0;
  for (const item of batch) {
    const counted = item.counted !== false;
    let ballot;
    try {
      ballot = parseBallot(params, item.document);
    } catch (error) {
      if (!(error instanceof BallotCryptoError)) throw error;
      failures.push(["ballot", `not a well-formed ballot: ${error.message}`, item.sequence]);
      if (counted) unreadable += 1;
      continue;
    }
    if ((await ballotTracker(ballot)) !== item.tracker) {
      failures.push(["tracker", "the tracker is not the hash of the ballot", item.sequence]);
    }
    if (counted) {
      ballot.ciphertexts.forEach((c, slot) => {
        product[slot] = (product[slot] * c) % params.nSquare;
      });
    }
    parsed.push([item, ballot]);
  }
  const bad = await batchVerify(params, parsed.map(([item, ballot]) => [item.context, ballot]));
  for (const index of bad) {
    const [item, ballot] = parsed[index];
    let message = "invalid proof";
    if (word) {
      const reason = await strictFailure(params, item.context, ballot);
      message += ": " + (reason ?? "the batch test rejects it on its own");
    }
    failures.push(["proof", message, item.sequence]);
  }
  return { failures, product, unreadable };
}

// Checks each batch in this thread, one after the other. A runner's
// submit(params, batch, word, merge) resolves once it may take another batch
// and calls merge(outcome) when the batch is checked; finish() resolves when
// every submitted batch has been merged.
export class InlineRunner {
  async submit(params, batch, word, merge) {
    merge(await checkBallotBatch(params, batch, word));
  }

  async finish() {}
}

