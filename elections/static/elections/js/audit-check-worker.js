// Checks one audited ballot in the visitor's browser (the audited ballots page).
//
// Fetches the audited ballot's own file from the site and re-encrypts every slot
// from its revealed choice and randomness (audited-ballot.mjs, the twin of
// Python's check_audited_ballot), under the election's parameters as the page
// gives them, whose fingerprint the audited ballot must name.
//   in:  { params, url }   params: the election's parameters document; url: the file
//   out: { type: "ok", tracker, answers: [[question, answer], ...] }
//        { type: "error", message }
import { answersInWords, checkAuditedBallot } from "./audited-ballot.mjs";
import { parseParams } from "./election-params.mjs";

self.onmessage = async (event) => {
  try {
    const params = await parseParams(event.data.params);
    const response = await fetch(event.data.url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`the site did not give the file (HTTP ${response.status})`);
    const audited = await checkAuditedBallot(params, await response.text());
    self.postMessage({ type: "ok", tracker: audited.tracker, answers: answersInWords(params, audited) });
  } catch (error) {
    self.postMessage({ type: "error", message: String(error.message || error) });
  }
  self.close();
};
