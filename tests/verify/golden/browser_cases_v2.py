"""The browser verifier's cases of format v2: labels, results, trustees, audited ballots.

The second half of ``browser_cases`` (which has the tools and the v1 and
strict-reading cases); ``browser_expectations`` runs the reference verifier
on both.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from elections import crypto
from elections.crypto.encoding import canonical_json, int_to_hex
from elections.crypto.keys import allow_small_keys_for_tests
from elections.crypto.threshold import deal
from elections.trustee import dump_public_key, make_public_key

from .browser_cases import (
    AUDITED,
    AUDITED_SELECTIONS,
    BALLOT_3_V2,
    TRUSTEES,
    V1,
    V2,
    Case,
    Document,
    bump,
    doc,
    forged_tally,
    golden_bytes,
    partial_record,
    remove,
    reseal,
    set_in,
    swap,
    unchanged,
)
from .regenerate import (
    CHOICES_V2,
    ELECTION_ID_TRUSTEES,
    golden_keypair,
    golden_threshold_key,
    golden_v2_context,
    golden_v2_params,
    randbits_from,
)

# --- v2 --------------------------------------------------------------------------------------


def altered_cast_time_and_roll(d: Document) -> None:
    """The example of docs/election-record.md §8."""
    d["ballots"][1]["cast_at"] = "2026-03-01T10:00:02.002Z"
    d["voter_roll"]["eligible"] = "5"


def swap_names(d: Document) -> None:
    options = d["params"]["questions"][0]["options"]
    options[0]["name"], options[1]["name"] = options[1]["name"], options[0]["name"]


def relabel(change: Callable[[Document], Any]) -> Callable[[Document], None]:
    def apply(d: Document) -> None:
        change(d["params"])
        d["election"]["title"] = d["params"]["title"]

    return apply


def moved_decryption(d: Document) -> None:
    moved = d["results"][3]
    d["results"][1].update(
        count=moved["count"], ciphertext=moved["ciphertext"], proof=moved["proof"]
    )


def proof_moved_between_questions(d: Document) -> None:
    questions = d["ballots"][3]["ballot"]["questions"]
    first, third = questions[0]["selection_proofs"], questions[2]["selection_proofs"]
    first[0], third[0] = third[0], first[0]
    reseal(d)


def v1_ballot_in_v2(d: Document) -> None:
    d["ballots"][0]["ballot"] = json.loads(golden_bytes(V1))["ballots"][0]["ballot"]


def swapped_names_resealed(d: Document) -> None:
    swap_names(d)
    reseal(d)


V2_CASES = [
    Case("v2 honest", V2, unchanged),
    Case("v2 tracker found", V2, unchanged, tracker=BALLOT_3_V2),
    Case("v2 tracker absent", V2, unchanged, tracker="0123456789abcdef" * 4),
    Case(
        "v2 tracker found on a failing record",
        V2,
        doc(altered_cast_time_and_roll),
        tracker=BALLOT_3_V2,
    ),
    Case("v2 tracker absent from an unreadable record", V2, lambda d: d[:-40], tracker=BALLOT_3_V2),
    Case("v2 swapped option names", V2, doc(swap_names)),
    Case("v2 swapped option names, chain rewritten", V2, doc(swapped_names_resealed)),
    Case(
        "v2 relabelled election title",
        V2,
        doc(relabel(lambda p: p.update(title="Another election"))),
    ),
    Case(
        "v2 relabelled question title",
        V2,
        doc(relabel(lambda p: p["questions"][2].update(title="Reject it?"))),
    ),
    Case(
        "v2 relabelled description",
        V2,
        doc(relabel(lambda p: p["questions"][0].update(description=""))),
    ),
    Case(
        "v2 relabelled affiliation",
        V2,
        doc(relabel(lambda p: p["questions"][0]["options"][2].update(affiliation="Parti"))),
    ),
    Case(
        "v2 changed bounds",
        V2,
        doc(relabel(lambda p: p["questions"][0].update(min_selections="2", max_selections="2"))),
    ),
    Case(
        "v2 blank vote removed from the parameters",
        V2,
        doc(lambda d: d["params"]["questions"][2].update(blank="0")),
    ),
    Case(
        "v2 election title differs from the parameters",
        V2,
        doc(lambda d: set_in(d, ["election", "title"], "Golden record election")),
    ),
    Case(
        "v2 election id differs from the parameters",
        V2,
        doc(lambda d: set_in(d, ["election", "id"], "6f1d3c2a-0b1e-4c55-9a7e-3d2f00000001")),
    ),
    Case("v2 result moved to another slot", V2, doc(lambda d: swap(d["results"], 0, 1))),
    Case("v2 decryption moved under another slot's labels", V2, doc(moved_decryption)),
    Case("v2 wrong blank count", V2, doc(lambda d: set_in(d, ["results", 9, "count"], "2"))),
    Case(
        "v2 blank result claimed for an option",
        V2,
        doc(lambda d: set_in(d, ["results", 9, "option"], d["results"][8]["option"])),
    ),
    Case(
        "v2 result question spelt 00",
        V2,
        doc(lambda d: set_in(d, ["results", 0, "question"], "00")),
    ),
    Case("v2 blank counts no ballots can give", V2, doc(lambda d: forged_tally(d, 9, 6))),
    Case(
        "v2 tally of the wrong length",
        V2,
        doc(remove(["encrypted_tally", "ciphertexts"])),
    ),
    Case(
        "v2 tally ciphertext out of range",
        V2,
        doc(lambda d: set_in(d, ["encrypted_tally", "ciphertexts", 2], "0")),
    ),
    Case("v2 too few results", V2, doc(remove(["results"]))),
    Case("v2 result that is not an object", V2, doc(lambda d: set_in(d, ["results", 4], "5"))),
    Case(
        "v2 decryption proof of another slot",
        V2,
        doc(lambda d: set_in(d, ["results", 2, "proof"], d["results"][1]["proof"])),
    ),
    Case(
        "v2 proof moved between questions, chain rewritten", V2, doc(proof_moved_between_questions)
    ),
    Case("v2 v1 ballot in a v2 record", V2, doc(v1_ballot_in_v2)),
    Case(
        "v2 question missing from a ballot",
        V2,
        doc(remove(["ballots", 2, "ballot", "questions"])),
    ),
    Case(
        "v2 response out of range",
        V2,
        doc(
            lambda d: set_in(
                d,
                ["ballots", 4, "ballot", "questions", 1, "count_proof", "responses", 0],
                int_to_hex(int(d["params"]["n"], 16) - 1),
            )
        ),
    ),
    Case(
        "v2 challenge changed",
        V2,
        doc(
            lambda d: set_in(
                d,
                ["ballots", 5, "ballot", "questions", 2, "selection_proofs", 2, "challenges", 1],
                bump(
                    d["ballots"][5]["ballot"]["questions"][2]["selection_proofs"][2]["challenges"][
                        1
                    ]
                ),
            )
        ),
    ),
    Case(
        "v2 v1 parameters in a v2 record",
        V2,
        doc(lambda d: set_in(d, ["params"], json.loads(golden_bytes(V1))["params"])),
    ),
    Case(
        "v1 v2 parameters in a v1 record",
        V1,
        doc(lambda d: set_in(d, ["params"], json.loads(golden_bytes(V2))["params"])),
    ),
    Case(
        "v2 format tag of v1",
        V2,
        doc(lambda d: set_in(d, ["format"], "evoting/election-record/v1")),
    ),
    Case(
        "v2 unknown format tag",
        V2,
        doc(lambda d: set_in(d, ["format"], "evoting/election-record/v9")),
    ),
    Case(
        "v2 single-key result without proof",
        V2,
        doc(lambda d: set_in(d, ["results", 0, "proof"], None)),
    ),
    Case("v2 open election", V2, doc(partial_record("open"))),
]


# --- Trustees ------------------------------------------------------------------------------


def tampered_partial(d: Document) -> None:
    partial = d["partial_decryptions"][1]["partials"][4]
    partial["value"] = bump(partial["value"])


def public_key_of_another_election(d: Document) -> None:
    key, _ = golden_threshold_key()
    renamed = make_public_key("6f1d3c2a-0b1e-4c55-9a7e-3d2f00000099", key)
    d["trustees"] = json.loads(dump_public_key(renamed))


def public_key_of_another_key(d: Document) -> None:
    other_key, _ = deal(512, 2, 3, randbits=randbits_from("another election's key"))
    d["trustees"] = json.loads(dump_public_key(make_public_key(ELECTION_ID_TRUSTEES, other_key)))


def closed_with_trustees(d: Document) -> None:
    d["election"].update(status="closed", published_at=None)
    d["results"] = None
    d["partial_decryptions"] = None


TRUSTEE_CASES = [
    Case("trustees honest", TRUSTEES, unchanged),
    Case("trustees tampered partial decryption", TRUSTEES, doc(tampered_partial)),
    Case(
        "trustees too few partial decryptions",
        TRUSTEES,
        doc(remove(["partial_decryptions"], 0)),
    ),
    Case(
        "trustees no partial decryptions",
        TRUSTEES,
        doc(lambda d: set_in(d, ["partial_decryptions"], None)),
    ),
    Case(
        "trustees one trustee listed twice",
        TRUSTEES,
        doc(lambda d: set_in(d, ["partial_decryptions"], [d["partial_decryptions"][0]] * 2)),
    ),
    Case(
        "trustees out of order",
        TRUSTEES,
        doc(lambda d: swap(d["partial_decryptions"], 0, 1)),
    ),
    Case(
        "trustees changed count", TRUSTEES, doc(lambda d: set_in(d, ["results", 1, "count"], "3"))
    ),
    Case("trustees public key of another election", TRUSTEES, doc(public_key_of_another_election)),
    Case("trustees public key of another key", TRUSTEES, doc(public_key_of_another_key)),
    Case(
        "trustees altered public key",
        TRUSTEES,
        doc(lambda d: set_in(d, ["trustees", "threshold"], "1")),
    ),
    Case(
        "trustees decryption proof where trustees decrypt",
        TRUSTEES,
        doc(lambda d: set_in(d, ["results", 0, "proof"], "1")),
    ),
    Case(
        "v2 partial decryptions without trustees",
        V2,
        doc(
            lambda d: set_in(
                d,
                ["partial_decryptions"],
                json.loads(golden_bytes(TRUSTEES))["partial_decryptions"],
            )
        ),
    ),
    Case("trustees closed election", TRUSTEES, doc(closed_with_trustees)),
    Case(
        "trustees section that is not an object",
        TRUSTEES,
        doc(lambda d: set_in(d, ["trustees"], "public.json")),
    ),
    Case(
        "trustees partial decryption of another election",
        TRUSTEES,
        doc(lambda d: set_in(d, ["partial_decryptions", 0, "election_id"], "another")),
    ),
    Case(
        "trustees partial decryption that is not an object",
        TRUSTEES,
        doc(lambda d: set_in(d, ["partial_decryptions", 1], "partial-3.json")),
    ),
]

# --- Audited ballots ---------------------------------------------------------------------------


@functools.cache
def audited_documents() -> tuple[str, ...]:
    """Canonical audited ballots under the v2 golden parameters.

    The first two were never cast; the third opens the golden record's ballot
    1 (made from the same deterministic randomness), so it is on the board.
    """
    with allow_small_keys_for_tests():
        params = golden_v2_params(golden_keypair()[0])
        made = []
        for seed, context, selections in (
            ("browser expectations: audited ballot", "vc1-audited", AUDITED_SELECTIONS),
            ("browser expectations: blank audited", "vc1-audited", (0, 0, 1, 1, 1, 0, 0, 0, 0, 1)),
            ("golden v2 ballot 1", golden_v2_context(1), CHOICES_V2[0]),
        ):
            rng = crypto.DeterministicRandom(seed.encode())
            pre = crypto.precompute_ballot(params, context, rng=rng)
            ballot = crypto.finish_ballot(pre, selections)
            made.append(crypto.audit_ballot(pre, ballot, selections).to_json())
    return tuple(made)


def with_audited(*documents: Any) -> Callable[[Document], None]:
    """A change that appends the audited-ballot section (documents, or indices of them)."""

    def change(d: Document) -> None:
        made = audited_documents()
        d[AUDITED] = [
            json.loads(made[item]) if isinstance(item, int) else item for item in documents
        ]

    return change


def audited_as_text(d: Document) -> None:
    d[AUDITED] = [audited_documents()[0]]


def with_audited_section(value: Any) -> Callable[[Document], None]:
    def change(d: Document) -> None:
        d[AUDITED] = value

    return change


def audited_not_opening(d: Document) -> None:
    with_audited(0, 1)(d)
    d[AUDITED][1]["randomness"][2] = bump(d[AUDITED][1]["randomness"][2])


AUDITED_CASES = [
    Case("audited ballots", V2, doc(with_audited(0, 1))),
    Case("audited ballots with trustees", TRUSTEES, doc(with_audited())),
    Case("audited ballot that does not open", V2, doc(audited_not_opening)),
    Case("audited ballot also on the cast board", V2, doc(with_audited(2, 0))),
    Case("audited ballot listed twice", V2, doc(with_audited(1, 0, 1))),
    Case("audited ballot that is not an object", V2, doc(with_audited(0, "audited.json"))),
    Case("audited ballot as its JSON text", V2, doc(audited_as_text)),
    Case(
        "audited ballot with a repeated key",
        V2,
        lambda data: doc(with_audited(0))(data).replace(
            b'{"ballot":', b'{"format":"evoting/audited-ballot/v1","ballot":', 1
        ),
    ),
    Case("audited section that is not an array", V2, doc(with_audited_section("none"))),
    Case("audited section in a v1 record", V1, doc(with_audited_section([]))),
    Case(
        "key after the audited section",
        V2,
        lambda data: doc(with_audited(1))(data)[:-2] + b',\n"extra":null}\n',
    ),
]


# --- Audited ballots on their own -------------------------------------------------------


def _rule_breaking(params: crypto.ElectionParams, document: dict[str, Any]) -> None:
    """Re-encrypt question 1 with two choices, as a device that breaks the rules would."""
    n, n_square = params.n, params.n_square
    choices = [int(m, 16) for m in document["choices"]]
    choices[1] = 1
    document["choices"][1] = "1"
    slots = document["ballot"]["questions"][0]["ciphertexts"]
    r = int(document["randomness"][1], 16)
    slots[1] = int_to_hex((1 + n) * pow(r, n, n_square) % n_square)
    document["tracker"] = crypto.tracker_of_json(canonical_json(document["ballot"]))


AUDITED_CHANGES: list[tuple[str, Callable[[crypto.ElectionParams, dict[str, Any]], Any]]] = [
    ("honest", lambda p, d: None),
    ("wrong randomness", lambda p, d: set_in(d, ["randomness", 2], bump(d["randomness"][2]))),
    ("choice flipped", lambda p, d: set_in(d, ["choices", 0], "0")),
    ("choice of 2", lambda p, d: set_in(d, ["choices", 3], "2")),
    ("randomness 0", lambda p, d: set_in(d, ["randomness", 9], "0")),
    ("tracker changed", lambda p, d: set_in(d, ["tracker"], "0" * 64)),
    ("another fingerprint", lambda p, d: set_in(d, ["params_fingerprint"], "f" * 64)),
    ("another election", lambda p, d: set_in(d, ["election_id"], "another")),
    ("another format", lambda p, d: set_in(d, ["format"], "evoting/audited-ballot/v9")),
    ("an extra field", lambda p, d: set_in(d, ["voter_context"], "vc1-audited")),
    ("one choice short", lambda p, d: d["choices"].pop()),
    (
        "a choice in upper case",
        lambda p, d: set_in(d, ["randomness", 4], d["randomness"][4].upper()),
    ),
    (
        "a ballot of another format",
        lambda p, d: set_in(d, ["ballot", "format"], "evoting/ballot/v1"),
    ),
    ("a rule broken", _rule_breaking),
]
