// The booth page's elements and what they show (ES module): the choice as ticked,
// the steps, the status lines, the messages. It reads the document only when a
// BoothPage is made, and decides nothing: booth.js says what to show and when.

import { answersInWords, choiceIsValid, describeChoice, describeQuestion } from "./booth-words.mjs";
import { gettext, interpolate } from "./i18n.mjs";

// The stepper item each step belongs to.
const STEPPER = { choose: "choose", review: "review", tracker: "tracker", audit: "cast", cast: "cast", voted: "cast" };

export class BoothPage {
  // form: the booth's <form>; config: the booth-params of the page.
  constructor(form, config) {
    this.form = form;
    this.questions = config.questions;
    this.slotCount = config.slots;
    this.inputs = Array.from(form.querySelectorAll("input[data-slot]"));
    this.csrfToken = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
    const byId = (id) => document.getElementById(id);
    this.byId = byId;
    this.ui = {
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
    // Handed to the words as isChosen and nameOf.
    this.checked = this.checked.bind(this);
    this.optionName = this.optionName.bind(this);
  }

  // --- The choice as ticked -----------------------------------------------------------

  optionName(slot) {
    const label = this.form.querySelector('label[for="choice-' + slot + '"] .candidate-name');
    return label ? label.textContent.trim() : interpolate(gettext("option %(slot)s"), { slot }, true);
  }

  checked(slot) {
    const input = this.form.querySelector('input[data-slot="' + slot + '"]');
    return input !== null && input.checked;
  }

  // One 0/1 per slot of the ballot: every question's options, then its blank if allowed.
  selections() {
    const values = new Array(this.slotCount).fill(0);
    this.inputs.forEach((input) => {
      values[Number(input.dataset.slot)] = input.checked ? 1 : 0;
    });
    return values;
  }

  choiceIsValid() {
    return choiceIsValid(this.questions, this.checked);
  }

  // With checkboxes, a blank vote and a choice exclude each other: ticking one clears the other.
  keepBlankExclusive(input) {
    if (input.type !== "checkbox" || !input.checked) {
      return;
    }
    this.form.querySelectorAll('input[name="' + input.name + '"]').forEach((other) => {
      if (other !== input && (input.dataset.blank === "1" || other.dataset.blank === "1")) {
        other.checked = false;
      }
    });
  }

  // --- What the page shows -------------------------------------------------------------

  // Each question's status line and the whole ballot's.
  showChoiceStatus() {
    this.questions.forEach((question) => {
      const line = this.byId("status-" + question.number);
      if (line) {
        line.textContent = describeQuestion(question, this.checked, this.optionName);
      }
    });
    this.ui.selection.textContent = describeChoice(this.questions, this.checked, this.optionName);
  }

  // Every question's answer as a definition list, for any isChosen(slot).
  fillAnswers(list, isChosen) {
    list.replaceChildren();
    answersInWords(this.questions, isChosen, this.optionName).forEach((line) => {
      const term = document.createElement("dt");
      term.textContent = line.label;
      const answer = document.createElement("dd");
      answer.textContent = line.answer;
      answer.dataset.question = String(line.number);
      list.append(term, answer);
    });
  }

  // Only the step's section shows, and the stepper marks the item it belongs to.
  showStep(step) {
    this.form.querySelectorAll("[data-step]").forEach((section) => {
      section.hidden = section.dataset.step !== step;
    });
    document.querySelectorAll("[data-step-name]").forEach((item) => {
      if (item.dataset.stepName === STEPPER[step]) {
        item.setAttribute("aria-current", "step");
      } else {
        item.removeAttribute("aria-current");
      }
    });
    this.ui.encryption.hidden = step === "voted" || step === "cast";
  }

  focus(id) {
    const heading = this.byId(id);
    if (heading) {
      heading.focus();
    }
  }

  setStatus(text) {
    this.ui.status.textContent = text;
  }

  showError(message) {
    this.ui.error.textContent = message;
    this.ui.error.hidden = false;
    this.ui.error.focus();
  }

  clearError() {
    this.ui.error.hidden = true;
    this.ui.error.textContent = "";
  }

  // The tracker warning of the cast step: one item per problem.
  fillWarning(tracker, problems) {
    this.ui.problems.replaceChildren();
    problems.forEach((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      this.ui.problems.append(item);
    });
    this.ui.warningTracker.textContent = tracker;
  }

  // The audit result, before its publication is known.
  showAudited(tracker, isChosen) {
    this.fillAnswers(this.ui.auditedChoices, isChosen);
    this.ui.auditedTracker.textContent = tracker;
    this.ui.auditedPublished.hidden = true;
    this.ui.auditedUnpublished.hidden = true;
    this.ui.auditResult.hidden = false;
  }

  // published: what booth-audit.mjs's publishAudit resolved to.
  showPublished(published) {
    if (published.url) {
      this.ui.auditedLink.href = published.url;
      this.ui.auditedPublished.hidden = false;
    } else {
      this.ui.auditedUnpublished.textContent = interpolate(
        gettext("It could not be published: %(error)s It will never be counted all the same."),
        { error: published.error },
        true,
      );
      this.ui.auditedUnpublished.hidden = false;
    }
  }
}
