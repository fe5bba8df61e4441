// Voting booth: choose, review, encrypt, note the tracker, then cast or audit.
//
// The worker (ballot-worker.js) starts precomputing as soon as the page opens: the
// expensive part does not depend on the choice. Nothing is sent before the voter has
// reviewed the choice in words, seen the encrypted ballot's tracker and pressed the
// cast button of that last step; Enter or a stray click on a choice only selects it.
//
// The tracker is the voter's own: computed here before anything is sent, kept in the
// tab's sessionStorage for the receipt page, then compared with the server's answer
// and with the public board. A difference means the server may have replaced the
// ballot, and the voter is told so loudly. An audited ballot (Benaloh's challenge)
// reveals its choices to everyone; the booth says so before, publishes it, and starts
// again with fresh randomness.
//
// This module entry runs the steps, the worker and the events. What the page shows is
// in booth-page.mjs, the choice in words in booth-words.mjs, the cast and its checks
// in booth-cast.mjs, the audited ballot in booth-audit.mjs.
import { publishAudit, revealedChoice } from "./booth-audit.mjs";
import {
  boardEntry,
  castAnswer,
  differences,
  forgetTracker,
  hasVoted,
  keepTracker,
  keptTracker,
  postJson,
} from "./booth-cast.mjs";
import { BoothPage } from "./booth-page.mjs";
import { gettext, interpolate } from "./i18n.mjs";

// The steps in which this page may still cast: a vote from another tab must stop it there.
const ACTIVE = ["choose", "review", "tracker", "audit"];

const boothForm = document.getElementById("booth");
const paramsNode = document.getElementById("booth-params");
if (boothForm && paramsNode) {
  const config = JSON.parse(paramsNode.textContent);
  runBooth(new BoothPage(boothForm, config), config);
}

