// The key ceremony page of the admin (the "Set the trustees' key" page).
//
// Runs the dealer in ceremony-worker.js: the page never sees a share except as
// the file it saves for its trustee (sealed under the passphrase that trustee
// types, or plain when the administrator ticks "demo"). Only public.json ever
// reaches the server: it is put into the page's own upload form, which the
// administrator submits once every share is saved. Reloading or leaving the page
// ends the worker and every secret it held. Text is in the page's language, from
// Django's catalog (gettext, interpolate), which the page loads before this script.
(function () {
  "use strict";

  const root = document.getElementById("ceremony");
  if (!root) return;
  const MIN_PASSPHRASE = Number(root.dataset.minPassphrase);
  const electionId = root.dataset.electionId;
  const byId = (id) => document.getElementById(id);
  const start = byId("ceremony-start");
  const progress = byId("ceremony-progress");
  const status = byId("ceremony-status");
  const sharesBox = byId("ceremony-shares");
  const shareList = byId("ceremony-share-list");
  const demo = byId("ceremony-demo");
  const fingerprint = byId("ceremony-fingerprint");
  const savePublic = byId("ceremony-save-public");
  const useKey = byId("ceremony-use");
  const form = document.querySelector("form[data-key-upload]");
  const fileInput = form ? form.querySelector('input[type="file"]') : null;

  let worker = null;
  let publicText = null;
  let trustees = 0;
  const saved = new Set();

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("errornote", Boolean(isError));
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function readCounts() {
    const n = Number(byId("ceremony-trustees").value);
    const k = Number(byId("ceremony-threshold").value);
    const bits = Number(byId("ceremony-bits").value);
    if (!Number.isInteger(n) || n < 1 || n > 64) return gettext("The number of trustees must be 1 to 64.");
    if (!Number.isInteger(k) || k < 1 || k > n) {
      return gettext("The threshold must be at least 1 and at most the number of trustees.");
    }
    return { n, k, bits };
  }

  function shareRow(index) {
    const row = document.createElement("div");
    row.className = "form-row";
    row.dataset.trustee = String(index);
    const label = document.createElement("label");
    label.textContent = interpolate(gettext("Trustee %(index)s: passphrase"), { index }, true);
    label.htmlFor = `ceremony-pass-${index}`;
    const first = document.createElement("input");
    first.type = "password";
    first.id = `ceremony-pass-${index}`;
    first.autocomplete = "new-password";
    const again = document.createElement("input");
    again.type = "password";
    again.id = `ceremony-again-${index}`;
    again.autocomplete = "new-password";
    again.setAttribute("aria-label", interpolate(gettext("Trustee %(index)s: the same passphrase again"), { index }, true));
    again.placeholder = gettext("again");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = interpolate(gettext("Save trustee-%(index)s.json"), { index }, true);
    const state = document.createElement("span");
    state.className = "ceremony-share-state";
    state.setAttribute("role", "status");
    button.addEventListener("click", () => {
      const sealed = !demo.checked;
      if (sealed) {
        if (first.value.length < MIN_PASSPHRASE) {
          state.textContent = interpolate(gettext("A passphrase needs at least %(count)s characters."), { count: MIN_PASSPHRASE }, true);
          return;
        }
        if (first.value !== again.value) {
          state.textContent = gettext("The two passphrases differ.");
          return;
        }
      }
      button.disabled = true;
      state.textContent = sealed ? gettext("Sealing (a few seconds)…") : gettext("Preparing…");
      worker.postMessage({ type: "share", index, passphrase: sealed ? first.value : null });
      first.value = "";
      again.value = "";
    });
    row.append(label, " ", first, " ", again, " ", button, " ", state);
    return row;
  }

  function onShare(message) {
    const row = shareList.querySelector(`[data-trustee="${message.index}"]`);
    download(`trustee-${message.index}.json`, message.text);
    saved.add(message.index);
    row.querySelector(".ceremony-share-state").textContent = message.sealed
      ? gettext("Saved, sealed. Hand this file to its trustee only.")
      : gettext("Saved UNSEALED (demo): anyone with this file holds this share.");
    row.querySelectorAll("input").forEach((input) => {
      input.disabled = true;
    });
    if (saved.size === trustees) {
      useKey.disabled = false;
      demo.disabled = true;
      say(gettext("Every share is saved. Check the fingerprint, then use this key for the election."));
    }
  }

  function onMessage(event) {
    const message = event.data;
    if (message.type === "progress") {
      if (message.step === "primes") {
        say(interpolate(gettext("Searching for two safe primes: %(tested)s candidates tested…"), message, true));
      } else {
        progress.max = 3;
        progress.value = 2;
        say(gettext("Dealing the shares and their verification keys…"));
      }
    } else if (message.type === "public") {
      publicText = message.text;
      progress.max = 3;
      progress.value = 3;
      fingerprint.textContent = message.fingerprint;
      sharesBox.hidden = false;
      shareList.replaceChildren();
      for (let index = 1; index <= trustees; index++) shareList.append(shareRow(index));
      say(
        interpolate(
          gettext("Key made in %(seconds)s s. Each trustee now types a passphrase and saves their share file."),
          { seconds: message.seconds.toFixed(1) },
          true,
        ),
      );
    } else if (message.type === "share") {
      onShare(message);
    } else if (message.type === "error") {
      say(interpolate(gettext("The ceremony failed: %(error)s"), { error: message.message }, true), true);
      start.disabled = false;
    }
  }

  start.addEventListener("click", () => {
    const counts = readCounts();
    if (typeof counts === "string") {
      say(counts, true);
      return;
    }
    if (worker) worker.terminate();
    saved.clear();
    publicText = null;
    useKey.disabled = true;
    trustees = counts.n;
    start.disabled = true;
    progress.hidden = false;
    progress.removeAttribute("value"); // indeterminate while the primes are searched for
    say(gettext("Searching for two safe primes…"));
    worker = new Worker(root.dataset.workerUrl, { type: "module" });
    worker.onmessage = onMessage;
    worker.onerror = (event) => {
      say(interpolate(gettext("The ceremony failed: %(error)s"), { error: event.message || gettext("the worker stopped") }, true), true);
      start.disabled = false;
    };
    worker.postMessage({
      type: "deal",
      electionId,
      bits: counts.bits,
      threshold: counts.k,
      trustees: counts.n,
    });
  });

  savePublic.addEventListener("click", () => {
    if (publicText) download("public.json", publicText);
  });

  useKey.addEventListener("click", () => {
    if (!publicText || saved.size !== trustees || !fileInput) return;
    const transfer = new DataTransfer();
    transfer.items.add(new File([publicText], "public.json", { type: "application/json" }));
    fileInput.files = transfer.files;
    useKey.disabled = true;
    // The worker and every share it held end here, before anything is sent.
    worker.postMessage({ type: "forget" });
    worker = null;
    form.requestSubmit();
  });

  window.addEventListener("pagehide", () => {
    if (worker) worker.terminate();
  });
})();
