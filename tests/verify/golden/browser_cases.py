"""The records given to both verifiers: each golden record, and every kind of tampering.

A case is a golden file and a change to its bytes: made on the decoded record
and written back in the exporter's layout (``doc``), or made on the bytes
(``replace``, or any function of the bytes) for what JSON cannot hold. The
kinds are those the reference verifier's tests make (``tests/verify/``) and
the strict-reading rules of docs/election-record.md §6; this module has the
tools and the v1 and strict-reading cases, ``browser_cases_v2`` the v2,
trustee and audited-ballot ones, ``browser_cases_v3`` those of ballot boxes
and revoting. ``browser_expectations`` runs the
reference verifier on each.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elections import board, crypto
from elections.crypto.encoding import int_to_hex
from elections.verify import MAX_DEPTH, MAX_TEXT

from .regenerate import golden_keypair

GOLDEN = Path(__file__).parent
V1, V1_12, V2, TRUSTEES, V3 = (
    "record-v1.json",
    "record-v1-12.json",
    "record-v2.json",
    "record-v2-trustees.json",
    "record-v3.json",
)
GOLDEN_FILES = (V1, V1_12, V2, TRUSTEES, V3)
AUDITED = "audited_ballots"
# The audited ballots' documents, which the cases' edits may quote as lines of "documents".
DOCUMENTS = "documents"
AUDITED_SELECTIONS = (1, 0, 0, 0, 1, 0, 1, 0, 0, 1)
BALLOT_3_V2 = "8f093d522caf108df6b106493e01acd93d2155ba8debec35d56a688ce272c476"
BALLOT_11_V1_12 = "9e085300eba5c855f96c22040ba3d98d3d994764f4a0bd47673c9fcfa295e655"

Document = dict[str, Any]
Mangle = Callable[[bytes], bytes]


@dataclass(frozen=True)
class Case:
    """One record given to both verifiers: a golden file, changed, and the CLI options."""

    name: str
    base: str
    change: Callable[[bytes], bytes]
    tracker: str | None = None
    small_keys: bool = True


def golden_bytes(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def render(document: Document) -> bytes:
    """The exporter's layout (docs/election-record.md §2) for any top-level keys and order."""

    def compact(value: Any) -> str:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))

    lines = []
    for key, value in document.items():
        name = compact(key)
        if isinstance(value, list) and key in ("ballots", "partial_decryptions", AUDITED):
            items = [compact(item) for item in value]
            lines.append(f"{name}:[" + ("\n" + ",\n".join(items) if items else "") + "\n]")
        else:
            lines.append(f"{name}:{compact(value)}")
    return ("{" + ",\n".join(lines) + "}\n").encode("ascii")


def doc(change: Callable[[Document], Any]) -> Mangle:
    """A change made on the decoded record, written back in the exporter's layout."""

    def mangle(data: bytes) -> bytes:
        document = json.loads(data)
        replaced = change(document)
        return render(replaced if isinstance(replaced, dict) else document)

    return mangle


def replace(old: bytes, new: bytes) -> Mangle:
    def mangle(data: bytes) -> bytes:
        assert old in data, old
        return data.replace(old, new, 1)

    return mangle


def unchanged(data: bytes) -> bytes:
    return data


# --- Forgers' tools ---------------------------------------------------------------------


def params_of(document: Document) -> crypto.ElectionParams:
    return crypto.params_from_dict(document["params"])


