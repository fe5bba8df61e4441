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
(function () {
  "use strict";

  const form = document.getElementById("booth");
  const dataNode = document.getElementById("booth-params");
  if (!form || !dataNode) {
    return;
  }
  const config = JSON.parse(dataNode.textContent);
  const csrfToken = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  const inputs = Array.from(form.querySelectorAll("input[data-slot]"));
  const byId = function (id) {
    return document.getElementById(id);
  };
  const ui = {
    error: byId("booth-error"),
    progress: byId("crypto-progress"),
    encryption: byId("encryption"),
    status: byId("crypto-status"),
    selection: byId("selection-status"),
    review: byId("review-button"),
    reviewList: byId("review-list"),
    change: byId("change-button"),
    encrypt: byId("encrypt-button"),
    tracker: byId("booth-tracker"),
    cast: byId("cast-button"),
    audit: byId("audit-button"),
    auditBack: byId("audit-back-button"),
    auditConfirm: byId("audit-confirm-button"),
    auditResult: byId("audit-result"),
    auditedTracker: byId("audited-tracker"),
    auditedChoices: byId("audited-choices"),
    auditedPublished: byId("audited-published"),
    auditedLink: byId("audited-link"),
    auditedUnpublished: byId("audited-unpublished"),
    warning: byId("tracker-warning"),
    problems: byId("tracker-problems"),
    warningTracker: byId("warning-tracker"),
  };
  // The stepper item each step belongs to.
  const STEPPER = { choose: "choose", review: "review", tracker: "tracker", audit: "cast", cast: "cast", voted: "cast" };
  const ACTIVE = ["choose", "review", "tracker", "audit"];

  // step: which section shows; busy: the worker or the server is at work, buttons wait;
  // ballot: the encrypted ballot on show, until it is cast or audited (then never again).
  const state = { step: "choose", ready: false, busy: false, worker: null, ballot: null };

  // --- Words ----------------------------------------------------------------------

  function optionName(slot) {
    const label = form.querySelector('label[for="choice-' + slot + '"] .candidate-name');
    return label ? label.textContent.trim() : "option " + slot;
  }

  function listInWords(names) {
    if (names.length < 2) {
      return names.join("");
    }
    return names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
  }

  function questionLabel(question) {
    return config.questions.length > 1 ? "Question " + question.number + ": " + question.title : question.title;
  }

  // The answer to one question in words, for any way of telling which slots are chosen;
  // inSentence: within the status line rather than on a line of its own.
  function answerInWords(question, isChosen, inSentence) {
    if (question.blank_slot !== null && isChosen(question.blank_slot)) {
      return inSentence ? "blank vote" : "Blank vote";
    }
    const names = question.slots.filter(isChosen).map(optionName);
    if (names.length === 0) {
      return inSentence ? "nothing" : "Nothing (you leave this question unanswered)";
    }
    return listInWords(names);
  }

  function fillAnswers(list, isChosen) {
    list.replaceChildren();
    config.questions.forEach(function (question) {
      const term = document.createElement("dt");
      term.textContent = questionLabel(question);
      const answer = document.createElement("dd");
      answer.textContent = answerInWords(question, isChosen);
      answer.dataset.question = String(question.number);
      list.append(term, answer);
    });
  }

  // --- The choice -------------------------------------------------------------------

  function checked(slot) {
    const input = form.querySelector('input[data-slot="' + slot + '"]');
    return input !== null && input.checked;
  }

  // One 0/1 per slot of the ballot: every question's options, then its blank if allowed.
  function selections() {
    const values = new Array(config.slots).fill(0);
    inputs.forEach(function (input) {
      values[Number(input.dataset.slot)] = input.checked ? 1 : 0;
    });
    return values;
  }

  function questionIsValid(question) {
    const chosen = question.slots.filter(checked).length;
    if (question.blank_slot !== null && checked(question.blank_slot)) {
      return chosen === 0;
    }
    return chosen >= question.min_selections && chosen <= question.max_selections;
  }

  function describeQuestion(question) {
    const names = question.slots.filter(checked).map(optionName);
    if (question.blank_slot !== null && checked(question.blank_slot)) {
      return names.length === 0 ? "You are voting blank on this question." : "A blank vote cannot select anything else.";
    }
    if (names.length > question.max_selections) {
      return "You have chosen " + listInWords(names) + ": at most " + question.max_selections + " allowed.";
    }
    if (names.length < question.min_selections) {
      return names.length === 0 ? "Make your choice." : "You have chosen " + listInWords(names) + ": choose at least " + question.min_selections + ".";
    }
    return names.length === 0 ? "You leave this question unanswered." : "You have chosen " + listInWords(names) + ".";
  }

  function choiceIsValid() {
    return config.questions.every(questionIsValid);
  }

  function describeChoice() {
    const waiting = config.questions.filter(function (question) {
      return !questionIsValid(question);
    });
    if (waiting.length > 0) {
      const numbers = waiting.map(function (question) {
        return question.number;
      });
      return config.questions.length === 1 ? "Make your choice above." : "Still to answer: question " + listInWords(numbers.map(String)) + ".";
    }
    if (config.questions.length === 1) {
      return "Your choice: " + answerInWords(config.questions[0], checked, true) + ".";
    }
    const answers = config.questions.map(function (question) {
      return "question " + question.number + ", " + answerInWords(question, checked, true);
    });
    return "Your choices: " + answers.join("; ") + ".";
  }

  // With checkboxes, a blank vote and a choice exclude each other: ticking one clears the other.
  function keepBlankExclusive(input) {
    if (input.type !== "checkbox" || !input.checked) {
      return;
    }
    form.querySelectorAll('input[name="' + input.name + '"]').forEach(function (other) {
      if (other !== input && (input.dataset.blank === "1" || other.dataset.blank === "1")) {
        other.checked = false;
      }
    });
  }

  // --- What the page shows -----------------------------------------------------------

  function refresh() {
    config.questions.forEach(function (question) {
      const line = byId("status-" + question.number);
      if (line) {
        line.textContent = describeQuestion(question);
      }
    });
    ui.selection.textContent = describeChoice();
    ui.review.disabled = state.busy || !choiceIsValid();
    ui.change.disabled = state.busy;
    ui.encrypt.disabled = state.busy || state.worker === null;
    ui.cast.disabled = state.busy || state.ballot === null;
    ui.audit.disabled = state.busy || state.ballot === null;
    ui.auditBack.disabled = state.busy;
    ui.auditConfirm.disabled = state.busy || state.ballot === null;
  }

  function show(step, focusId) {
    state.step = step;
    form.querySelectorAll("[data-step]").forEach(function (section) {
      section.hidden = section.dataset.step !== step;
    });
    document.querySelectorAll("[data-step-name]").forEach(function (item) {
      if (item.dataset.stepName === STEPPER[step]) {
        item.setAttribute("aria-current", "step");
      } else {
        item.removeAttribute("aria-current");
      }
    });
    ui.encryption.hidden = step === "voted" || step === "cast";
    refresh();
    const heading = byId(focusId === undefined ? step + "-heading" : focusId);
    if (heading) {
      heading.focus();
    }
  }

  function setStatus(text) {
    ui.status.textContent = text;
  }

  function showError(message) {
    ui.error.textContent = message;
    ui.error.hidden = false;
    ui.error.focus();
  }

  function clearError() {
    ui.error.hidden = true;
    ui.error.textContent = "";
  }

  // --- The tracker kept for the receipt page -------------------------------------------

  function keep(record) {
    try {
      window.sessionStorage.setItem(config.storage_key, JSON.stringify(record));
    } catch (error) {
      // Storage refused (private mode, quota): the comparison after the cast still happens here.
    }
  }

  function kept() {
    try {
      return JSON.parse(window.sessionStorage.getItem(config.storage_key) || "null");
    } catch (error) {
      return null;
    }
  }

  function forgetKept() {
    try {
      window.sessionStorage.removeItem(config.storage_key);
    } catch (error) {
      // Nothing was kept.
    }
  }

  // --- The worker -------------------------------------------------------------------

  function startWorker() {
    state.ready = false;
    ui.progress.removeAttribute("value");
    setStatus("Preparing the encryption of your ballot…");
    if (state.worker === null) {
      try {
        state.worker = new Worker(config.worker_url, { type: "module" });
      } catch (error) {
        showError("This browser cannot encrypt the ballot (" + error.message + "). Please try another browser.");
        return;
      }
      state.worker.onmessage = onWorkerMessage;
      state.worker.onerror = function () {
        state.busy = false;
        showError("The encryption could not start. Reload the page to try again.");
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
        setStatus("Encryption ready. Make your choice, review it, then encrypt your ballot.");
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
      showError("The encryption could not be prepared: " + text + ". Reload the page to try again.");
      return;
    }
    // An encryption or an audit failed: whatever it used is spent, prepare afresh.
    state.busy = false;
    state.ballot = null;
    show("choose");
    showError("Your ballot could not be encrypted: " + text);
    startWorker();
  }

  // --- Review, encrypt, tracker -------------------------------------------------------

  function review() {
    if (state.busy || !choiceIsValid()) {
      refresh();
      return;
    }
    clearError();
    ui.auditResult.hidden = true;
    fillAnswers(ui.reviewList, checked);
    show("review");
  }

  function encrypt() {
    if (state.busy || !choiceIsValid()) {
      return;
    }
    clearError();
    state.busy = true;
    setStatus(state.ready ? "Encrypting your ballot…" : "Finishing the preparation, then encrypting your ballot…");
    refresh();
    state.worker.postMessage({ type: "encrypt", selections: selections() });
  }

  function onEncrypted(message) {
    state.busy = false;
    state.ballot = { json: message.json, tracker: message.tracker };
    ui.tracker.textContent = message.tracker;
    setStatus("Your ballot is encrypted. It has not been sent.");
    show("tracker");
  }

  // --- Cast ----------------------------------------------------------------------------

  async function castBallot() {
    if (state.busy || state.ballot === null) {
      return;
    }
    const ballot = state.ballot;
    state.ballot = null; // sent once, whatever happens
    clearError();
    state.busy = true;
    refresh();
    // Kept before sending: if the answer is lost, the receipt page still knows what was sent.
    keep({ tracker: ballot.tracker, sent_at: new Date().toISOString(), answer: null, board: null });
    setStatus("Sending your encrypted ballot…");
    let response;
    let body = {};
    try {
      response = await postJson(config.cast_url, ballot.json);
      body = await response.json().catch(function () {
        return {};
      });
    } catch (error) {
      castUnanswered(ballot.tracker);
      return;
    }
    if (response.status === 201) {
      await castAccepted(ballot.tracker, body);
    } else if (response.status === 409 && (await hasVoted())) {
      forgetKept();
      showVoted();
    } else {
      forgetKept();
      castRefused(body.error || "The server refused the ballot (HTTP " + response.status + ").");
    }
  }

  function postJson(url, json) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
      body: json,
    });
  }

  async function castAccepted(tracker, body) {
    state.worker.postMessage({ type: "forget" });
    const answer = { tracker: body.tracker || "(none)", sequence: body.sequence };
    setStatus("Your ballot was cast. Checking the board…");
    const board = await boardEntry(tracker);
    const record = kept() || { tracker: tracker };
    record.answer = answer;
    record.board = board;
    keep(record);
    const problems = differences(tracker, answer, board);
    if (problems.length === 0) {
      setStatus("Your ballot is on the board under your tracker. Opening your receipt…");
      window.location.assign(config.receipt_url);
      return;
    }
    state.busy = false;
    warn(tracker, problems);
  }

  // Where the booth's own tracker is on the public board; null if the board cannot be read now.
  async function boardEntry(tracker) {
    try {
      const url = config.check_json_url + "?tracker=" + encodeURIComponent(tracker);
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
      if (!response.ok) {
        return null;
      }
      const found = await response.json();
      return { found: found.found === true, sequence: found.sequence, chain_hash: found.chain_hash };
    } catch (error) {
      return null;
    }
  }

  function differences(tracker, answer, board) {
    const problems = [];
    if (answer.tracker !== tracker) {
      problems.push("The server answered that it stored the ballot with tracker " + answer.tracker + ", not the one your browser computed.");
    }
    if (board !== null && !board.found) {
      problems.push("The public ballot board has no ballot with your tracker.");
    } else if (board !== null && board.sequence !== answer.sequence) {
      problems.push("The board has your tracker at position #" + board.sequence + ", but the server answered #" + String(answer.sequence) + ".");
    }
    return problems;
  }

  function warn(tracker, problems) {
    ui.problems.replaceChildren();
    problems.forEach(function (text) {
      const item = document.createElement("li");
      item.textContent = text;
      ui.problems.append(item);
    });
    ui.warningTracker.textContent = tracker;
    setStatus("Your ballot was sent, but the server's answer does not match it.");
    show("cast");
    ui.warning.hidden = false;
  }

  // The ballot may be on the board or not: only a reload (the booth sends a voter who voted to
  // the receipt) tells, so nothing else can be sent from this page.
  function castUnanswered(tracker) {
    state.busy = false;
    show("tracker", null);
    showError(
      "No answer from the server: your ballot with the tracker " + tracker + " may or may not have been cast. " +
        "Keep that tracker and reload this page: if the ballot arrived you will see your receipt, otherwise you can vote again."
    );
  }

  function castRefused(message) {
    state.busy = false;
    show("review");
    showError(message);
    // A ballot's randomness is used once: prepare a fresh one for a retry.
    startWorker();
  }

  // --- Already voted elsewhere ---------------------------------------------------------

  // Whether this voter has a ballot on the board: the receipt exists only then.
  async function hasVoted() {
    try {
      const response = await fetch(config.receipt_url, {
        method: "HEAD",
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
      });
      return response.status === 200;
    } catch (error) {
      return false;
    }
  }

  function showVoted() {
    state.busy = false;
    state.ballot = null;
    if (state.worker !== null) {
      state.worker.terminate();
      state.worker = null;
    }
    clearError();
    setStatus("");
    show("voted");
  }

  // --- Audit ---------------------------------------------------------------------------

  function audit() {
    if (state.busy || state.ballot === null) {
      return;
    }
    clearError();
    state.busy = true;
    state.ballot = null; // revealed: it can never be cast
    setStatus("Revealing your ballot…");
    refresh();
    state.worker.postMessage({ type: "audit" });
  }

  async function onAudited(message) {
    let revealed = [];
    try {
      revealed = JSON.parse(message.json).choices;
    } catch (error) {
      revealed = [];
    }
    fillAnswers(ui.auditedChoices, function (slot) {
      return parseInt(revealed[slot], 16) === 1;
    });
    ui.auditedTracker.textContent = message.tracker;
    ui.auditedPublished.hidden = true;
    ui.auditedUnpublished.hidden = true;
    ui.auditResult.hidden = false;
    state.busy = false;
    show("choose", "audit-result-heading");
    // Fresh randomness for the next ballot: nothing of the audited one is reused.
    startWorker();
    const published = await publishAudit(message.json);
    if (published.url) {
      ui.auditedLink.href = published.url;
      ui.auditedPublished.hidden = false;
    } else {
      ui.auditedUnpublished.textContent = "It could not be published: " + published.error + " It will never be counted all the same.";
      ui.auditedUnpublished.hidden = false;
    }
  }

  async function publishAudit(json) {
    try {
      const response = await postJson(config.audit_url, json);
      const body = await response.json().catch(function () {
        return {};
      });
      if (response.status === 201 && typeof body.url === "string" && body.url.startsWith("/")) {
        return { url: body.url };
      }
      return { error: body.error || "the server answered HTTP " + response.status + "." };
    } catch (error) {
      return { error: "no answer from the server." };
    }
  }

  // --- Events --------------------------------------------------------------------------

  form.addEventListener("change", function (event) {
    clearError();
    if (event.target instanceof HTMLInputElement) {
      keepBlankExclusive(event.target);
    }
    refresh();
  });

  // Enter on a choice submits the form: it must never cast, nor do anything else.
  form.addEventListener("submit", function (event) {
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
    if (document.visibilityState === "visible" && ACTIVE.includes(state.step) && !state.busy && (await hasVoted())) {
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
  forgetKept();
  show("choose", null);
  startWorker();
})();
