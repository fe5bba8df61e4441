// A trustee's partial decryption, computed in their browser (the trustee page).
//
// The worker opens the share file the trustee selected (reading the File itself,
// so the page never handles the share), checks it against the election's public
// key, fetches the encrypted totals, and computes one partial decryption with its
// proof per total. It answers with the partial decryption file, nothing secret.
//
// Message to the worker:
//   { type: "decrypt", publicKey, tallyUrl, shareFile, passphrase, sentences }
//       publicKey: the election's public.json text; shareFile: a File;
//       passphrase: a string, or null for an unsealed share; sentences: the
//       messages below in the page's language (a worker has no catalog), with
//       English ones when absent
// Messages from the worker:
//   { type: "tally", ballots, closingHash }       what is about to be decrypted
//   { type: "progress", step, done, total }       step: "unsealing" | "decrypting"
//   { type: "partial", trustee, text }            the partial decryption file
//   { type: "error", message }
import {
  checkTallyKey,
  dumpPartial,
  loadPublicKey,
  loadShare,
  loadTally,
  partiallyDecryptTally,
  randomBits,
  shareIsSealed,
} from "./trustee-files.mjs";

const ENGLISH = {
  sealed: "this share is sealed: type its passphrase",
  unsealed: "this share is not sealed: leave the passphrase empty",
  noTotals: "the site did not give the totals (HTTP %(status)s)",
};

async function decrypt({ publicKey, tallyUrl, shareFile, passphrase, sentences }) {
  const say = { ...ENGLISH, ...sentences };
  const key = await loadPublicKey(publicKey);
  const response = await fetch(tallyUrl, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error(say.noTotals.replace("%(status)s", String(response.status)));
  const tally = await loadTally(await response.text());
  checkTallyKey(key, tally);
  self.postMessage({ type: "tally", ballots: tally.ballotCount, closingHash: tally.closingHash });
  const shareText = await shareFile.text();
  const sealed = shareIsSealed(shareText);
  if (sealed && !passphrase) throw new Error(say.sealed);
  if (!sealed && passphrase) throw new Error(say.unsealed);
  const share = await loadShare(shareText, key, sealed ? passphrase : null, {
    onProgress: (fraction) => self.postMessage({ type: "progress", step: "unsealing", done: fraction, total: 1 }),
  });
  const partial = await partiallyDecryptTally(key, share, tally, {
    randbits: randomBits,
    onProgress: (done, total) => self.postMessage({ type: "progress", step: "decrypting", done, total }),
  });
  self.postMessage({ type: "partial", trustee: partial.trustee, text: dumpPartial(partial) });
}

self.onmessage = async (event) => {
  try {
    if (event.data.type === "decrypt") await decrypt(event.data);
  } catch (error) {
    self.postMessage({ type: "error", message: String(error.message || error) });
  }
  self.close(); // one computation per worker: nothing of the share outlives it
};
