// Voting booth worker: encrypts the ballot and proves it valid off the main thread.
//
// Start it as a module worker as soon as the booth page opens:
//   const worker = new Worker(url, { type: "module" });
//
// Messages to the worker:
//   { type: "init", params, voter_context, fingerprint? }
//       params: the document of Python's params_to_json (election id, n,
//       candidates, min/max selections as hex strings); voter_context: the
//       string the server assigned to this voter; fingerprint (optional):
//       the server's params fingerprint, checked against the recomputed one.
//       Starts every exponentiation that does not depend on the choice.
//   { type: "encrypt", selections }
//       selections: one 0 or 1 per candidate, in ballot order. Waits for the
//       precomputation if it is still running, then finishes the proofs.
//       One init serves one encrypt; send init again for another ballot.
//
// Messages from the worker:
//   { type: "progress", done, total }   precomputation steps done so far
//   { type: "ready", precomputeMs }     precomputation finished
//   { type: "ballot", ballot, json, tracker, timings: { precomputeMs, finishMs } }
//       ballot: the ballot document; json: its canonical JSON (send this to
//       the server); tracker: hex SHA-256 of json, to show the voter.
//   { type: "error", message }          anything refused or failed
import { createBoothHandler } from "./ballot-crypto.mjs";

const handle = createBoothHandler((message) => self.postMessage(message));
self.onmessage = (event) => {
  handle(event.data);
};
