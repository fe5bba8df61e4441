// Runs the browser's trustee-file code under Node for tests/trustee/test_browser_files.py.
// Reads one JSON request on stdin and writes the answer on stdout:
//   {"action": "seal-share", "public": <public.json text>, "index": i, "share": <hex>,
//    "passphrase": <text>}                  -> the sealed share file
//   {"action": "public-key", "election_id": <id>, "n": <hex>, "threshold": K, "trustees": N,
//    "v": <hex>, "verification_keys": [<hex>, ...]}  -> public.json
//   {"action": "partial", "public": <text>, "share": <share file text>,
//    "passphrase": <text or null>, "tally": <text>}  -> partial-<i>.json
//   {"action": "limits"}                     -> {"MAX_PUBLIC_BYTES": ..., ...} as JSON
//   {"action": "read", "reader": "public" | "share" | "tally", "files": [<text>, ...],
//    "public": <text, for "share">, "passphrase": <text or null>}
//                                            -> JSON list: null (accepted) or the refusal
import { readFileSync } from "node:fs";

import * as trusteeFiles from "../../elections/static/elections/js/trustee-files.mjs";

const big = (hex) => BigInt("0x" + hex);

async function read(request) {
  const publicKey = request.reader === "share"
    ? await trusteeFiles.loadPublicKey(request.public)
    : null;
  const readers = {
    public: (text) => trusteeFiles.loadPublicKey(text),
    share: (text) => trusteeFiles.loadShare(text, publicKey, request.passphrase),
    tally: (text) => trusteeFiles.loadTally(text),
  };
  const verdicts = [];
  for (const text of request.files) {
    try {
      await readers[request.reader](text);
      verdicts.push(null);
    } catch (error) {
      if (error.name !== "BallotCryptoError") throw error;
      verdicts.push(error.message);
    }
  }
  return JSON.stringify(verdicts);
}

const actions = {
  async "seal-share"({ public: text, index, share, passphrase }) {
    const publicKey = await trusteeFiles.loadPublicKey(text);
    return trusteeFiles.dumpShare(publicKey, { index, share: big(share) }, passphrase);
  },
  async "public-key"(request) {
    const key = {
      n: big(request.n),
      threshold: request.threshold,
      trustees: request.trustees,
      v: big(request.v),
      verificationKeys: request.verification_keys.map(big),
    };
    return trusteeFiles.dumpPublicKey(await trusteeFiles.makePublicKey(request.election_id, key));
  },
  async partial({ public: publicText, share: shareText, passphrase, tally: tallyText }) {
    const publicKey = await trusteeFiles.loadPublicKey(publicText);
    const share = await trusteeFiles.loadShare(shareText, publicKey, passphrase);
    const tally = await trusteeFiles.loadTally(tallyText);
    return trusteeFiles.dumpPartial(
      await trusteeFiles.partiallyDecryptTally(publicKey, share, tally),
    );
  },
  async limits() {
    const names = ["MAX_PUBLIC_BYTES", "MAX_SHARE_BYTES", "MAX_TALLY_BYTES", "MAX_PARTIAL_BYTES"];
    return JSON.stringify(Object.fromEntries(names.map((name) => [name, trusteeFiles[name]])));
  },
  read,
};

const request = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(await actions[request.action](request));