def reseal(document: Document) -> None:
    """Recompute every tracker, chain hash and the closing hash, as a forger rewriting it all."""
    params = params_of(document)
    head = board.genesis_hash(params.fingerprint)
    document["chain"]["genesis"] = head
    for entry in document["ballots"]:
        entry["tracker"] = crypto.ballot_tracker(
            crypto.parse_ballot(params, entry["ballot"]), params
        )
        head = board.ballot_hash(
            head,
            int(entry["sequence"], 16),
            entry["voter_context"],
            entry["cast_at"],
            entry["tracker"],
        )
        entry["chain_hash"] = head
    document["chain"]["head"] = head
    document["chain"]["closing"] = board.closing_hash(head, len(document["ballots"]))


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def forged_tally(document: Document, slot: int, count: int) -> None:
    """An encrypted total of ``count`` in ``slot``, honestly decrypted: the counts are forged."""
    public_key, private_key = golden_keypair()
    forged = public_key.raw_encrypt(count, r_value=12345)
    plain, proof = crypto.decrypt_with_proof(private_key, forged)
    document["encrypted_tally"]["ciphertexts"][slot] = int_to_hex(forged)
    document["results"][slot].update(
        count=int_to_hex(plain), ciphertext=int_to_hex(forged), proof=int_to_hex(proof)
    )


def bump(value: str, by: int = 1) -> str:
    return int_to_hex(int(value, 16) + by)


def set_in(document: Any, path: list[Any], value: Any) -> Any:
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


# --- v1 ----------------------------------------------------------------------------------


def changed_ciphertext(d: Document) -> None:
    n = int(d["params"]["n"], 16)
    ballot = d["ballots"][2]["ballot"]
    ballot["ciphertexts"][0] = int_to_hex(int(ballot["ciphertexts"][0], 16) * 4 % n**2)


def changed_proof_recomputed_tracker(d: Document) -> None:
    entry = d["ballots"][1]
    proof = entry["ballot"]["selection_proofs"][0]
    proof["responses"][0] = bump(proof["responses"][0])
    params = params_of(d)
    entry["tracker"] = crypto.ballot_tracker(crypto.parse_ballot(params, entry["ballot"]), params)


def inserted_ballot(d: Document) -> None:
    params = params_of(d)
    context = "vc1-" + "1" * 40
    rng = crypto.DeterministicRandom(b"browser expectations: inserted ballot")
    ballot = crypto.encrypt_ballot(params, context, [0, 1, 0], rng=rng)
    extra = {
        "sequence": "3",
        "voter_context": context,
        "cast_at": "2026-03-01T09:00:03.500Z",
        "tracker": crypto.ballot_tracker(ballot, params),
        "chain_hash": "f" * 64,
        "ballot": crypto.ballot_to_dict(ballot, params),
    }
    d["ballots"].insert(2, extra)
    for number, entry in enumerate(d["ballots"], start=1):
        entry["sequence"] = int_to_hex(number)


def duplicated_ballot(d: Document) -> None:
    copied = copy.deepcopy(d["ballots"][1])
    copied["sequence"] = "6"
    d["ballots"].append(copied)


def remove(path: list[Any], index: int = -1) -> Callable[[Document], None]:
    """A change that deletes item ``index`` of the list at ``path``."""

    def change(d: Document) -> None:
        target: Any = d
        for key in path:
            target = target[key]
        del target[index]

    return change


def swap(items: list[Any], i: int, j: int) -> None:
    items[i], items[j] = items[j], items[i]


def partial_record(status: str) -> Callable[[Document], None]:
    """The same board as an open or closed election exports it."""

    def change(d: Document) -> None:
        d["election"]["published_at"] = None
        d["results"] = None
        if "partial_decryptions" in d:
            d["partial_decryptions"] = None
        if status == "open":
            d["election"]["status"] = "open"
            d["election"]["closed_at"] = None
            d["chain"]["closing"] = None
        else:
            d["election"]["status"] = "closed"

    return change


def open_with_closing_hash(d: Document) -> None:
    partial_record("open")(d)
    d["chain"]["closing"] = board.closing_hash(d["chain"]["head"], len(d["ballots"]))


def ballot_as_string(extra: int) -> Callable[[Document], None]:
    def change(d: Document) -> None:
        cap = crypto.max_ballot_bytes(params_of(d))
        text = json.dumps(d["ballots"][0]["ballot"], separators=(",", ":"))
        d["ballots"][0]["ballot"] = text + " " * (cap + extra - len(text))

    return change


def reordered_sections(d: Document) -> Document:
    return {key: d[key] for key in ["format", "params", "election", *list(d)[3:]]}


