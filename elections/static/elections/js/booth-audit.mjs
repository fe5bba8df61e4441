// An audited ballot (Benaloh's challenge) once the worker has revealed it (ES module,
// no DOM): which choices it held, and its publication in the public list of audited
// ballots, where anyone can check it. It is never counted, published or not.

import { postJson } from "./booth-cast.mjs";
import { gettext, interpolate } from "./i18n.mjs";

// isChosen(slot) for the revealed ballot's JSON text, whose choices are one hex
// number per slot (1: chosen).
export function revealedChoice(json) {
  let revealed = [];
  try {
    revealed = JSON.parse(json).choices;
  } catch (error) {
    revealed = [];
  }
  return (slot) => parseInt(revealed[slot], 16) === 1;
}

// Resolves to { url } of the published ballot (a path on this site), or to { error },
// a sentence ending with its full stop.
export async function publishAudit(auditUrl, json, csrfToken) {
  try {
    const { status, body } = await postJson(auditUrl, json, csrfToken);
    if (status === 201 && typeof body.url === "string" && body.url.startsWith("/")) {
      return { url: body.url };
    }
    return { error: body.error || interpolate(gettext("the server answered HTTP %(status)s."), { status }, true) };
  } catch (error) {
    return { error: gettext("no answer from the server.") };
  }
}
