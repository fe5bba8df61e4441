// The "Verify this election" page: runs the browser verifier in a Web Worker
// (verify-worker.js) on the election record, shows its progress, verdict,
// failures, the board's hashes and the results, and looks trackers up.
// Everything shown comes from the worker's report, written as text (never
// as HTML), so nothing in the record can inject markup. The page's own words
// are in its language, from Django's catalog (gettext, ngettext, interpolate),
// which the page loads before this script; the report's check names and
// messages stay in English, the same words as the reference verifier's.
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
  const language = document.documentElement.lang || "en";
  const numbers = new Intl.NumberFormat(language);
  const tenths = new Intl.NumberFormat(language, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

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
    statusText.textContent = interpolate(gettext("Ballots verified: %(done)s of %(total)s."), {
      done: numbers.format(done),
      total: numbers.format(total),
    }, true);
  }

  function describeFailure(failure) {
    let where = "";
    if (failure.sequence !== null) {
      where = interpolate(gettext("ballot %(sequence)s: "), failure, true);
    } else if (failure.position !== null) {
      where = interpolate(gettext("ballot at position %(position)s: "), failure, true);
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
      text = interpolate(gettext("Unreadable: the record cannot be read (%(reason)s)."), { reason: report.malformed }, true);
    } else if (report.ok) {
      kind = "verified";
      text = interpolate(
        ngettext(
          "Verified: every check holds for the %(ballots)s ballot of this record.",
          "Verified: every check holds for the %(ballots)s ballots of this record.",
          report.ballots,
        ),
        { ballots: numbers.format(report.ballots) },
        true,
      );
      // A v3 record (ballot boxes, revoting) says how many of them the tally counts.
      if (report.counted !== undefined && report.counted !== report.ballots) {
        text += " " + interpolate(
          gettext("%(counted)s of them are counted: with revoting, only each voter's last ballot is in the tally."),
          { counted: numbers.format(report.counted) },
          true,
        );
      }
    } else {
      kind = "failed";
      text = interpolate(
        ngettext("Failed: %(count)s check failed.", "Failed: %(count)s checks failed.", report.failure_count),
        { count: numbers.format(report.failure_count) },
        true,
      );
    }
    verdict.dataset.verdict = kind;
    verdict.className = "message " + (kind === "verified" ? "success" : "error");
    verdict.textContent = text;
    verdict.hidden = false;
    showList("verify-failures", "verify-failure-list", report.failures.map(describeFailure));
    const hidden = report.failure_count - report.failures.length;
    const more = document.getElementById("verify-failure-more");
    more.hidden = hidden <= 0;
    more.textContent = hidden > 0 ? interpolate(gettext("… and %(count)s more."), { count: numbers.format(hidden) }, true) : "";
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
    const notRead = gettext("not read");
    document.getElementById("record-genesis").textContent = values.genesis || notRead;
    document.getElementById("record-boxes").textContent = values.boxes || notRead;
    document.getElementById("record-head").textContent = values.head || notRead;
    document.getElementById("record-closing").textContent = values.closing ||
      (chain ? gettext("none (the election was not closed)") : notRead);
  }

  function countText(count) {
    return count === null ? gettext("not confirmed (see the failed checks)") : String(count);
  }

  function resultTable(question, index) {
    const table = element("table", undefined, "results");
    table.appendChild(element("caption", question.question || interpolate(gettext("Question %(number)s"), { number: index + 1 }, true)));
    const head = table.createTHead().insertRow();
    head.appendChild(element("th", gettext("Option"))).scope = "col";
    head.appendChild(element("th", gettext("Votes"), "num")).scope = "col";
    const body = table.createTBody();
    const rows = question.options.map((option) => [option.name, option.count]);
    if (question.blank_allowed) {
      rows.push([gettext("Blank votes"), question.blank]);
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
      const who = report.trustees.decrypted_by.join(", ") || gettext("none");
      trustees.textContent = interpolate(
        gettext("Decrypted by trustees %(who)s of %(trustees)s (%(threshold)s needed), each with a proof checked here."),
        { who, trustees: report.trustees.trustees, threshold: report.trustees.threshold },
        true,
      );
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
      node.appendChild(element("p", interpolate(gettext("Revealed: %(answers)s"), { answers: answers.join("; ") }, true), "help"));
      return node;
    });
    document.getElementById("verified-audit-list").replaceChildren(...items);
    document.getElementById("verified-audits").hidden = false;
  }

  function showLookup(message) {
    const found = message.found;
    if (found !== null) {
      const where = { sequence: found.sequence, box: found.box, position: found.position, tracker: message.tracker };
      let text;
      if (found.box !== null) {
        text = found.position !== found.sequence
          ? gettext("On the board as ballot #%(sequence)s of box %(box)s (entry %(position)s of the record): tracker %(tracker)s.")
          : gettext("On the board as ballot #%(sequence)s of box %(box)s: tracker %(tracker)s.");
      } else {
        text = found.position !== found.sequence
          ? gettext("On the board as ballot #%(sequence)s (entry %(position)s of the record): tracker %(tracker)s.")
          : gettext("On the board as ballot #%(sequence)s: tracker %(tracker)s.");
      }
      text = interpolate(text, where, true);
      if (found.replaced_by !== null) {
        text += " " + interpolate(
          gettext("Replaced, not counted: its voter cast ballot #%(later)s later in the same box, and only a voter's last ballot counts."),
          { later: found.replaced_by },
          true,
        );
      } else if (message.counted) {
        text += " " + gettext("Counted: it is in the encrypted tally that the published results decrypt.");
      } else if (message.complete) {
        text += " " + gettext("Not confirmed as counted: the record fails verification (see above).");
      }
      trackerResult.textContent = text;
    } else if (message.complete) {
      trackerResult.textContent = interpolate(
        gettext("Not on the board: no ballot of this record has the tracker %(tracker)s."),
        message,
        true,
      );
    } else {
      trackerResult.textContent = interpolate(
        ngettext(
          "Not among the %(ballots)s ballot read so far; look again once the verification has finished.",
          "Not among the %(ballots)s ballots read so far; look again once the verification has finished.",
          message.ballots,
        ),
        { ballots: numbers.format(message.ballots) },
        true,
      );
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
      statusText.textContent = interpolate(
        gettext("Finished in %(seconds)s s."),
        { seconds: tenths.format(report.seconds) },
        true,
      );
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
      statusText.textContent = interpolate(gettext("The verification could not run: %(error)s."), { error: message.message }, true);
    }
  };
  worker.onerror = function () {
    statusText.textContent = gettext("The verifier could not start in this browser.");
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
