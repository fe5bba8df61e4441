"""The browser verifier's cases of format v3: ballot boxes and revoting.

The golden record ``record-v3.json`` has three boxes and revoting. Its entries,
in the record's order (position: box, sequence, replaced_by):

    1: 0, 1, 3    2: 0, 2, -    3: 0, 3, 5    4: 0, 4, -    5: 0, 5, -
    6: 2, 1, 3    7: 2, 2, -    8: 2, 3, -

(positions 1, 3 and 5 are one voter's, 6 and 8 another's; box 1 is empty).
Each tampering aims at one check of docs/election-record.md §12;
``browser_expectations`` runs the reference verifier on each.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from elections import board
from elections.crypto.encoding import int_to_hex

from .browser_cases import (
    V2,
    V3,
    Case,
    Document,
    bump,
    doc,
    golden_bytes,
    params_of,
    partial_record,
    remove,
    set_in,
    unchanged,
)

# Box 2's first ballot, which its voter replaced with box 2's third; box 2's second.
REPLACED_V3 = "1827d8fe15a41c6d81fe26a4a7e80cf2d61af0871ed8a0aa46a0dcfc02c1785e"
COUNTED_V3 = "e65d255771c33fbb020958a8082d402e20f1bdfb7b0c334c1210adc4e3b367b1"


def reseal_boxes(d: Document) -> None:
    """Recompute every box's chain, the chain section and the closing hash, as a forger would."""
    fingerprint = params_of(d).fingerprint
    boxes = int(d["election"]["ballot_boxes"], 16)
    genesis = [board.box_genesis_hash(fingerprint, box, boxes) for box in range(boxes)]
    heads = list(genesis)
    lengths = [0] * boxes
    for entry in d["ballots"]:
        box = int(entry["box"], 16)
        heads[box] = board.ballot_hash(
            heads[box],
            int(entry["sequence"], 16),
            entry["voter_context"],
            entry["cast_at"],
            entry["tracker"],
        )
        entry["chain_hash"] = heads[box]
        lengths[box] += 1
    d["chain"]["boxes"] = [
        {"genesis": start, "head": head, "ballots": int_to_hex(length)}
        for start, head, length in zip(genesis, heads, lengths, strict=True)
    ]
    d["chain"]["closing"] = board.boxes_closing_hash(list(zip(heads, lengths, strict=True)))


def moved_to_another_box(d: Document) -> None:
    """Box 0's last ballot renumbered as box 1's first: its chain hash no longer follows."""
    d["ballots"][4].update(box="1", sequence="1")


def voter_moved_resealed(d: Document) -> None:
    """Box 2's second ballot moved to box 1 and every chain rewritten: only its box is wrong."""
    moved = d["ballots"].pop(6)
    moved.update(box="1", sequence="1")
    d["ballots"].insert(5, moved)
    d["ballots"][6]["replaced_by"] = "2"
    d["ballots"][7]["sequence"] = "2"
    reseal_boxes(d)


def out_of_box_order(d: Document) -> None:
    d["ballots"].append(d["ballots"].pop(4))


def changed_replaced_ciphertext(d: Document) -> None:
    n = int(d["params"]["n"], 16)
    ciphertexts = d["ballots"][0]["ballot"]["questions"][0]["ciphertexts"]
    ciphertexts[0] = int_to_hex(int(ciphertexts[0], 16) * 4 % n**2)


def tracker_of_another_box(d: Document) -> None:
    d["ballots"][6]["tracker"] = d["ballots"][1]["tracker"]


def chain_in_the_v2_layout(d: Document) -> None:
    boxes = d["chain"]["boxes"]
    d["chain"] = {"genesis": boxes[0]["genesis"], "head": boxes[0]["head"], "closing": None}


def v2_entry_keys(d: Document) -> None:
    entry = d["ballots"][3]
    del entry["box"], entry["replaced_by"]


def election_without(key: str) -> Any:
    def change(d: Document) -> None:
        del d["election"][key]

    return change


def with_format(tag: str) -> Any:
    return doc(lambda d: set_in(d, ["format"], tag))


