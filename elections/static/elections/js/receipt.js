// Receipt page: print it, download it as a text file, and compare the server's tracker
// with the one the booth computed in this tab before sending the ballot.
//
// The receipt holds the tracker, the election, the cast time and the board position,
// never the choice. The booth's own tracker comes from sessionStorage (booth-cast.mjs), so it
// is there only in the tab the voter voted in. Text is in the page's language, from
// Django's catalog (gettext, interpolate), which the page loads before this script.
(function () {
  "use strict";

  const dataNode = document.getElementById("receipt-data");
  if (!dataNode) {
    return;
  }
  const receipt = JSON.parse(dataNode.textContent);
  const byId = function (id) {
    return document.getElementById(id);
  };

  function receiptText(boothTracker) {
    const lines = [
      gettext("Receipt of a ballot cast"),
      "",
      interpolate(gettext("Election: %(election)s"), receipt, true),
      interpolate(gettext("Tracker: %(tracker)s"), receipt, true),
      interpolate(gettext("Position on the board: #%(sequence)s"), receipt, true),
      interpolate(gettext("Cast at: %(cast_at)s (UTC)"), receipt, true),
      interpolate(gettext("Chain hash: %(chain_hash)s"), receipt, true),
    ];
    if (boothTracker) {
      lines.push(interpolate(gettext("Tracker computed by the booth before sending: %(tracker)s"), { tracker: boothTracker }, true));
    }
    lines.push(
      "",
      gettext("The tracker is a fingerprint of the encrypted ballot: it does not reveal the choice."),
      interpolate(gettext("Anyone can check it at any time, signed in or not: %(check_url)s"), receipt, true),
      ""
    );
    return lines.join("\n");
  }

  function download(text) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "receipt-" + receipt.slug + ".txt";
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 1000);
  }

  function keptByBooth() {
    try {
      const record = JSON.parse(window.sessionStorage.getItem(receipt.storage_key) || "null");
      return record && typeof record.tracker === "string" ? record : null;
    } catch (error) {
      return null;
    }
  }

  function compare(record) {
    if (record === null) {
      byId("booth-none").hidden = false;
      return;
    }
    byId("booth-tracker").textContent = record.tracker;
    byId("booth-comparison").hidden = false;
    const answered = record.answer && record.answer.tracker;
    if (record.tracker === receipt.tracker && (!answered || answered === record.tracker)) {
      byId("booth-comparison").classList.add("match");
      byId("booth-match").hidden = false;
      return;
    }
    const details = [];
    if (record.tracker !== receipt.tracker) {
      details.push(
        interpolate(gettext("Your browser computed %(booth)s; this receipt says %(receipt)s."), { booth: record.tracker, receipt: receipt.tracker }, true)
      );
    }
    if (answered && answered !== record.tracker) {
      const answer = record.tracker === receipt.tracker
        ? gettext("This receipt shows your browser's tracker, but when you cast, the server answered with the tracker %(tracker)s.")
        : gettext("When you cast, the server answered with the tracker %(tracker)s.");
      details.push(interpolate(answer, { tracker: answered }, true));
    }
    byId("booth-mismatch-detail").textContent = details.join(" ");
    byId("booth-mismatch").hidden = false;
  }

  const record = keptByBooth();
  compare(record);

  const printButton = byId("print-receipt");
  printButton.hidden = false;
  printButton.addEventListener("click", function () {
    window.print();
  });
  const downloadButton = byId("download-receipt");
  downloadButton.hidden = false;
  downloadButton.addEventListener("click", function () {
    download(receiptText(record && record.tracker));
  });
})();
