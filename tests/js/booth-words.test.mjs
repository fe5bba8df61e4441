// The booth's words and checks without a browser: the choice in words, whether it
// may be cast, the audited ballot's choices and the warnings after a cast. The
// questions are shaped as the booth view's booth_params lays them out.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { revealedChoice } from "../../elections/static/elections/js/booth-audit.mjs";
import { castAnswer, differences } from "../../elections/static/elections/js/booth-cast.mjs";
import {
  answerInWords,
  answersInWords,
  choiceIsValid,
  describeChoice,
  describeQuestion,
  listInWords,
  questionIsValid,
  questionLabel,
} from "../../elections/static/elections/js/booth-words.mjs";

// One mayor among three, with a blank vote; then up to two of three councillors, none
// required, without blank.
const MAYOR = { number: 1, title: "Mayor", min_selections: 1, max_selections: 1, slots: [0, 1, 2], blank_slot: 3 };
const COUNCIL = { number: 2, title: "Council", min_selections: 0, max_selections: 2, slots: [4, 5, 6], blank_slot: null };
const NAMES = ["Ada", "Brian", "Chloé", "(blank)", "Dinah", "Eve", "Farid"];
const nameOf = (slot) => NAMES[slot];
const choosing = (...slots) => (slot) => slots.includes(slot);

describe("listInWords", () => {
  it("joins names with commas and a final 'and'", () => {
    assert.equal(listInWords([]), "");
    assert.equal(listInWords(["Ada"]), "Ada");
    assert.equal(listInWords(["Ada", "Brian"]), "Ada and Brian");
    assert.equal(listInWords(["Ada", "Brian", "Chloé"]), "Ada, Brian and Chloé");
  });
});

describe("questionLabel", () => {
  it("numbers the question only when the ballot has several", () => {
    assert.equal(questionLabel(MAYOR, 1), "Mayor");
    assert.equal(questionLabel(COUNCIL, 2), "Question 2: Council");
  });
});

describe("answerInWords", () => {
  it("names the chosen options in ballot order", () => {
    assert.equal(answerInWords(COUNCIL, choosing(6, 4), nameOf), "Dinah and Farid");
  });

  it("says blank vote, on its own line or within a sentence", () => {
    assert.equal(answerInWords(MAYOR, choosing(3), nameOf), "Blank vote");
    assert.equal(answerInWords(MAYOR, choosing(3), nameOf, true), "blank vote");
  });

  it("says nothing was chosen", () => {
    assert.equal(answerInWords(COUNCIL, choosing(), nameOf), "Nothing (you leave this question unanswered)");
    assert.equal(answerInWords(COUNCIL, choosing(), nameOf, true), "nothing");
  });
});

describe("answersInWords", () => {
  it("lists every question's label and answer for the review", () => {
    assert.deepEqual(answersInWords([MAYOR, COUNCIL], choosing(1, 5), nameOf), [
      { number: 1, label: "Question 1: Mayor", answer: "Brian" },
      { number: 2, label: "Question 2: Council", answer: "Eve" },
    ]);
    assert.deepEqual(answersInWords([MAYOR], choosing(3), nameOf), [{ number: 1, label: "Mayor", answer: "Blank vote" }]);
  });
});

describe("questionIsValid", () => {
  it("holds the count within the question's bounds", () => {
    assert.equal(questionIsValid(MAYOR, choosing(0)), true);
    assert.equal(questionIsValid(MAYOR, choosing()), false);
    assert.equal(questionIsValid(MAYOR, choosing(0, 1)), false);
    assert.equal(questionIsValid(COUNCIL, choosing()), true);
    assert.equal(questionIsValid(COUNCIL, choosing(4, 5)), true);
    assert.equal(questionIsValid(COUNCIL, choosing(4, 5, 6)), false);
  });

  it("takes a blank vote alone, never with an option", () => {
    assert.equal(questionIsValid(MAYOR, choosing(3)), true);
    assert.equal(questionIsValid(MAYOR, choosing(3, 0)), false);
  });

  it("reads no blank slot when the question allows none", () => {
    const asked = [];
    questionIsValid(COUNCIL, (slot) => {
      asked.push(slot);
      return false;
    });
    assert.deepEqual(asked, [4, 5, 6]);
  });
});

describe("choiceIsValid", () => {
  it("needs every question valid", () => {
    assert.equal(choiceIsValid([MAYOR, COUNCIL], choosing(0)), true);
    assert.equal(choiceIsValid([MAYOR, COUNCIL], choosing(4)), false);
    assert.equal(choiceIsValid([MAYOR, COUNCIL], choosing(0, 4, 5, 6)), false);
  });
});

