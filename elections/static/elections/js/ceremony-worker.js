// The key ceremony in the administrator's browser: the dealer of docs/trustees.md.
//
// It finds two safe primes (two prime workers at once), deals the key K of N,
// and keeps the shares in this worker only. The page receives the public file
// and, one trustee at a time, that trustee's share file, sealed under the
// passphrase the trustee typed (or plain, for a demo, when the page says so).
// Closing the page or sending "forget" ends the worker and every secret with it.
//
// Messages to the worker:
//   { type: "deal", electionId, bits, threshold, trustees }
//   { type: "share", index, passphrase }   passphrase null: an unsealed demo share
//   { type: "forget" }
// Messages from the worker:
//   { type: "progress", step, tested }     step: "primes" | "shares"; tested: candidates
//   { type: "public", text, fingerprint, seconds }   public.json and its fingerprint
//   { type: "share", index, text, sealed }           trustee index's share file
//   { type: "error", message }
import { dealWithPrimes, primesFit } from "./threshold.mjs";
import { dumpPublicKey, dumpShare, makePublicKey, randomBits } from "./trustee-files.mjs";

let dealt = null; // { publicKey, shares } once dealt; nothing else is kept

function findPrime(bits, tested, slot) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./prime-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (event) => {
      const message = event.data;
      if (message.type === "progress") {
        tested[slot] = message.tested;
        self.postMessage({ type: "progress", step: "primes", tested: tested[0] + tested[1] });
      } else {
        worker.terminate();
        if (message.type === "prime") resolve(BigInt("0x" + message.prime));
        else reject(new Error(message.message));
      }
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message || "the prime search failed"));
    };
    worker.postMessage({ bits });
  });
}

async function deal({ electionId, bits, threshold, trustees }) {
  const started = performance.now();
  const tested = [0, 0];
  for (;;) {
    const [p, q] = await Promise.all([findPrime(bits / 2, tested, 0), findPrime(bits / 2, tested, 1)]);
    if (!primesFit(p, q, bits)) continue;
    self.postMessage({ type: "progress", step: "shares", tested: tested[0] + tested[1] });
    const { key, shares } = await dealWithPrimes(p, q, threshold, trustees, { randbits: randomBits });
    const publicKey = await makePublicKey(electionId, key);
    dealt = { publicKey, shares };
    self.postMessage({
      type: "public",
      text: dumpPublicKey(publicKey),
      fingerprint: publicKey.fingerprint,
      seconds: (performance.now() - started) / 1000,
    });
    return;
  }
}

async function share({ index, passphrase }) {
  const found = dealt && dealt.shares.find((item) => item.index === index);
  if (!found) throw new Error(`no share for trustee ${index}: deal first`);
  const text = await dumpShare(dealt.publicKey, found, passphrase);
  self.postMessage({ type: "share", index, text, sealed: passphrase !== null });
}

self.onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.type === "deal") await deal(message);
    else if (message.type === "share") await share(message);
    else if (message.type === "forget") {
      dealt = null;
      self.close();
    }
  } catch (error) {
    self.postMessage({ type: "error", message: String(error.message || error) });
  }
};
