// The trustee page: hands the selected share file to trustee-worker.js, shows its
// progress, and sends only the partial decryption file it returns. Text is in the
// page's language, from Django's catalog (gettext, interpolate), which the page loads
// before this script; the module worker has no catalog, so it is given its sentences.
(function () {
  "use strict";

  const root = document.getElementById("trustee");
  if (!root) return;
  const byId = (id) => document.getElementById(id);
  const form = byId("trustee-form");
  const fileInput = byId("share-file");
  const passphrase = byId("share-passphrase");
  const compute = byId("trustee-compute");
  const progress = byId("trustee-progress");
  const status = byId("trustee-status");
  const result = byId("trustee-result");
  const save = byId("trustee-save");
  const send = byId("trustee-send");
  const publicKey = JSON.parse(byId("trustee-public-key").textContent);
  const csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  let partial = null; // { trustee, text }

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function onMessage(event) {
    const message = event.data;
    if (message.type === "tally") {
      byId("tally-ballots").textContent = String(message.ballots);
      byId("tally-closing").textContent = message.closingHash;
    } else if (message.type === "progress") {
      progress.max = message.total;
      progress.value = message.done;
      say(
        message.step === "unsealing"
          ? gettext("Opening your share with your passphrase…")
          : interpolate(gettext("Decrypting total %(done)s of %(total)s…"), message, true),
      );
    } else if (message.type === "partial") {
      partial = { trustee: message.trustee, text: message.text };
      result.hidden = false;
      compute.disabled = false;
      say(interpolate(gettext("Trustee %(trustee)s: your partial decryption is ready. Save it, send it, or both."), message, true));
    } else if (message.type === "error") {
      compute.disabled = false;
      progress.hidden = true;
      say(message.message, true);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) {
      say(gettext("Choose your share file first."), true);
      return;
    }
    partial = null;
    result.hidden = true;
    compute.disabled = true;
    progress.hidden = false;
    progress.removeAttribute("value");
    say(gettext("Checking your share against the election's key…"));
    const worker = new Worker(root.dataset.workerUrl, { type: "module" });
    worker.onmessage = onMessage;
    worker.onerror = (error) => {
      compute.disabled = false;
      say(interpolate(gettext("The computation failed: %(error)s"), { error: error.message || gettext("the worker stopped") }, true), true);
    };
    worker.postMessage({
      type: "decrypt",
      publicKey,
      tallyUrl: root.dataset.tallyUrl,
      shareFile: file,
      passphrase: passphrase.value || null,
      sentences: {
        sealed: gettext("this share is sealed: type its passphrase"),
        unsealed: gettext("this share is not sealed: leave the passphrase empty"),
        noTotals: gettext("the site did not give the totals (HTTP %(status)s)"),
      },
    });
    passphrase.value = "";
  });

  save.addEventListener("click", () => {
    if (!partial) return;
    const url = URL.createObjectURL(new Blob([partial.text], { type: "application/json" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `partial-${partial.trustee}.json`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  send.addEventListener("click", async () => {
    if (!partial) return;
    send.disabled = true;
    say(gettext("Sending; the site checks every proof…"));
    try {
      const response = await fetch(root.dataset.submitUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: partial.text,
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        say(
          interpolate(
            gettext("Accepted: trustee %(trustee)s's partial decryption is stored (%(stored)s of the %(threshold)s needed so far)."),
            answer,
            true,
          ),
        );
        return;
      }
      say(answer.error || interpolate(gettext("The site refused it (HTTP %(status)s)."), { status: response.status }, true), true);
    } catch (error) {
      say(interpolate(gettext("Could not reach the site: %(error)s. Save the file and try again."), { error: error.message }, true), true);
    }
    send.disabled = false;
  });
})();
