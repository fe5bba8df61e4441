// One of the browser verifier's batch workers: checks batches of ballots
// (record-ballots.mjs's checkBallotBatch) for verify-worker.js, which reads the
// record and sends them here, so that proofs are checked on every core.
//
// Messages to the worker: { id, params, batch, word }
//   params: the election parameters' canonical JSON; batch: pending ballots
//   { sequence, context, tracker, document, counted } (counted: false for a
//   replaced ballot, checked but not multiplied in); word: whether to word
//   failing proofs (a strict check, two exponentiations per branch).
// Messages from the worker: { id, outcome } (failures, product, unreadable)
//   or { id, error }.
import { parseParams } from "./election-params.mjs";
import { checkBallotBatch } from "./record-ballots.mjs";

let parsed = null;

async function paramsOf(text) {
  if (parsed === null || parsed.text !== text) {
    parsed = { text, params: parseParams(JSON.parse(text)) };
  }
  return parsed.params;
}

self.onmessage = async (event) => {
  const { id, params, batch, word } = event.data;
  try {
    const outcome = await checkBallotBatch(await paramsOf(params), batch, word);
    self.postMessage({ id, outcome });
  } catch (error) {
    self.postMessage({ id, error: String(error?.message ?? error) });
  }
};