def candidates_in_v2(d: Document) -> Document:
    v1 = json.loads(golden_bytes(V1))
    sections = list(d.items())
    sections.insert(3, ("candidates", v1["candidates"]))
    return dict(sections)


def deeply_nested(section: str, depth: int) -> Mangle:
    marker = "__nested__"

    def mangle(data: bytes) -> bytes:
        d = json.loads(data)
        if section == "params":
            d["params"]["extra"] = marker
        else:
            d["ballots"][0]["ballot"] = marker
        nesting = ("[" * depth + "]" * depth).encode()
        return render(d).replace(f'"{marker}"'.encode(), nesting)

    return mangle


V1_CASES = [
    Case("v1 honest", V1, unchanged),
    Case("v1 twelve ballots", V1_12, unchanged),
    Case("v1 below the 2048-bit key floor", V1, unchanged, small_keys=False),
    Case("v1 changed ciphertext", V1, doc(changed_ciphertext)),
    Case("v1 changed proof, tracker recomputed", V1, doc(changed_proof_recomputed_tracker)),
    Case("v1 changed tracker", V1, doc(lambda d: set_in(d, ["ballots", 0, "tracker"], "0" * 64))),
    Case(
        "v1 changed voter context",
        V1,
        doc(lambda d: set_in(d, ["ballots", 3, "voter_context"], "vc1-" + "0" * 40)),
    ),
    Case(
        "v1 changed cast time",
        V1,
        doc(lambda d: set_in(d, ["ballots", 4, "cast_at"], "2026-03-01T09:30:00.000Z")),
    ),
    Case("v1 deleted ballot", V1, doc(remove(["ballots"], 2))),
    Case("v1 inserted ballot", V1, doc(inserted_ballot)),
    Case("v1 duplicated ballot", V1, doc(duplicated_ballot)),
    Case(
        "v1 entry repeated whole",
        V1,
        doc(lambda d: d["ballots"].insert(2, copy.deepcopy(d["ballots"][1]))),
    ),
    Case("v1 reordered ballots", V1, doc(lambda d: swap(d["ballots"], 1, 2))),
    Case(
        "v1 sequence number skipped",
        V1,
        doc(lambda d: set_in(d, ["ballots", 2, "sequence"], "4")),
    ),
    Case(
        "v1 sequence number of 16 digits",
        V1,
        doc(lambda d: set_in(d, ["ballots", 4, "sequence"], "f" * 16)),
    ),
    Case(
        "v1 swapped tally ciphertexts",
        V1,
        doc(lambda d: swap(d["encrypted_tally"]["ciphertexts"], 0, 1)),
    ),
    Case("v1 changed result count", V1, doc(lambda d: set_in(d, ["results", 1, "count"], "2"))),
    Case(
        "v1 wrong decryption proof",
        V1,
        doc(
            lambda d: set_in(
                d, ["results", 0, "proof"], int_to_hex(int(d["results"][0]["proof"], 16) ^ 2)
            )
        ),
    ),
    Case("v1 counts no ballots can give", V1, doc(lambda d: forged_tally(d, 0, 40))),
    Case(
        "v1 JSON number in a ballot",
        V1,
        doc(lambda d: set_in(d, ["ballots", 0, "ballot", "ciphertexts", 0], 12)),
    ),
    Case(
        "v1 results before publication",
        V1,
        doc(
            lambda d: d["election"].update(status="closed", published_at=None),
        ),
    ),
    Case(
        "v1 wrong closing hash",
        V1,
        doc(lambda d: set_in(d, ["chain", "closing"], board.closing_hash(d["chain"]["head"], 4))),
    ),
    Case(
        "v1 cast time with non-ASCII digits",
        V1,
        doc(lambda d: set_in(d, ["ballots", 1, "cast_at"], "2026-03-01T0\u0669:00:00.000Z")),
    ),
    Case(
        "v1 candidate positions not increasing",
        V1,
        doc(lambda d: set_in(d, ["candidates", 1, "position"], "1")),
    ),
    Case(
        "v1 candidate list differs",
        V1,
        doc(lambda d: set_in(d, ["candidates", 2, "id"], "someone else")),
    ),
    Case("v1 tally one short", V1, doc(remove(["encrypted_tally", "ciphertexts"]))),
    Case(
        "v1 tally one long",
        V1,
        doc(
            lambda d: d["encrypted_tally"]["ciphertexts"].append(
                d["encrypted_tally"]["ciphertexts"][0]
            )
        ),
    ),
    Case("v1 ballot as a string at the cap", V1, doc(ballot_as_string(0))),
    Case("v1 ballot as a string over the cap", V1, doc(ballot_as_string(1))),
    Case(
        "v1 ballot string that is not JSON",
        V1,
        doc(lambda d: set_in(d, ["ballots", 1, "ballot"], "not a ballot")),
    ),
    Case(
        "v1 results nested to the limit",
        V1,
        doc(lambda d: set_in(d, ["results"], nested(MAX_DEPTH))),
    ),
    Case(
        "v1 results nested past the limit",
        V1,
        doc(lambda d: set_in(d, ["results"], nested(MAX_DEPTH + 1))),
    ),
    Case(
        "v1 ballot nested to the limit",
        V1,
        doc(lambda d: set_in(d, ["ballots", 0, "ballot"], nested(MAX_DEPTH - 1))),
    ),
    Case(
        "v1 ballot nested past the limit",
        V1,
        doc(lambda d: set_in(d, ["ballots", 0, "ballot"], nested(MAX_DEPTH))),
    ),
    Case("v1 params nested 100,000 deep", V1, deeply_nested("params", 100_000)),
    Case("v1 ballot nested 1,000 deep", V1, deeply_nested("ballot", 1_000)),
    Case(
        "v1 title at the text cap",
        V1,
        doc(lambda d: set_in(d, ["election", "title"], "t" * (MAX_TEXT - 1) + "\U0001f5f3")),
    ),
    Case(
        "v1 title over the text cap",
        V1,
        doc(lambda d: set_in(d, ["election", "title"], "t" * (MAX_TEXT - 1) + "a\U0001f5f3")),
    ),
    Case(
        "v1 entry with an extra key",
        V1,
        doc(lambda d: set_in(d, ["ballots", 1, "voter_id"], "42")),
    ),
    Case("v1 entry that is not an object", V1, doc(lambda d: set_in(d, ["ballots", 2], "entry"))),
    Case(
        "v1 entry with a repeated key",
        V1,
        replace(b'{"sequence":"2",', b'{"sequence":"2","sequence":"2",'),
    ),
    Case(
        "v1 entry with an unreadable sequence",
        V1,
        doc(lambda d: set_in(d, ["ballots", 1, "sequence"], "02")),
    ),
    Case("v1 open election", V1, doc(partial_record("open"))),
    Case("v1 closed election", V1, doc(partial_record("closed"))),
    Case("v1 open election with a closing hash", V1, doc(open_with_closing_hash)),
    Case(
        "v1 fewer eligible voters than ballots",
        V1,
        doc(lambda d: set_in(d, ["voter_roll", "eligible"], "4")),
    ),
    Case("v1 even modulus", V1, doc(lambda d: set_in(d, ["params", "n"], bump(d["params"]["n"])))),
    Case(
        "v1 opening time missing",
        V1,
        doc(lambda d: set_in(d, ["election", "opened_at"], None)),
    ),
    Case(
        "v1 election ballot count differs",
        V1,
        doc(lambda d: set_in(d, ["election", "ballot_count"], "6")),
    ),
    Case("v1 election id differs", V1, doc(lambda d: set_in(d, ["election", "id"], "another"))),
    # Ballot 11 is "b" in its entry and "11" in its chain hash.
    Case("v1 tracker found", V1_12, unchanged, tracker=BALLOT_11_V1_12),
]


