// The audited ballots page: "Check it in this browser" re-encrypts one audited
// ballot in a Web Worker (audit-check-worker.js) and says what it opened to.
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
      status.textContent = "Re-encrypting every choice with its revealed randomness…";
      const worker = new Worker(root.dataset.workerUrl, { type: "module" });
      worker.onmessage = (event) => {
        const message = event.data;
        button.disabled = false;
        if (message.type === "ok") {
          const words = message.answers.map(([question, answer]) => `${question}: ${answer}`);
          status.textContent = `Checked here: it encrypts exactly ${words.join("; ")}.`;
        } else {
          status.classList.add("error");
          status.textContent = `This audited ballot does NOT check: ${message.message}`;
        }
      };
      worker.onerror = (event) => {
        button.disabled = false;
        status.classList.add("error");
        status.textContent = `The check could not run: ${event.message || "the worker stopped"}`;
      };
      worker.postMessage({ params, url: button.dataset.url });
    });
  });
})();
