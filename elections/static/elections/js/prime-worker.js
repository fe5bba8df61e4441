// Searches for one random safe prime of `bits` bits, for the key ceremony page.
//
// The ceremony worker starts two of these at once, one per prime of the modulus,
// so a two-core machine finds both in the time of one.
//   in:  { bits }
//   out: { type: "progress", tested }   candidates tested so far (after each sieve window)
//        { type: "prime", prime }       the prime, as lowercase hex
//        { type: "error", message }
import { generateSafePrime } from "./threshold.mjs";
import { randomBits } from "./trustee-files.mjs";

self.onmessage = async (event) => {
  try {
    const prime = await generateSafePrime(event.data.bits, {
      randbits: randomBits,
      onProgress: (tested) => self.postMessage({ type: "progress", tested }),
    });
    self.postMessage({ type: "prime", prime: prime.toString(16) });
  } catch (error) {
    self.postMessage({ type: "error", message: String(error.message || error) });
  }
};
