// Voting booth worker: encrypts the ballot and proves it valid off the main thread.
//
// Start it as a module worker as soon as the booth page opens:
//   const worker = new Worker(url, { type: "module" });
//
// Messages to the worker:
//   { type: "init", params, voter_context, fingerprint? }
//       params: the document of Python's params_to_json, format
//       evoting/election-params/v2 (questions with their labels, bounds and
//       blank rule) or, for an election created before v2,
//       evoting/election-params/v1 (candidate ids and one pair of bounds);
//       voter_context: the string the server assigned to this voter;
//       fingerprint (optional): the server's params fingerprint, checked
//       against the one recomputed from params. Starts every
//       exponentiation that does not depend on the choice.
//   { type: "encrypt", selections }
//       selections: one 0 or 1 per slot: question by question, one per
//       option in ballot order, then, if the question allows blank votes,
//       1 for a blank vote (which selects nothing else). A v1 election has
//       one question without blank. Waits for the precomputation if it is
//       still running, then finishes the proofs. One init serves one
//       encrypt; send init again for another ballot.
//   { type: "audit" }
//       reveals the last encrypted ballot instead of casting it: replies with
//       the audited-ballot document (docs/ballot-format.md), then forgets that
//       ballot and its randomness. Send init again (fresh randomness) before
//       the next encrypt.
//   { type: "forget" }
//       drops the last ballot's randomness and any precomputation (after a cast).
//
// Messages from the worker:
//   { type: "progress", done, total }   precomputation steps done so far
//   { type: "ready", precomputeMs }     precomputation finished
//   { type: "ballot", ballot, json, tracker, timings: { precomputeMs, finishMs } }
//       ballot: the ballot document (evoting/ballot/v2, one part per
//       question, or evoting/ballot/v1 for v1 params); json: its canonical
//       JSON (send this to the server); tracker: hex SHA-256 of json, to
//       show the voter.
//   { type: "audited", json, tracker }  the audited ballot's canonical JSON
//   { type: "error", message }          anything refused or failed; a refused
//                                       choice names its question ("question 2: ...")
import { createBoothHandler } from "./ballot-crypto.mjs";

const handle = createBoothHandler((message) => self.postMessage(message));
self.onmessage = (event) => {
  handle(event.data);
};