describe("describeQuestion", () => {
  it("asks for a choice, or for more", () => {
    assert.equal(describeQuestion(MAYOR, choosing(), nameOf), "Make your choice.");
    const twoOfThree = { ...COUNCIL, min_selections: 2 };
    assert.equal(describeQuestion(twoOfThree, choosing(4), nameOf), "You have chosen Dinah: choose at least 2.");
  });

  it("says when too many are chosen", () => {
    assert.equal(
      describeQuestion(COUNCIL, choosing(4, 5, 6), nameOf),
      "You have chosen Dinah, Eve and Farid: at most 2 allowed.",
    );
  });

  it("confirms a valid answer, or an unanswered optional question", () => {
    assert.equal(describeQuestion(MAYOR, choosing(2), nameOf), "You have chosen Chloé.");
    assert.equal(describeQuestion(COUNCIL, choosing(), nameOf), "You leave this question unanswered.");
  });

  it("explains a blank vote, alone or with something else", () => {
    assert.equal(describeQuestion(MAYOR, choosing(3), nameOf), "You are voting blank on this question.");
    assert.equal(describeQuestion(MAYOR, choosing(3, 1), nameOf), "A blank vote cannot select anything else.");
  });
});

describe("describeChoice", () => {
  it("points at what is left to answer", () => {
    assert.equal(describeChoice([MAYOR], choosing(), nameOf), "Make your choice above.");
    assert.equal(describeChoice([MAYOR, COUNCIL], choosing(4, 5, 6), nameOf), "Still to answer: questions 1 and 2.");
    assert.equal(describeChoice([MAYOR, COUNCIL], choosing(5), nameOf), "Still to answer: question 1.");
  });

  it("sums up a complete choice", () => {
    assert.equal(describeChoice([MAYOR], choosing(3), nameOf), "Your choice: blank vote.");
    assert.equal(
      describeChoice([MAYOR, COUNCIL], choosing(0, 4, 6), nameOf),
      "Your choices: question 1, Ada; question 2, Dinah and Farid.",
    );
    assert.equal(describeChoice([MAYOR, COUNCIL], choosing(1), nameOf), "Your choices: question 1, Brian; question 2, nothing.");
  });
});

describe("revealedChoice", () => {
  it("reads the audited ballot's choices, one hex number per slot", () => {
    const isChosen = revealedChoice(JSON.stringify({ choices: ["0", "1", "0", "0", "01", "0", "1"] }));
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].filter(isChosen), [1, 4, 6]);
    assert.equal(answerInWords(COUNCIL, isChosen, nameOf), "Dinah and Farid");
  });

  it("chooses nothing in text that is not JSON", () => {
    assert.deepEqual([0, 1, 2].filter(revealedChoice("{not json")), []);
  });
});

describe("the checks after a cast", () => {
  const tracker = "a1b2c3";

  it("finds nothing wrong when the server and the board agree with the booth", () => {
    const answer = castAnswer({ tracker, sequence: 7 });
    assert.deepEqual(differences(tracker, answer, { found: true, sequence: 7, chain_hash: "ff" }), []);
  });

  it("trusts the server's answer while the board cannot be read", () => {
    assert.deepEqual(differences(tracker, castAnswer({ tracker, sequence: 7 }), null), []);
  });

  it("warns when the server stored another tracker, or none", () => {
    assert.deepEqual(differences(tracker, castAnswer({ tracker: "d4e5f6", sequence: 7 }), null), [
      "The server answered that it stored the ballot with tracker d4e5f6, not the one your browser computed.",
    ]);
    assert.deepEqual(castAnswer({}), { tracker: "(none)", sequence: undefined });
  });

  it("warns when the board lacks the tracker", () => {
    assert.deepEqual(differences(tracker, castAnswer({ tracker, sequence: 7 }), { found: false }), [
      "The public ballot board has no ballot with your tracker.",
    ]);
  });

  it("warns when the board has it elsewhere than the server said", () => {
    const answer = castAnswer({ tracker: "d4e5f6", sequence: 7 });
    assert.deepEqual(differences(tracker, answer, { found: true, sequence: 9 }), [
      "The server answered that it stored the ballot with tracker d4e5f6, not the one your browser computed.",
      "The board has your tracker at position #9, but the server answered #7.",
    ]);
  });
});

describe("the booth modules", () => {
  it("load without a document", async () => {
    assert.equal(typeof globalThis.document, "undefined");
    const { BoothPage } = await import("../../elections/static/elections/js/booth-page.mjs");
    assert.equal(typeof BoothPage, "function");
  });
});
