// The trustee page: hands the selected share file to trustee-worker.js, shows its
// progress, and sends only the partial decryption file it returns.
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
          ? "Opening your share with your passphrase…"
          : `Decrypting total ${message.done} of ${message.total}…`,
      );
    } else if (message.type === "partial") {
      partial = { trustee: message.trustee, text: message.text };
      result.hidden = false;
      compute.disabled = false;
      say(`Trustee ${message.trustee}: your partial decryption is ready. Save it, send it, or both.`);
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
      say("Choose your share file first.", true);
      return;
    }
    partial = null;
    result.hidden = true;
    compute.disabled = true;
    progress.hidden = false;
    progress.removeAttribute("value");
    say("Checking your share against the election's key…");
    const worker = new Worker(root.dataset.workerUrl, { type: "module" });
    worker.onmessage = onMessage;
    worker.onerror = (error) => {
      compute.disabled = false;
      say(`The computation failed: ${error.message || "the worker stopped"}`, true);
    };
    worker.postMessage({
      type: "decrypt",
      publicKey,
      tallyUrl: root.dataset.tallyUrl,
      shareFile: file,
      passphrase: passphrase.value || null,
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
    say("Sending; the site checks every proof…");
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
          `Accepted: trustee ${answer.trustee}'s partial decryption is stored ` +
            `(${answer.stored} of the ${answer.threshold} needed so far).`,
        );
        return;
      }
      say(answer.error || `The site refused it (HTTP ${response.status}).`, true);
    } catch (error) {
      say(`Could not reach the site: ${error.message}. Save the file and try again.`, true);
    }
    send.disabled = false;
  });
})();
