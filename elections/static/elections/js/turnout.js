// Live turnout on an election's page: polls turnout.json and updates the figures in place,
// with the ballot board's head hash (and closing hash once sealed).
// Only counts and hashes are ever fetched; no partial result exists while an election runs.
(function () {
  "use strict";

  const POLL_MS = 5000;
  const root = document.getElementById("turnout");
  if (!root) {
    return;
  }
  const url = root.dataset.turnoutUrl;
  const bar = document.getElementById("turnout-bar");
  const head = document.getElementById("board-head");
  const closing = document.getElementById("board-closing");
  const closingLabel = document.getElementById("board-closing-label");
  const HASH = /^[0-9a-f]{64}$/;
  const fields = {};
  root.querySelectorAll("[data-field]").forEach(function (node) {
    fields[node.dataset.field] = node;
  });
  let timer = null;

  function show(data) {
    const ballots = Number(data.ballots);
    const eligible = Number(data.eligible);
    if (!Number.isInteger(ballots) || !Number.isInteger(eligible)) {
      return;
    }
    const share = eligible > 0 ? (100 * ballots) / eligible : 0;
    // Only touch the live region when a figure changed, so screen readers are not flooded.
    if (fields.ballots.textContent !== String(ballots) || fields.eligible.textContent !== String(eligible)) {
      fields.ballots.textContent = String(ballots);
      fields.eligible.textContent = String(eligible);
      // Written as the page writes it: the decimal separator of its language (catalog).
      const separator = typeof window.get_format === "function" ? window.get_format("DECIMAL_SEPARATOR") : ".";
      fields.percent.textContent = share.toFixed(1).replace(".", separator);
      bar.max = Math.max(eligible, 1);
      bar.value = ballots;
    }
    root.dataset.status = String(data.status);
    showHashes(data);
  }

  function showHashes(data) {
    if (head && HASH.test(String(data.head)) && head.textContent !== data.head) {
      head.textContent = data.head;
    }
    if (closing && HASH.test(String(data.closing)) && closing.textContent !== data.closing) {
      closing.textContent = data.closing;
      closing.hidden = false;
      if (closingLabel) {
        closingLabel.hidden = false;
      }
    }
  }

  async function poll() {
    timer = null;
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.ok) {
        show(await response.json());
      }
    } catch (error) {
      // A missed poll is harmless: the next one catches up.
    }
    schedule();
  }

  function schedule() {
    // Once published the count is final; hidden tabs do not poll.
    if (root.dataset.status === "published" || document.hidden || timer !== null) {
      return;
    }
    timer = window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("visibilitychange", schedule);
  schedule();
})();