V3_CASES = [
    Case("v3 honest", V3, unchanged),
    Case("v3 tracker of a replaced ballot", V3, unchanged, tracker=REPLACED_V3),
    Case("v3 tracker of a counted ballot", V3, unchanged, tracker=COUNTED_V3),
    Case("v3 tracker absent", V3, unchanged, tracker="fedcba9876543210" * 4),
    Case(
        "v3 tracker of a replaced ballot on a failing record",
        V3,
        doc(lambda d: set_in(d, ["encrypted_tally", "ballot_count"], "8")),
        tracker=REPLACED_V3,
    ),
    Case("v3 open election", V3, doc(partial_record("open"))),
    Case("v3 closed election", V3, doc(partial_record("closed"))),
    Case(
        "v3 entry in a box the election does not have",
        V3,
        doc(lambda d: set_in(d, ["ballots", 6, "box"], "3")),
    ),
    Case("v3 entry moved to another box", V3, doc(moved_to_another_box)),
    Case("v3 voter moved to another box, chains rewritten", V3, doc(voter_moved_resealed)),
    Case("v3 entries out of box order", V3, doc(out_of_box_order)),
    Case(
        "v3 replacement mark removed",
        V3,
        doc(lambda d: set_in(d, ["ballots", 0, "replaced_by"], None)),
    ),
    Case(
        "v3 last ballot of a voter marked replaced",
        V3,
        doc(lambda d: set_in(d, ["ballots", 4, "replaced_by"], "6")),
    ),
    Case(
        "v3 replaced by another voter's ballot",
        V3,
        doc(lambda d: set_in(d, ["ballots", 0, "replaced_by"], "2")),
    ),
    Case(
        "v3 replacements without revoting",
        V3,
        doc(lambda d: set_in(d, ["election", "revoting"], "0")),
    ),
    Case(
        "v3 replaced by itself",
        V3,
        doc(lambda d: set_in(d, ["ballots", 2, "replaced_by"], "3")),
    ),
    Case(
        "v3 replaced_by spelt as a number",
        V3,
        doc(lambda d: set_in(d, ["ballots", 5, "replaced_by"], 3)),
    ),
    Case("v3 replaced ballot changed", V3, doc(changed_replaced_ciphertext)),
    Case(
        "v3 replaced ballot unreadable",
        V3,
        doc(lambda d: set_in(d, ["ballots", 5, "ballot"], "not a ballot")),
    ),
    Case("v3 tracker repeated in another box", V3, doc(tracker_of_another_box)),
    Case("v3 entry with the keys of v2", V3, doc(v2_entry_keys)),
    Case("v3 chain with a box missing", V3, doc(remove(["chain", "boxes"]))),
    Case(
        "v3 chain with a box too many",
        V3,
        doc(lambda d: d["chain"]["boxes"].append(copy.deepcopy(d["chain"]["boxes"][1]))),
    ),
    Case("v3 chain in the v2 layout", V3, doc(chain_in_the_v2_layout)),
    Case(
        "v3 box with a wrong genesis",
        V3,
        doc(
            lambda d: set_in(d, ["chain", "boxes", 1, "genesis"], d["chain"]["boxes"][0]["genesis"])
        ),
    ),
    Case(
        "v3 box with a wrong head",
        V3,
        doc(lambda d: set_in(d, ["chain", "boxes", 2, "head"], d["ballots"][6]["chain_hash"])),
    ),
    Case(
        "v3 box with a wrong length",
        V3,
        doc(lambda d: set_in(d, ["chain", "boxes", 0, "ballots"], "4")),
    ),
    Case(
        "v3 box length unreadable",
        V3,
        doc(lambda d: set_in(d, ["chain", "boxes", 0, "ballots"], "05")),
    ),
    Case(
        "v3 closing hash of one chain",
        V3,
        doc(
            lambda d: set_in(
                d, ["chain", "closing"], board.closing_hash(d["chain"]["boxes"][2]["head"], 8)
            )
        ),
    ),
    Case(
        "v3 closing hash changed",
        V3,
        doc(lambda d: set_in(d, ["chain", "closing"], bump(d["chain"]["closing"]))),
    ),
    Case(
        "v3 tally counting every entry",
        V3,
        doc(lambda d: set_in(d, ["encrypted_tally", "ballot_count"], "8")),
    ),
    Case(
        "v3 election ballot count of the counted ballots",
        V3,
        doc(lambda d: set_in(d, ["election", "ballot_count"], "5")),
    ),
    Case("v3 no ballot boxes", V3, doc(lambda d: set_in(d, ["election", "ballot_boxes"], "0"))),
    Case(
        "v3 too many ballot boxes",
        V3,
        doc(lambda d: set_in(d, ["election", "ballot_boxes"], "101")),
    ),
    Case(
        "v3 ballot boxes spelt 03",
        V3,
        doc(lambda d: set_in(d, ["election", "ballot_boxes"], "03")),
    ),
    Case("v3 revoting 2", V3, doc(lambda d: set_in(d, ["election", "revoting"], "2"))),
    Case("v3 revoting as a boolean", V3, doc(lambda d: set_in(d, ["election", "revoting"], True))),
    Case("v3 election without ballot_boxes", V3, doc(election_without("ballot_boxes"))),
    Case("v3 election without revoting", V3, doc(election_without("revoting"))),
    Case("v3 format tag of v2", V3, with_format("evoting/election-record/v2")),
    Case("v2 format tag of v3", V2, with_format("evoting/election-record/v3")),
    Case(
        "v3 v1 parameters in a v3 record",
        V3,
        doc(lambda d: set_in(d, ["params"], json.loads(golden_bytes("record-v1.json"))["params"])),
    ),
]
