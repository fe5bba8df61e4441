// The booth's choice in words, and whether it may be cast (ES module, no DOM).
//
// A question is one entry of the booth's config.questions: { number, title,
// min_selections, max_selections, slots (its options' slots in ballot order),
// blank_slot (null when it allows no blank vote) }. Which slots are chosen is
// told by isChosen(slot) -> boolean, so the same words serve the ticked inputs,
// the review and a revealed (audited) ballot; nameOf(slot) gives an option's name.
// The words are in the page's language (i18n.mjs), English without a catalog.

import { gettext, interpolate, ngettext } from "./i18n.mjs";

export function listInWords(names) {
  if (names.length < 2) {
    return names.join("");
  }
  // Translators: a list of names or numbers, "Ada, Brian and Chloé".
  return interpolate(gettext("%(list)s and %(last)s"), { list: names.slice(0, -1).join(", "), last: names[names.length - 1] }, true);
}

// The question's title, numbered when the ballot has several.
export function questionLabel(question, questionCount) {
  if (questionCount < 2) {
    return question.title;
  }
  return interpolate(gettext("Question %(number)s: %(title)s"), { number: question.number, title: question.title }, true);
}

function votesBlank(question, isChosen) {
  return question.blank_slot !== null && isChosen(question.blank_slot);
}

// The answer to one question; inSentence: within the status line rather than on a
// line of its own.
export function answerInWords(question, isChosen, nameOf, inSentence) {
  if (votesBlank(question, isChosen)) {
    return inSentence ? gettext("blank vote") : gettext("Blank vote");
  }
  const names = question.slots.filter(isChosen).map(nameOf);
  if (names.length === 0) {
    return inSentence ? gettext("nothing") : gettext("Nothing (you leave this question unanswered)");
  }
  return listInWords(names);
}

// Every question's label and answer, in ballot order: what the review and the audit
// result list.
export function answersInWords(questions, isChosen, nameOf) {
  return questions.map((question) => ({
    number: question.number,
    label: questionLabel(question, questions.length),
    answer: answerInWords(question, isChosen, nameOf),
  }));
}

// A blank vote selects nothing else; otherwise the count is within the question's bounds.
export function questionIsValid(question, isChosen) {
  const chosen = question.slots.filter(isChosen).length;
  if (votesBlank(question, isChosen)) {
    return chosen === 0;
  }
  return chosen >= question.min_selections && chosen <= question.max_selections;
}

export function choiceIsValid(questions, isChosen) {
  return questions.every((question) => questionIsValid(question, isChosen));
}

// The status line under one question: what is chosen, or what is still wrong.
export function describeQuestion(question, isChosen, nameOf) {
  const names = question.slots.filter(isChosen).map(nameOf);
  if (votesBlank(question, isChosen)) {
    return names.length === 0 ? gettext("You are voting blank on this question.") : gettext("A blank vote cannot select anything else.");
  }
  const chosen = { names: listInWords(names), max: question.max_selections, min: question.min_selections };
  if (names.length > question.max_selections) {
    const tooMany = ngettext(
      "You have chosen %(names)s: at most %(max)s allowed.",
      "You have chosen %(names)s: at most %(max)s allowed.",
      question.max_selections,
    );
    return interpolate(tooMany, chosen, true);
  }
  if (names.length < question.min_selections) {
    return names.length === 0
      ? gettext("Make your choice.")
      : interpolate(gettext("You have chosen %(names)s: choose at least %(min)s."), chosen, true);
  }
  return names.length === 0
    ? gettext("You leave this question unanswered.")
    : interpolate(gettext("You have chosen %(names)s."), chosen, true);
}

// The status line of the whole ballot, beside the review button.
export function describeChoice(questions, isChosen, nameOf) {
  const waiting = questions.filter((question) => !questionIsValid(question, isChosen));
  if (waiting.length > 0) {
    const numbers = waiting.map((question) => String(question.number));
    if (questions.length === 1) {
      return gettext("Make your choice above.");
    }
    const left = ngettext("Still to answer: question %(numbers)s.", "Still to answer: questions %(numbers)s.", numbers.length);
    return interpolate(left, { numbers: listInWords(numbers) }, true);
  }
  if (questions.length === 1) {
    return interpolate(gettext("Your choice: %(answer)s."), { answer: answerInWords(questions[0], isChosen, nameOf, true) }, true);
  }
  const answers = questions.map((question) =>
    interpolate(gettext("question %(number)s, %(answer)s"), { number: question.number, answer: answerInWords(question, isChosen, nameOf, true) }, true),
  );
  return interpolate(gettext("Your choices: %(answers)s."), { answers: answers.join("; ") }, true);
}