# --- Unreadable files and strict reading ---------------------------------------------------

TITLE = b'"title":"Golden record election"'


def title_bytes(raw: bytes) -> Mangle:
    return replace(TITLE, b'"title":"' + raw + b'"')


UNREADABLE_CASES = [
    Case("truncated", V1, lambda data: data[: len(data) // 2]),
    Case("truncated at the end", V1, lambda data: data[:-3]),
    Case("invalid JSON", V1, replace(b'"ballots":[', b'"ballots":[,')),
    Case("not an object", V1, lambda data: b"[" + data + b"]"),
    Case("trailing content", V1, lambda data: data + b"{}"),
    Case("empty file", V1, lambda data: b""),
    Case(
        "wrong format tag",
        V1,
        replace(b"evoting/election-record/v1", b"evoting/election-record/v9"),
    ),
    Case("renamed key", V1, replace(b'"voter_roll":', b'"voter_list":')),
    Case(
        "5000-digit number",
        V1,
        replace(b'"ciphertexts":["', b'"ciphertexts":[' + b"9" * 5000 + b',"'),
    ),
    Case("missing field", V1, replace(b'"mode":"all",', b"")),
    Case("repeated key in a section", V1, replace(b'"mode":"all"', b'"mode":"all","mode":"all"')),
    Case("sections out of order", V1, doc(reordered_sections)),
    Case("candidates section in a v2 record", V2, doc(candidates_in_v2)),
    Case("v1 record without candidates", V1, doc(lambda d: d.pop("candidates"))),
    Case("unknown format null", V2, doc(lambda d: set_in(d, ["format"], None))),
    Case("unknown format list", V2, doc(lambda d: set_in(d, ["format"], ["x"]))),
    Case("lone low surrogate escape", V1, title_bytes(rb"Golden \udc00")),
    Case("lone high surrogate escape", V1, title_bytes(rb"Golden \ud800")),
    Case("high surrogate then text", V1, title_bytes(rb"Golden \ud800\u0041")),
    Case("reversed surrogate pair", V1, title_bytes(rb"\ude00\ud83d")),
    Case("lone surrogate after escaped backslashes", V1, title_bytes(rb"\\\ud800")),
    Case("overlong UTF-8", V1, title_bytes(b"Golden \xc0\xaf")),
    Case("encoded surrogate in UTF-8", V1, title_bytes(b"Golden \xed\xa0\x80")),
    Case("truncated UTF-8", V1, title_bytes(b"Golden \xe2\x82")),
    Case("raw control byte in a string", V1, title_bytes(b"Golden \x01")),
    Case("raw tab in a string", V1, title_bytes(b"Golden\trecord")),
    Case("form feed between tokens", V1, replace(b'",\n', b'",\x0c')),
    Case("vertical tab between tokens", V1, replace(b'",\n', b'",\x0b')),
    Case("NUL after the record", V1, lambda data: data + b"\x00"),
    Case("byte-order mark", V1, lambda data: b"\xef\xbb\xbf" + data),
    Case("surrogate pair escape", V1, title_bytes(rb"Golden \ud83d\uddf3 election")),
    Case("escaped backslash then text", V1, title_bytes(rb"Golden \\ud800 election")),
    Case("raw UTF-8 title", V1, title_bytes("Golden \U0001f5f3 \u00e9lection".encode())),
    Case("whitespace between tokens", V1, replace(b'{"format":', b'{ \r\n\t"format" : ')),
    Case(
        "integer beyond 2^63 in a ballot",
        V1,
        replace(b'"ciphertexts":["', b'"ciphertexts":[9223372036854775808,"'),
    ),
    Case(
        "integer at 2^63 - 1 in a ballot",
        V1,
        replace(b'"ciphertexts":["', b'"ciphertexts":[9223372036854775807,"'),
    ),
    Case("float in a ballot", V1, replace(b'"ciphertexts":["', b'"ciphertexts":[1.5e3,"')),
    Case("float overflowing a double", V1, replace(b'"ciphertexts":["', b'"ciphertexts":[1e400,"')),
    Case("true as a ballot", V1, replace(b'"ballot":{', b'"ballot":true,"x":{')),
]
