// Voting booth: encrypts the voter's choice in a Web Worker and posts only the encrypted ballot.
//
// The worker starts precomputing as soon as the page opens (the expensive part does not
// depend on the choice), so casting after the click is quick. The page never sends the
// plaintext choice anywhere: the request body is the worker's ballot JSON and nothing else.
(function () {
  "use strict";

  const form = document.getElementById("booth");
  const dataNode = document.getElementById("booth-params");
  if (!form || !dataNode) {
    return;
  }
  const config = JSON.parse(dataNode.textContent);
  const inputs = Array.from(form.querySelectorAll("input[data-slot]"));
  const button = document.getElementById("cast-button");
  const progress = document.getElementById("crypto-progress");
  const statusText = document.getElementById("crypto-status");
  const selectionText = document.getElementById("selection-status");
  const alertBox = document.getElementById("booth-error");
  const csrfToken = form.querySelector('input[name="csrfmiddlewaretoken"]').value;

  const state = { ready: false, busy: false, worker: null };

  function showError(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
    alertBox.focus();
  }

  function clearError() {
    alertBox.hidden = true;
    alertBox.textContent = "";
  }

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

  function answerOf(question) {
    const chosen = question.slots.filter(checked).length;
    const blank = question.blank_slot !== null && checked(question.blank_slot);
    return { chosen: chosen, blank: blank };
  }

  function questionIsValid(question) {
    const answer = answerOf(question);
    if (answer.blank) {
      return answer.chosen === 0;
    }
    return answer.chosen >= question.min_selections && answer.chosen <= question.max_selections;
  }

  function describeQuestion(question) {
    const answer = answerOf(question);
    if (answer.blank) {
      return answer.chosen === 0 ? "You are voting blank on this question." : "A blank vote cannot select anything else.";
    }
    if (answer.chosen > question.max_selections) {
      return "You have chosen " + answer.chosen + ": at most " + question.max_selections + " allowed.";
    }
    if (answer.chosen < question.min_selections) {
      return answer.chosen === 0 ? "Make your choice." : "You have chosen " + answer.chosen + ": choose at least " + question.min_selections + ".";
    }
    if (answer.chosen === 0) {
      return "You leave this question unanswered.";
    }
    const names = question.slots.filter(checked).map(function (slot) {
      const label = form.querySelector('label[for="choice-' + slot + '"] .candidate-name');
      return label ? label.textContent.trim() : "";
    });
    return "You have chosen " + names.join(", ") + ".";
  }

  function choiceIsValid() {
    return config.questions.every(questionIsValid);
  }

  function describeChoice() {
    const waiting = config.questions.filter(function (question) {
      return !questionIsValid(question);
    });
    if (waiting.length === 0) {
      return "Every question is answered.";
    }
    const numbers = waiting.map(function (question) {
      return question.number;
    });
    return config.questions.length === 1 ? "Make your choice above." : "Still to answer: question " + numbers.join(", ") + ".";
  }

  function refresh() {
    config.questions.forEach(function (question) {
      const line = document.getElementById("status-" + question.number);
      if (line) {
        line.textContent = describeQuestion(question);
      }
    });
    selectionText.textContent = describeChoice();
    button.disabled = !(state.ready && !state.busy && choiceIsValid());
    inputs.forEach(function (input) {
      input.disabled = state.busy;
    });
  }

  // With checkboxes, a blank vote and a choice exclude each other: ticking one clears the other.
  function keepBlankExclusive(input) {
    if (input.type !== "checkbox" || !input.checked) {
      return;
    }
    const group = form.querySelectorAll('input[name="' + input.name + '"]');
    group.forEach(function (other) {
      if (other !== input && (input.dataset.blank === "1" || other.dataset.blank === "1")) {
        other.checked = false;
      }
    });
  }

  function startWorker() {
    state.ready = false;
    progress.removeAttribute("value");
    statusText.textContent = "Preparing the encryption of your ballot…";
    refresh();
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
  }

  function onWorkerMessage(event) {
    const message = event.data || {};
    if (message.type === "progress") {
      progress.max = message.total;
      progress.value = message.done;
    } else if (message.type === "ready") {
      state.ready = true;
      progress.max = 1;
      progress.value = 1;
      statusText.textContent = "Encryption ready. Make your choice and cast your ballot.";
      refresh();
    } else if (message.type === "ballot") {
      statusText.textContent = "Ballot encrypted. Sending it…";
      send(message.json);
    } else if (message.type === "error") {
      state.busy = false;
      showError("Your ballot could not be encrypted: " + message.message);
      startWorker();
    }
  }

  async function send(ballotJson) {
    let response;
    let body = {};
    try {
      response = await fetch(config.cast_url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
        body: ballotJson,
      });
      body = await response.json().catch(function () {
        return {};
      });
    } catch (error) {
      failCast("The ballot could not be sent: check your connection and try again.");
      return;
    }
    if (response.status === 201 && body.receipt_url) {
      statusText.textContent = "Your ballot was cast. Opening your receipt…";
      window.location.assign(body.receipt_url);
      return;
    }
    failCast(body.error || "The server refused the ballot (HTTP " + response.status + ").");
  }

  function failCast(message) {
    state.busy = false;
    showError(message);
    // A ballot's randomness is used once: prepare a fresh one for a retry.
    startWorker();
  }

  form.addEventListener("change", function (event) {
    clearError();
    if (event.target instanceof HTMLInputElement) {
      keepBlankExclusive(event.target);
    }
    refresh();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!state.ready || state.busy || !choiceIsValid()) {
      refresh();
      return;
    }
    clearError();
    state.busy = true;
    state.ready = false;
    statusText.textContent = "Encrypting your ballot…";
    refresh();
    state.worker.postMessage({ type: "encrypt", selections: selections() });
  });

  alertBox.tabIndex = -1;
  startWorker();
})();
