// Casting the encrypted ballot, and checking afterwards that the server kept it
// (ES module, no DOM).
//
// The tracker is the voter's own: the booth computes it before anything is sent and
// keeps it in the tab's sessionStorage for the receipt page (receipt.js reads the same
// record). After the cast it is compared with the server's answer and with the public
// board (check.json); differences() words every mismatch for the voter, since one
// means the server, or something between, may have replaced or dropped the ballot.

import { gettext, interpolate } from "./i18n.mjs";

// POST the canonical JSON text of a ballot. Resolves to the HTTP status and the
// answer's JSON body ({} when it has none); rejects when no answer came.
export async function postJson(url, json, csrfToken) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
    body: json,
  });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

// What the server said it stored, from the body of its 201 answer to the cast.
export function castAnswer(body) {
  return { tracker: body.tracker || gettext("(none)"), sequence: body.sequence };
}

// Where the tracker is on the public board; null if the board cannot be read now.
export async function boardEntry(checkJsonUrl, tracker) {
  try {
    const url = checkJsonUrl + "?tracker=" + encodeURIComponent(tracker);
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    if (!response.ok) {
      return null;
    }
    const found = await response.json();
    return { found: found.found === true, sequence: found.sequence, chain_hash: found.chain_hash };
  } catch (error) {
    return null;
  }
}

// The warnings for the voter: one sentence per way the server's answer (castAnswer) or
// the board (boardEntry, null when unread) disagrees with the booth's own tracker.
// None means the ballot is on the board where the server said.
export function differences(tracker, answer, board) {
  const problems = [];
  if (answer.tracker !== tracker) {
    problems.push(
      interpolate(
        gettext("The server answered that it stored the ballot with tracker %(tracker)s, not the one your browser computed."),
        { tracker: answer.tracker },
        true,
      ),
    );
  }
  if (board !== null && !board.found) {
    problems.push(gettext("The public ballot board has no ballot with your tracker."));
  } else if (board !== null && board.sequence !== answer.sequence) {
    problems.push(
      interpolate(
        gettext("The board has your tracker at position #%(board)s, but the server answered #%(answer)s."),
        { board: board.sequence, answer: String(answer.sequence) },
        true,
      ),
    );
  }
  return problems;
}

// Whether this voter has a ballot on the board: the receipt exists only then.
export async function hasVoted(receiptUrl) {
  try {
    const response = await fetch(receiptUrl, {
      method: "HEAD",
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",
    });
    return response.status === 200;
  } catch (error) {
    return false;
  }
}

// --- The tracker kept for the receipt page ------------------------------------------
// record: { tracker, sent_at, answer (castAnswer, or null before it came),
// board (boardEntry, or null) }.

export function keepTracker(storageKey, record) {
  try {
    window.sessionStorage.setItem(storageKey, JSON.stringify(record));
  } catch (error) {
    // Storage refused (private mode, quota): the comparison after the cast still happens.
  }
}

export function keptTracker(storageKey) {
  try {
    return JSON.parse(window.sessionStorage.getItem(storageKey) || "null");
  } catch (error) {
    return null;
  }
}

export function forgetTracker(storageKey) {
  try {
    window.sessionStorage.removeItem(storageKey);
  } catch (error) {
    // Nothing was kept.
  }
}
