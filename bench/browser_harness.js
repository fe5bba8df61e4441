// Drives the booth worker the way the booth page will: init when the page
// opens, encrypt on the "click", and publishes the timings as JSON in #result
// with data-state="done" (or "error"): reading the DOM needs no eval, which
// the page's CSP forbids to every script, the benchmark driver included.
// Loaded as an external module script: the page's CSP allows no inline code.
const violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});

function runWorker(setup) {
  return new Promise((resolve, reject) => {
    const worker = new Worker("/js/ballot-worker.js", { type: "module" });
    const started = performance.now();
    let progressMessages = 0;
    let readyAt = 0;
    let clickAt = 0;
    worker.onmessage = (event) => {
      const message = event.data;
      if (message.type === "progress") {
        progressMessages += 1;
      } else if (message.type === "ready") {
        readyAt = performance.now();
        clickAt = performance.now();
        worker.postMessage({ type: "encrypt", selections: setup.selections });
      } else if (message.type === "ballot") {
        const now = performance.now();
        worker.terminate();
        resolve({
          precomputeMs: readyAt - started,
          clickToBallotMs: now - clickAt,
          totalMs: now - started,
          workerFinishMs: message.timings.finishMs,
          progressMessages,
          tracker: message.tracker,
          json: message.json,
        });
      } else if (message.type === "error") {
        reject(new Error(message.message));
      }
    };
    worker.onerror = (event) => reject(new Error(event.message || "worker failed to load"));
    worker.postMessage({
      type: "init",
      params: setup.params,
      voter_context: setup.voter_context,
      fingerprint: setup.fingerprint,
    });
  });
}

function evalIsBlocked() {
  try {
    // A probe, not a use: under the page's CSP this must throw.
    new Function("return 1")();
    return false;
  } catch {
    return true;
  }
}

async function main() {
  const output = document.getElementById("result");
  try {
    const setup = await (await fetch("/params.json")).json();
    const result = await runWorker(setup);
    result.violationsDuringRun = violations.slice();
    result.evalBlocked = evalIsBlocked();
    result.secureContext = window.isSecureContext;
    output.textContent = JSON.stringify(result);
    output.dataset.state = "done";
  } catch (error) {
    output.textContent = JSON.stringify({ error: String(error) });
    output.dataset.state = "error";
  }
}

main();
