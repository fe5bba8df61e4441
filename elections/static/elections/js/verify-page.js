// The "Verify this election" page: runs the browser verifier in a Web Worker
// (verify-worker.js) on the election record, shows its progress, verdict,
// failures, the board's hashes and the results, and looks trackers up.
// Everything shown comes from the worker's report, written as text (never
// as HTML), so nothing in the record can inject markup.
(function () {
  "use strict";

  const configNode = document.getElementById("verifier-config");
  if (!configNode || !window.Worker) {
    return;
  }
  const config = JSON.parse(configNode.textContent);
  const progress = document.getElementById("verify-progress");
  const statusText = document.getElementById("verify-status");
  const verdict = document.getElementById("verify-verdict");
  const trackerForm = document.getElementById("tracker-form");
  const trackerInput = document.getElementById("tracker-input");
  const trackerResult = document.getElementById("tracker-result");
  const numbers = new Intl.NumberFormat("en");

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function showProgress(done, total) {
    progress.max = Math.max(total, 1);
    progress.value = Math.min(done, progress.max);
    statusText.textContent = "Ballots verified: " + numbers.format(done) + " of " +
      numbers.format(total) + ".";
  }

  function describeFailure(failure) {
    let where = "";
    if (failure.sequence !== null) {
      where = "ballot " + failure.sequence + ": ";
    } else if (failure.position !== null) {
      where = "ballot at position " + failure.position + ": ";
    }
    return "[" + failure.check + "] " + where + failure.message;
  }

  function showList(containerId, listId, items) {
    const list = document.getElementById(listId);
    list.replaceChildren(...items.map((text) => element("li", text)));
    document.getElementById(containerId).hidden = items.length === 0;
  }

  function showVerdict(report) {
    let text;
    let kind;
    if (report.malformed !== null) {
      kind = "unreadable";
      text = "Unreadable: the record cannot be read (" + report.malformed + ").";
    } else if (report.ok) {
      kind = "verified";
      text = "Verified: every check holds for the " + numbers.format(report.ballots) +
        " ballots of this record.";
      // A v3 record (ballot boxes, revoting) says how many of them the tally counts.
      if (report.counted !== undefined && report.counted !== report.ballots) {
        text += " " + numbers.format(report.counted) + " of them are counted: with " +
          "revoting, only each voter's last ballot is in the tally.";
      }
    } else {
      kind = "failed";
      text = "Failed: " + numbers.format(report.failure_count) + " check" +
        (report.failure_count === 1 ? "" : "s") + " failed.";
    }
    verdict.dataset.verdict = kind;
    verdict.className = "message " + (kind === "verified" ? "success" : "error");
    verdict.textContent = text;
    verdict.hidden = false;
    showList("verify-failures", "verify-failure-list", report.failures.map(describeFailure));
    const hidden = report.failure_count - report.failures.length;
    const more = document.getElementById("verify-failure-more");
    more.hidden = hidden <= 0;
    more.textContent = hidden > 0 ? "… and " + numbers.format(hidden) + " more." : "";
    showList("verify-warnings", "verify-warning-list", report.warnings);
  }

  // A v3 record's chain has boxes: the number of boxes, then the board hash
  // over every box's head in place of one chain's genesis and head.
  function showHashes(chain) {
    const values = chain || {};
    const boxes = values.boxes !== undefined;
    document.querySelectorAll("[data-chain]").forEach((node) => {
      node.hidden = (node.dataset.chain === "boxes") !== boxes;
    });
    document.getElementById("record-genesis").textContent = values.genesis || "not read";
    document.getElementById("record-boxes").textContent = values.boxes || "not read";
    document.getElementById("record-head").textContent = values.head || "not read";
    document.getElementById("record-closing").textContent = values.closing ||
      (chain ? "none (the election was not closed)" : "not read");
  }

  function countText(count) {
    return count === null ? "not confirmed (see the failed checks)" : String(count);
  }

  function resultTable(question, index) {
    const table = element("table", undefined, "results");
    table.appendChild(element("caption", question.question || "Question " + (index + 1)));
    const head = table.createTHead().insertRow();
    head.appendChild(element("th", "Option")).scope = "col";
    head.appendChild(element("th", "Votes", "num")).scope = "col";
    const body = table.createTBody();
    const rows = question.options.map((option) => [option.name, option.count]);
    if (question.blank_allowed) {
      rows.push(["Blank votes", question.blank]);
    }
    rows.forEach(([name, count]) => {
      const row = body.insertRow();
      row.appendChild(element("th", name)).scope = "row";
      row.appendChild(element("td", countText(count), "num"));
    });
    return table;
  }

  function showResults(report) {
    const section = document.getElementById("verified-results");
    if (report.results === null) {
      return;
    }
    document.getElementById("verified-result-tables").replaceChildren(
      ...report.results.map(resultTable),
    );
    const trustees = document.getElementById("verified-trustees");
    if (report.trustees !== null) {
      const who = report.trustees.decrypted_by.join(", ") || "none";
      trustees.textContent = "Decrypted by trustees " + who + " of " + report.trustees.trustees +
        " (" + report.trustees.threshold + " needed), each with a proof checked here.";
      trustees.hidden = false;
    }
    document.getElementById("verified-results-caution").hidden = report.ok;
    section.hidden = false;
  }

  function showAudits(audited) {
    if (audited.length === 0) {
      return;
    }
    const items = audited.map((item) => {
      const node = element("li");
      node.appendChild(element("span", item.tracker, "mono hash"));
      const answers = item.revealed.map((answer) => answer.question + ": " + answer.answer);
      node.appendChild(element("p", "Revealed: " + answers.join("; "), "help"));
      return node;
    });
    document.getElementById("verified-audit-list").replaceChildren(...items);
    document.getElementById("verified-audits").hidden = false;
  }

  function showLookup(message) {
    const found = message.found;
    if (found !== null) {
      let text = "On the board as ballot #" + found.sequence;
      if (found.box !== null) {
        text += " of box " + found.box;
      }
      if (found.position !== found.sequence) {
        text += " (entry " + found.position + " of the record)";
      }
      text += ": tracker " + message.tracker + ".";
      if (found.replaced_by !== null) {
        text += " Replaced, not counted: its voter cast ballot #" + found.replaced_by +
          " later in the same box, and only a voter's last ballot counts.";
      } else if (message.counted) {
        text += " Counted: it is in the encrypted tally that the published results decrypt.";
      } else if (message.complete) {
        text += " Not confirmed as counted: the record fails verification (see above).";
      }
      trackerResult.textContent = text;
    } else if (message.complete) {
      trackerResult.textContent = "Not on the board: no ballot of this record has the tracker " +
        message.tracker + ".";
    } else {
      trackerResult.textContent = "Not among the " + numbers.format(message.ballots) +
        " ballots read so far; look again once the verification has finished.";
    }
    trackerResult.dataset.found = found === null ? "no" : "yes";
  }

  const worker = new Worker(config.worker, { type: "module" });
  worker.onmessage = function (event) {
    const message = event.data;
    if (message.type === "progress") {
      showProgress(message.done, message.total);
    } else if (message.type === "report") {
      const report = message.report;
      showProgress(report.ballots, report.ballots);
      statusText.textContent = "Finished in " + report.seconds.toFixed(1) + " s.";
      showVerdict(report);
      showHashes(report.chain);
      showResults(report);
      showAudits(report.audited);
    } else if (message.type === "lookup") {
      showLookup(message);
    } else if (message.type === "error" && message.of === "lookup") {
      trackerResult.textContent = message.message.charAt(0).toUpperCase() +
        message.message.slice(1) + ".";
      trackerResult.dataset.found = "";
    } else if (message.type === "error") {
      statusText.textContent = "The verification could not run: " + message.message + ".";
    }
  };
  worker.onerror = function () {
    statusText.textContent = "The verifier could not start in this browser.";
  };

  trackerForm.addEventListener("submit", function (event) {
    event.preventDefault();
    trackerResult.textContent = "";
    worker.postMessage({ type: "lookup", tracker: trackerInput.value });
  });

  worker.postMessage({
    type: "verify",
    url: new URL(config.record, window.location.href).href,
    minKeyBits: config.min_key_bits,
  });
})();
