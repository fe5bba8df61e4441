// The booth's choice in words, and whether it may be cast (ES module, no DOM).
//
// A question is one entry of the booth's config.questions: { number, title,
// min_selections, max_selections, slots (its options' slots in ballot order),
// blank_slot (null when it allows no blank vote) }. Which slots are chosen is
// told by isChosen(slot) -> boolean, so the same words serve the ticked inputs,
// the review and a revealed (audited) ballot; nameOf(slot) gives an option's name.

export function listInWords(names) {
  if (names.length < 2) {
    return names.join("");
  }
  return names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
}

// The question's title, numbered when the ballot has several.
export function questionLabel(question, questionCount) {
  return questionCount > 1 ? "Question " + question.number + ": " + question.title : question.title;
}

function votesBlank(question, isChosen) {
  return question.blank_slot !== null && isChosen(question.blank_slot);
}

// The answer to one question; inSentence: within the status line rather than on a
// line of its own.
export function answerInWords(question, isChosen, nameOf, inSentence) {
  if (votesBlank(question, isChosen)) {
    return inSentence ? "blank vote" : "Blank vote";
  }
  const names = question.slots.filter(isChosen).map(nameOf);
  if (names.length === 0) {
    return inSentence ? "nothing" : "Nothing (you leave this question unanswered)";
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
    return names.length === 0 ? "You are voting blank on this question." : "A blank vote cannot select anything else.";
  }
  if (names.length > question.max_selections) {
    return "You have chosen " + listInWords(names) + ": at most " + question.max_selections + " allowed.";
  }
  if (names.length < question.min_selections) {
    return names.length === 0
      ? "Make your choice."
      : "You have chosen " + listInWords(names) + ": choose at least " + question.min_selections + ".";
  }
  return names.length === 0 ? "You leave this question unanswered." : "You have chosen " + listInWords(names) + ".";
}

// The status line of the whole ballot, beside the review button.
export function describeChoice(questions, isChosen, nameOf) {
  const waiting = questions.filter((question) => !questionIsValid(question, isChosen));
  if (waiting.length > 0) {
    const numbers = waiting.map((question) => String(question.number));
    return questions.length === 1 ? "Make your choice above." : "Still to answer: question " + listInWords(numbers) + ".";
  }
  if (questions.length === 1) {
    return "Your choice: " + answerInWords(questions[0], isChosen, nameOf, true) + ".";
  }
  const answers = questions.map(
    (question) => "question " + question.number + ", " + answerInWords(question, isChosen, nameOf, true),
  );
  return "Your choices: " + answers.join("; ") + ".";
}
