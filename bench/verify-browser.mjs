// The browser verifier's code (record-verify.mjs) under Node, on one thread:
//   node bench/verify-browser.mjs RECORD.json [--min-key-bits 2048]
// Streams the file in 64 KB chunks, as fetch() would deliver it, and prints
// one JSON line: exit_code, ballots, seconds, ballots_per_second, max_rss
// (bytes, the process's peak resident set) and the report's failures.
// bench/verify_browser.py runs it beside the reference verifier and chromium.
import { createReadStream } from "node:fs";
import { resourceUsage } from "node:process";

import { verifyRecord } from "../elections/static/elections/js/record-verify.mjs";

const [path, ...rest] = process.argv.slice(2);
const floor = rest.indexOf("--min-key-bits");
const minKeyBits = floor === -1 ? 2048 : Number(rest[floor + 1]);
const started = performance.now();
const report = await verifyRecord(createReadStream(path, { highWaterMark: 65536 }), {
  minKeyBits,
  onProgress: (done, total) => process.stderr.write(`\r  node: ${done} / ${total}`),
});
const seconds = (performance.now() - started) / 1000;
process.stderr.write("\n");
console.log(JSON.stringify({
  exit_code: report.exitCode,
  ballots: report.ballots,
  seconds,
  ballots_per_second: report.ballots / seconds,
  max_rss: resourceUsage().maxRSS * 1024,
  failures: report.failures.slice(0, 5),
}));