function runBooth(page, config) {
  const ui = page.ui;

  // step: which section shows; busy: the worker or the server is at work, buttons wait;
  // ballot: the encrypted ballot on show, until it is cast or audited (then never again).
  const state = { step: "choose", ready: false, busy: false, worker: null, ballot: null };

  function refresh() {
    page.showChoiceStatus();
    ui.review.disabled = state.busy || !page.choiceIsValid();
    ui.change.disabled = state.busy;
    ui.encrypt.disabled = state.busy || state.worker === null;
    ui.cast.disabled = state.busy || state.ballot === null;
    ui.audit.disabled = state.busy || state.ballot === null;
    ui.auditBack.disabled = state.busy;
    ui.auditConfirm.disabled = state.busy || state.ballot === null;
  }

  function show(step, focusId) {
    state.step = step;
    page.showStep(step);
    refresh();
    page.focus(focusId === undefined ? step + "-heading" : focusId);
  }

  // --- The worker -------------------------------------------------------------------

  function startWorker() {
    state.ready = false;
    ui.progress.removeAttribute("value");
    page.setStatus(gettext("Preparing the encryption of your ballot…"));
    if (state.worker === null) {
      try {
        state.worker = new Worker(config.worker_url, { type: "module" });
      } catch (error) {
        page.showError(
          interpolate(gettext("This browser cannot encrypt the ballot (%(error)s). Please try another browser."), { error: error.message }, true),
        );
        return;
      }
      state.worker.onmessage = onWorkerMessage;
      state.worker.onerror = function () {
        state.busy = false;
        page.showError(gettext("The encryption could not start. Reload the page to try again."));
        refresh();
      };
    }
    state.worker.postMessage({
      type: "init",
      params: config.params,
      voter_context: config.voter_context,
      fingerprint: config.fingerprint,
    });
    refresh();
  }

  function onWorkerMessage(event) {
    const message = event.data || {};
    if (message.type === "progress") {
      ui.progress.max = message.total;
      ui.progress.value = message.done;
    } else if (message.type === "ready") {
      state.ready = true;
      ui.progress.max = 1;
      ui.progress.value = 1;
      if (!state.busy) {
        page.setStatus(gettext("Encryption ready. Make your choice, review it, then encrypt your ballot."));
      }
    } else if (message.type === "ballot") {
      onEncrypted(message);
    } else if (message.type === "audited") {
      onAudited(message);
    } else if (message.type === "error") {
      onWorkerError(message.message);
    }
  }

  function onWorkerError(text) {
    if (state.step === "voted" || state.step === "cast") {
      return;
    }
    if (!state.busy) {
      page.showError(interpolate(gettext("The encryption could not be prepared: %(error)s. Reload the page to try again."), { error: text }, true));
      return;
    }
    // An encryption or an audit failed: whatever it used is spent, prepare afresh.
    state.busy = false;
    state.ballot = null;
    show("choose");
    page.showError(interpolate(gettext("Your ballot could not be encrypted: %(error)s"), { error: text }, true));
    startWorker();
  }

  // --- Review, encrypt, tracker -------------------------------------------------------

  function review() {
    if (state.busy || !page.choiceIsValid()) {
      refresh();
      return;
    }
    page.clearError();
    ui.auditResult.hidden = true;
    page.fillAnswers(ui.reviewList, page.checked);
    show("review");
  }

  function encrypt() {
    if (state.busy || !page.choiceIsValid()) {
      return;
    }
    page.clearError();
    state.busy = true;
    page.setStatus(state.ready ? gettext("Encrypting your ballot…") : gettext("Finishing the preparation, then encrypting your ballot…"));
    refresh();
    state.worker.postMessage({ type: "encrypt", selections: page.selections() });
  }

  function onEncrypted(message) {
    state.busy = false;
    state.ballot = { json: message.json, tracker: message.tracker };
    ui.tracker.textContent = message.tracker;
    page.setStatus(gettext("Your ballot is encrypted. It has not been sent."));
    show("tracker");
  }

  // --- Cast ----------------------------------------------------------------------------

  async function castBallot() {
    if (state.busy || state.ballot === null) {
      return;
    }
    const ballot = state.ballot;
    state.ballot = null; // sent once, whatever happens
    page.clearError();
    state.busy = true;
    refresh();
    // Kept before sending: if the answer is lost, the receipt page still knows what was sent.
    keepTracker(config.storage_key, { tracker: ballot.tracker, sent_at: new Date().toISOString(), answer: null, board: null });
    page.setStatus(gettext("Sending your encrypted ballot…"));
    let sent;
    try {
      sent = await postJson(config.cast_url, ballot.json, page.csrfToken);
    } catch (error) {
      castUnanswered(ballot.tracker);
      return;
    }
    if (sent.status === 201) {
      await castAccepted(ballot.tracker, sent.body);
    } else if (sent.status === 409 && !config.revoting && (await hasVoted(config.receipt_url))) {
      forgetTracker(config.storage_key);
      showVoted();
    } else {
      forgetTracker(config.storage_key);
      castRefused(sent.body.error || interpolate(gettext("The server refused the ballot (HTTP %(status)s)."), { status: sent.status }, true));
    }
  }

  async function castAccepted(tracker, body) {
    state.worker.postMessage({ type: "forget" });
    const answer = castAnswer(body);
    page.setStatus(gettext("Your ballot was cast. Checking the board…"));
    const board = await boardEntry(config.check_json_url, tracker);
    const record = keptTracker(config.storage_key) || { tracker: tracker };
    record.answer = answer;
    record.board = board;
    keepTracker(config.storage_key, record);
    const problems = differences(tracker, answer, board);
    if (problems.length === 0) {
      page.setStatus(gettext("Your ballot is on the board under your tracker. Opening your receipt…"));
      window.location.assign(config.receipt_url);
      return;
    }
    state.busy = false;
    page.fillWarning(tracker, problems);
    page.setStatus(gettext("Your ballot was sent, but the server's answer does not match it."));
    show("cast");
    ui.warning.hidden = false;
  }

  // The ballot may be on the board or not: only a reload (the booth sends a voter who voted to
  // the receipt) tells, so nothing else can be sent from this page.
  function castUnanswered(tracker) {
    state.busy = false;
    show("tracker", null);
    page.showError(
      interpolate(
        gettext(
          "No answer from the server: your ballot with the tracker %(tracker)s may or may not have been cast. " +
            "Keep that tracker and reload this page: if the ballot arrived you will see your receipt, otherwise you can vote again.",
        ),
        { tracker },
        true,
      ),
    );
  }

  function castRefused(message) {
    state.busy = false;
    show("review");
    page.showError(message);
    // A ballot's randomness is used once: prepare a fresh one for a retry.
    startWorker();
  }

  // --- Already voted elsewhere ---------------------------------------------------------

  function showVoted() {
    state.busy = false;
    state.ballot = null;
    if (state.worker !== null) {
      state.worker.terminate();
      state.worker = null;
    }
    page.clearError();
    page.setStatus("");
    show("voted");
  }

  // --- Audit ---------------------------------------------------------------------------

  function audit() {
    if (state.busy || state.ballot === null) {
      return;
    }
    page.clearError();
    state.busy = true;
    state.ballot = null; // revealed: it can never be cast
    page.setStatus(gettext("Revealing your ballot…"));
    refresh();
    state.worker.postMessage({ type: "audit" });
  }

  async function onAudited(message) {
    page.showAudited(message.tracker, revealedChoice(message.json));
    state.busy = false;
    show("choose", "audit-result-heading");
    // Fresh randomness for the next ballot: nothing of the audited one is reused.
    startWorker();
    page.showPublished(await publishAudit(config.audit_url, message.json, page.csrfToken));
  }

  // --- Events --------------------------------------------------------------------------

  page.form.addEventListener("change", function (event) {
    page.clearError();
    if (event.target instanceof HTMLInputElement) {
      page.keepBlankExclusive(event.target);
    }
    refresh();
  });

  // Enter on a choice submits the form: it must never cast, nor do anything else.
  page.form.addEventListener("submit", function (event) {
    event.preventDefault();
  });

  ui.review.addEventListener("click", review);
  ui.change.addEventListener("click", function () {
    show("choose");
  });
  ui.encrypt.addEventListener("click", encrypt);
  ui.cast.addEventListener("click", castBallot);
  ui.audit.addEventListener("click", function () {
    show("audit");
  });
  ui.auditBack.addEventListener("click", function () {
    show("tracker");
  });
  ui.auditConfirm.addEventListener("click", audit);

  // Another tab may have voted meanwhile: look again when this one comes back to the front.
  document.addEventListener("visibilitychange", async function () {
    if (
      document.visibilityState === "visible" && ACTIVE.includes(state.step) && !state.busy &&
      !config.revoting && (await hasVoted(config.receipt_url))
    ) {
      showVoted();
    }
  });

  // Restored from the back/forward cache: ask the server again (it sends a voter who voted
  // to the receipt).
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });

  // The server served the booth, so this voter has no ballot yet: a tracker kept by an
  // earlier attempt in this tab was never cast.
  forgetTracker(config.storage_key);
  show("choose", null);
  startWorker();
}
