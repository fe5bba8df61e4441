// Prints a ballot made by the browser code under Node, for the Python verifier.
// Usage: node node_make_ballot.mjs <params.json> <voter context> <selections, e.g. 0,1,0>
import { readFileSync } from "node:fs";
import {
  ballotToJson,
  encryptBallot,
  parseParams,
} from "../../elections/static/elections/js/ballot-crypto.mjs";

const [paramsPath, voterContext, selections] = process.argv.slice(2);
const params = await parseParams(JSON.parse(readFileSync(paramsPath, "utf8")));
const ballot = await encryptBallot(params, voterContext, selections.split(",").map(Number));
process.stdout.write(ballotToJson(ballot));
