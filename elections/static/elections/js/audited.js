// The audited ballots page: "Check it in this browser" re-encrypts one audited
// ballot in a Web Worker (audit-check-worker.js) and says what it opened to. Text is
// in the page's language, from Django's catalog (gettext, interpolate), which the page
// loads before this script; the choices in words come from the worker, in English,
// as the verifiers' reports have them.
(function () {
  "use strict";

  const root = document.getElementById("audited");
  const paramsNode = document.getElementById("audit-params");
  if (!root || !paramsNode) return;
  const params = JSON.parse(paramsNode.textContent);

  root.querySelectorAll("button[data-check]").forEach((button) => {
    const status = document.getElementById(button.dataset.status);
    button.hidden = false;
    button.addEventListener("click", () => {
      button.disabled = true;
      status.classList.remove("error");
      status.textContent = gettext("Re-encrypting every choice with its revealed randomness…");
      const worker = new Worker(root.dataset.workerUrl, { type: "module" });
      worker.onmessage = (event) => {
        const message = event.data;
        button.disabled = false;
        if (message.type === "ok") {
          const words = message.answers.map(([question, answer]) => `${question}: ${answer}`);
          status.textContent = interpolate(gettext("Checked here: it encrypts exactly %(choices)s."), { choices: words.join("; ") }, true);
        } else {
          status.classList.add("error");
          status.textContent = interpolate(gettext("This audited ballot does NOT check: %(error)s"), { error: message.message }, true);
        }
      };
      worker.onerror = (event) => {
        button.disabled = false;
        status.classList.add("error");
        status.textContent = interpolate(gettext("The check could not run: %(error)s"), { error: event.message || gettext("the worker stopped") }, true);
      };
      worker.postMessage({ params, url: button.dataset.url });
    });
  });
})();
