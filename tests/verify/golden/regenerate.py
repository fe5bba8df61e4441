"""Build the golden election records: 1024-bit key, all deterministic.

``record-v1.json`` (format v1, 3 candidates) holds 5 ballots;
``record-v1-12.json`` holds 12, so that it pins how sequence numbers and
counts of 10 and more are spelt in every hash. ``record-v2.json`` (format v2)
holds 6 ballots on three questions with Unicode labels, the last question
allowing a blank vote, which three of them cast. ``record-v2-trustees.json``
holds the same ballots in an election whose key was dealt to three trustees,
any two of whom decrypt: trustees 1 and 3 did. ``record-v3.json`` (format v3)
is an election on the v2 questions with three ballot boxes and revoting: eight
ballots from five voters, one of whom cast three times and one twice, so three
ballots are marked replaced and five count; box 1 stays empty.

Every random choice comes from ``crypto.DeterministicRandom`` (the primes, the
trustees' shares and their proofs too), so running this again gives the same
bytes. Regenerate after a deliberate format change with::

    .venv/bin/python -m tests.verify.golden.regenerate
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import gmpy2  # type: ignore[import-untyped]
from phe import paillier

from elections import board, crypto
from elections.crypto.encoding import int_to_hex
from elections.crypto.keys import allow_small_keys_for_tests
from elections.crypto.threshold import KeyShare, ThresholdKey, deal
from elections.trustee import (
    EncryptedTally,
    combine_tally,
    dump_partial,
    dump_public_key,
    make_public_key,
    partially_decrypt_tally,
)
from elections.verify import voter_roll_commitment

GOLDEN_PATH = Path(__file__).with_name("record-v1.json")
GOLDEN_12_PATH = Path(__file__).with_name("record-v1-12.json")
ELECTION_ID = "6f1d3c2a-0b1e-4c55-9a7e-3d2f00000001"
CANDIDATES = (
    ("6f1d3c2a-0b1e-4c55-9a7e-3d2f0000000a", "Ada", "Analytical Party"),
    ("6f1d3c2a-0b1e-4c55-9a7e-3d2f0000000b", "Grace", ""),
    ("6f1d3c2a-0b1e-4c55-9a7e-3d2f0000000c", "Alan", "Independent"),
)
CHOICES = ((1, 0, 0), (0, 1, 0), (1, 0, 0), (0, 0, 1), (1, 0, 0))
ELIGIBLE = 7
CHOICES_12 = (*CHOICES, (0, 1, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (0, 1, 0), (0, 1, 0), (0, 0, 1))
ELIGIBLE_12 = 20

GOLDEN_V2_PATH = Path(__file__).with_name("record-v2.json")
ELECTION_ID_V2 = "6f1d3c2a-0b1e-4c55-9a7e-3d2f00000002"
# Labels in several scripts, a character beyond U+FFFF and a line feed: every
# escape the canonical JSON of the parameters uses. All in NFC.
TITLE_V2 = "\u00c9lection du conseil 2026 \U0001f5f3"
QUESTIONS_V2 = (
    (
        "Pr\u00e9sidence",
        "Une seule voix.\nLe mandat dure deux ans.",
        1,
        1,
        False,
        (
            (
                "6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002a",
                "Zo\u00eb \u00c5ngstr\u00f6m",
                "Parti analytique",
            ),
            ("6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002b", "Grace Hopper", ""),
            ("6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002c", "Alan Turing", "Ind\u00e9pendant"),
        ),
    ),
    (
        "Comit\u00e9 des finances",
        "",
        0,
        2,
        False,
        (
            ("6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002d", "Ada Lovelace", ""),
            ("6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002e", "\u00c9milie du Ch\u00e2telet", ""),
            ("6f1d3c2a-0b1e-4c55-9a7e-3d2f0000002f", "Srinivasa Ramanujan", ""),
            ("6f1d3c2a-0b1e-4c55-9a7e-3d2f00000030", "\u674e\u767d", "\u5510"),
        ),
    ),
    (
        "Adopter la motion\u00a0?",
        "",
        1,
        1,
        True,
        (
            ("6f1d3c2a-0b1e-4c55-9a7e-3d2f00000031", "Oui", ""),
            ("6f1d3c2a-0b1e-4c55-9a7e-3d2f00000032", "Non", ""),
        ),
    ),
)
# One 0/1 per slot: question 1's three options, question 2's four, question 3's
# two and its blank. Ballots 2, 4 and 6 vote blank on question 3; ballot 2
# selects nothing on question 2, which allows that.
CHOICES_V2 = (
    (1, 0, 0, 1, 1, 0, 0, 1, 0, 0),
    (0, 1, 0, 0, 0, 0, 0, 0, 0, 1),
    (1, 0, 0, 0, 1, 0, 1, 0, 1, 0),
    (0, 0, 1, 1, 0, 0, 0, 0, 0, 1),
    (1, 0, 0, 0, 0, 1, 1, 1, 0, 0),
    (0, 1, 0, 1, 0, 0, 1, 0, 0, 1),
)
ELIGIBLE_V2 = 8

GOLDEN_TRUSTEES_PATH = Path(__file__).with_name("record-v2-trustees.json")
ELECTION_ID_TRUSTEES = "6f1d3c2a-0b1e-4c55-9a7e-3d2f00000003"
TITLE_TRUSTEES = "\u00c9lection du conseil 2026, d\u00e9pouill\u00e9e par les garants"
THRESHOLD, TRUSTEES = 2, 3
DECRYPTING_TRUSTEES = (1, 3)

GOLDEN_V3_PATH = Path(__file__).with_name("record-v3.json")
ELECTION_ID_V3 = "6f1d3c2a-0b1e-4c55-9a7e-3d2f00000004"
TITLE_V3 = "\u00c9lection du conseil 2026, trois urnes"
BOXES_V3 = 3
# In casting order: the voter (``golden_v3_context``) and one 0/1 per slot. Voters
# 1, 3 and 4 are in box 0, voters 2 and 9 in box 2, nobody votes in box 1. Voter 1
# replaces their ballot twice and voter 2 once: only each voter's last counts.
CASTS_V3 = (
    (1, (1, 0, 0, 1, 0, 0, 0, 1, 0, 0)),
    (2, (0, 1, 0, 0, 1, 0, 0, 0, 1, 0)),
    (3, (1, 0, 0, 0, 0, 1, 1, 1, 0, 0)),
    (1, (0, 0, 1, 0, 0, 0, 0, 0, 0, 1)),
    (9, (0, 1, 0, 1, 1, 0, 0, 0, 1, 0)),
    (2, (0, 1, 0, 0, 0, 0, 1, 0, 0, 1)),
    (4, (1, 0, 0, 1, 0, 0, 0, 1, 0, 0)),
    (1, (0, 0, 1, 0, 1, 0, 0, 1, 0, 0)),
)
ELIGIBLE_V3 = 10

# The results of a tally and, for trustees, their public key and partial decryptions.
Decryption = tuple[list[dict[str, str | None]], str | None, list[str] | None]


def _prime(rng: crypto.DeterministicRandom, bits: int) -> int:
    start = rng.randbelow(1 << bits) | (3 << (bits - 2)) | 1
    return int(gmpy2.next_prime(start))


def golden_keypair() -> tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey]:
    """A fixed 1024-bit test key derived from a public seed: never for a real election."""
    rng = crypto.DeterministicRandom(b"evoting golden record key")
    p, q = _prime(rng, 512), _prime(rng, 512)
    public_key = paillier.PaillierPublicKey(p * q)
    return public_key, paillier.PaillierPrivateKey(public_key, p, q)


def randbits_from(seed: str) -> Callable[[int], int]:
    """A ``randbits`` drawing from a named deterministic stream, as the threshold vectors do."""
    rng = crypto.DeterministicRandom(seed.encode())
    return lambda bits: rng.randbelow(1 << bits)


def golden_threshold_key() -> tuple[ThresholdKey, list[KeyShare]]:
    """A fixed 1024-bit 2-of-3 key dealt from a public seed: never for a real election."""
    return deal(1024, THRESHOLD, TRUSTEES, randbits=randbits_from("evoting golden trustee key"))


def golden_context(index: int) -> str:
    return "vc1-" + hashlib.sha256(f"golden voter {index}".encode()).hexdigest()[:40]


def golden_v2_context(index: int) -> str:
    return "vc1-" + hashlib.sha256(f"golden v2 voter {index}".encode()).hexdigest()[:40]


def golden_v3_context(index: int) -> str:
    return "vc1-" + hashlib.sha256(f"golden v3 voter {index}".encode()).hexdigest()[:40]


def golden_params(public_key: paillier.PaillierPublicKey) -> crypto.ElectionParams:
    """The v1 golden election: three candidate identifiers, one to choose."""
    return crypto.single_question_params(
        ELECTION_ID, public_key, tuple(candidate_id for candidate_id, _, _ in CANDIDATES)
    )


def golden_v2_params(
    public_key: paillier.PaillierPublicKey,
    election_id: str = ELECTION_ID_V2,
    title: str = TITLE_V2,
) -> crypto.ElectionParams:
    """The v2 golden election: three questions, the last one allowing a blank vote."""
    return crypto.ElectionParams(
        election_id=election_id,
        public_key=public_key,
        questions=tuple(
            crypto.QuestionParams(
                options=tuple(crypto.OptionParams(*option) for option in options),
                min_selections=low,
                max_selections=high,
                blank=blank,
                title=question,
                description=description,
            )
            for question, description, low, high, blank, options in QUESTIONS_V2
        ),
        title=title,
    )


def build_golden_record() -> str:
    """Return the golden record's text (the caller allows small keys)."""
    return build_record(golden_keypair(), CHOICES, eligible=ELIGIBLE)


def build_golden_record_12() -> str:
    """Return the twelve-ballot golden record's text (the caller allows small keys)."""
    return build_record(golden_keypair(), CHOICES_12, eligible=ELIGIBLE_12)


def build_golden_record_v2() -> str:
    """Return the v2 golden record's text (the caller allows small keys)."""
    return build_record_v2(golden_keypair(), CHOICES_V2, eligible=ELIGIBLE_V2)


def build_golden_record_trustees() -> str:
    """Return the trustees' golden record's text (the caller allows small keys)."""
    key, shares = golden_threshold_key()
    public = make_public_key(ELECTION_ID_TRUSTEES, key)
    params = golden_v2_params(public.paillier_public_key, ELECTION_ID_TRUSTEES, TITLE_TRUSTEES)

    def decrypt(totals: Sequence[int], closing_hash: str) -> Decryption:
        tally = EncryptedTally(params, len(CHOICES_V2), closing_hash, tuple(totals))
        partial_files = [
            partially_decrypt_tally(
                public, shares[index - 1], tally, randbits=randbits_from(f"golden trustee {index}")
            )
            for index in DECRYPTING_TRUSTEES
        ]
        counts = combine_tally(public, tally, partial_files)
        results = [
            {
                **_result_identity(params, slot),
                "count": int_to_hex(count),
                "ciphertext": int_to_hex(total),
                "proof": None,
            }
            for slot, (count, total) in enumerate(zip(counts, totals, strict=True))
        ]
        partials = [dump_partial(partial_file).decode("ascii") for partial_file in partial_files]
        return results, dump_public_key(public).decode("ascii"), partials

    return _render(
        params,
        decrypt,
        CHOICES_V2,
        [golden_v2_context(i) for i in range(1, len(CHOICES_V2) + 1)],
        election={
            "id": ELECTION_ID_TRUSTEES,
            "slug": "golden-trustees-2026",
            "title": TITLE_TRUSTEES,
        },
        roll=[golden_v2_context(i) for i in range(1, ELIGIBLE_V2 + 1)],
        seed="golden trustees ballot",
        candidates=None,
    )


def build_record(
    keypair: tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey],
    choices: Sequence[Sequence[int]],
    *,
    eligible: int,
    contexts: Sequence[str] | None = None,
) -> str:
    """Return an honest, published v1 record of ``choices`` (one ballot each) under ``keypair``.

    ``contexts`` gives the ballots' voter contexts (default: the golden pseudonyms).
    """
    params = golden_params(keypair[0])
    if contexts is None:
        contexts = [golden_context(i) for i in range(1, len(choices) + 1)]
    return _render(
        params,
        key_decryption(params, keypair[1]),
        choices,
        contexts,
        election={"id": ELECTION_ID, "slug": "golden-2026", "title": "Golden record election"},
        roll=[golden_context(i) for i in range(1, eligible + 1)],
        seed="golden ballot",
        candidates=[
            {
                "id": candidate_id,
                "position": int_to_hex(position),
                "name": name,
                "affiliation": party,
            }
            for position, (candidate_id, name, party) in enumerate(CANDIDATES, start=1)
        ],
    )


def build_record_v2(
    keypair: tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey],
    choices: Sequence[Sequence[int]],
    *,
    eligible: int,
) -> str:
    """Return an honest, published v2 record of ``choices`` (one 0/1 per slot, per ballot)."""
    params = golden_v2_params(keypair[0])
    return _render(
        params,
        key_decryption(params, keypair[1]),
        choices,
        [golden_v2_context(i) for i in range(1, len(choices) + 1)],
        election={"id": ELECTION_ID_V2, "slug": "golden-v2-2026", "title": TITLE_V2},
        roll=[golden_v2_context(i) for i in range(1, eligible + 1)],
        seed="golden v2 ballot",
        candidates=None,
    )


def key_decryption(
    params: crypto.ElectionParams, private_key: paillier.PaillierPrivateKey
) -> Callable[[Sequence[int], str], Decryption]:
    """Decrypt each total with the single key, a proof per result; no trustees."""

    def decrypt(totals: Sequence[int], closing_hash: str) -> Decryption:
        results: list[dict[str, str | None]] = []
        for slot, total in enumerate(totals):
            count, proof = crypto.decrypt_with_proof(private_key, total)
            results.append(
                {
                    **_result_identity(params, slot),
                    "count": int_to_hex(count),
                    "ciphertext": int_to_hex(total),
                    "proof": int_to_hex(proof),
                }
            )
        return results, None, None

    return decrypt


def _result_identity(params: crypto.ElectionParams, slot: int) -> dict[str, str | None]:
    if params.version == 1:
        return {"candidate": params.option_ids[slot]}
    for number, (start, question) in enumerate(zip(params.offsets, params.questions, strict=True)):
        if start <= slot < start + question.width:
            options = question.options
            option = options[slot - start].id if slot - start < len(options) else None
            return {"question": int_to_hex(number), "option": option}
    raise IndexError(slot)


def _render(
    params: crypto.ElectionParams,
    decrypt: Callable[[Sequence[int], str], Decryption],
    choices: Sequence[Sequence[int]],
    contexts: Sequence[str],
    *,
    election: dict[str, str],
    roll: Sequence[str],
    seed: str,
    candidates: list[dict[str, str]] | None,
) -> str:
    # Imported here so that the module can be loaded before Django is set up.
    from elections.record import BoardEntry, RecordParts, render_record

    head = board.genesis_hash(params.fingerprint)
    entries = []
    ballots = []
    for sequence, choice in enumerate(choices, start=1):
        context = contexts[sequence - 1]
        rng = crypto.DeterministicRandom(f"{seed} {sequence}".encode())
        ballot = crypto.encrypt_ballot(params, context, list(choice), rng=rng)
        ballots.append(ballot)
        tracker = crypto.ballot_tracker(ballot, params)
        cast_at = _cast_at(sequence)
        head = board.ballot_hash(head, sequence, context, cast_at, tracker)
        entries.append(
            BoardEntry(
                sequence, context, cast_at, tracker, head, crypto.ballot_to_json(ballot, params)
            )
        )
    totals = crypto.aggregate_ballots(params, ballots)
    closing_hash = board.closing_hash(head, len(entries))
    results, trustees, partial_decryptions = decrypt(totals, closing_hash)
    parts = RecordParts(
        election=_published(election, len(entries)),
        params=_params_section(params),
        candidates=candidates,
        voter_roll=_roll_section(roll),
        chain={
            "genesis": board.genesis_hash(params.fingerprint),
            "head": head,
            "closing": closing_hash,
        },
        encrypted_tally={
            "ciphertexts": [int_to_hex(total) for total in totals],
            "ballot_count": int_to_hex(len(entries)),
        },
        results=results,
        trustees=trustees,
        partial_decryptions=partial_decryptions,
    )
    return "".join(render_record(parts, entries))


def _cast_at(number: int) -> str:
    return f"2026-03-01T09:{number // 60 % 60:02d}:{number % 60:02d}.{number % 1000:03d}Z"


def _published(election: dict[str, str], ballot_count: int) -> dict[str, str]:
    return {
        **election,
        "status": "published",
        "opened_at": "2026-03-01T08:00:00.000Z",
        "closed_at": "2026-03-01T18:00:00.000Z",
        "published_at": "2026-03-01T18:05:00.000Z",
        "ballot_count": int_to_hex(ballot_count),
    }


def _params_section(params: crypto.ElectionParams) -> dict[str, Any]:
    section: dict[str, Any] = crypto.encoding.load_json(
        crypto.params_to_json(params), max_bytes=1 << 20, error=crypto.ParameterError
    )
    return section


def _roll_section(roll: Sequence[str]) -> dict[str, str]:
    return {
        "mode": "all",
        "eligible": int_to_hex(len(roll)),
        "commitment": voter_roll_commitment(roll),
    }


class _CastV3(NamedTuple):
    box: int
    sequence: int
    context: str
    cast_at: str
    tracker: str
    chain_hash: str
    ballot: crypto.Ballot


def build_golden_record_v3() -> str:
    """Return the v3 golden record's text: boxes and revoting (the caller allows small keys).

    Each ballot goes to its voter's box, numbered and chained in that box; a
    voter's earlier ballots name the sequence of the ballot that replaced them,
    and the encrypted tally is the product of the ballots that count.
    """
    from elections.record import BoardEntry, RecordParts, render_record

    public_key, private_key = golden_keypair()
    params = golden_v2_params(public_key, ELECTION_ID_V3, TITLE_V3)
    genesis = [board.box_genesis_hash(params.fingerprint, box, BOXES_V3) for box in range(BOXES_V3)]
    heads = list(genesis)
    lengths = [0] * BOXES_V3
    cast: list[_CastV3] = []
    # A voter's next ballot replaces the one before: the last one of each voter counts.
    replaced_by: dict[int, int] = {}
    latest: dict[str, int] = {}
    for number, (voter, choice) in enumerate(CASTS_V3, start=1):
        context = golden_v3_context(voter)
        box = board.box_of(context, BOXES_V3)
        lengths[box] += 1
        rng = crypto.DeterministicRandom(f"golden v3 ballot {number}".encode())
        ballot = crypto.encrypt_ballot(params, context, list(choice), rng=rng)
        tracker = crypto.ballot_tracker(ballot, params)
        cast_at = _cast_at(number)
        heads[box] = board.ballot_hash(heads[box], lengths[box], context, cast_at, tracker)
        if context in latest:
            replaced_by[latest[context]] = lengths[box]
        latest[context] = len(cast)
        cast.append(_CastV3(box, lengths[box], context, cast_at, tracker, heads[box], ballot))
    entries = [
        BoardEntry(
            item.sequence,
            item.context,
            item.cast_at,
            item.tracker,
            item.chain_hash,
            crypto.ballot_to_json(item.ballot, params),
            box=item.box,
            replaced_by=replaced_by.get(index),
        )
        for index, item in sorted(enumerate(cast), key=lambda pair: pair[1][:2])
    ]
    counted = [item.ballot for index, item in enumerate(cast) if index not in replaced_by]
    totals = crypto.aggregate_ballots(params, counted)
    closing_hash = board.boxes_closing_hash(list(zip(heads, lengths, strict=True)))
    results, _, _ = key_decryption(params, private_key)(totals, closing_hash)
    roll = [golden_v3_context(i) for i in range(1, ELIGIBLE_V3 + 1)]
    election = {"id": ELECTION_ID_V3, "slug": "golden-v3-2026", "title": TITLE_V3}
    chain: dict[str, Any] = {
        "boxes": [
            {"genesis": start, "head": head, "ballots": int_to_hex(length)}
            for start, head, length in zip(genesis, heads, lengths, strict=True)
        ],
        "closing": closing_hash,
    }
    parts = RecordParts(
        election={
            **_published(election, len(cast)),
            "ballot_boxes": int_to_hex(BOXES_V3),
            "revoting": "1",
        },
        params=_params_section(params),
        candidates=None,
        voter_roll=_roll_section(roll),
        chain=chain,
        encrypted_tally={
            "ciphertexts": [int_to_hex(total) for total in totals],
            "ballot_count": int_to_hex(len(counted)),
        },
        results=results,
        trustees=None,
        partial_decryptions=None,
        boxes=True,
    )
    return "".join(render_record(parts, entries))


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evoting.settings")
    import django

    django.setup()
    with allow_small_keys_for_tests():
        for path, build in (
            (GOLDEN_PATH, build_golden_record),
            (GOLDEN_12_PATH, build_golden_record_12),
            (GOLDEN_V2_PATH, build_golden_record_v2),
            (GOLDEN_TRUSTEES_PATH, build_golden_record_trustees),
            (GOLDEN_V3_PATH, build_golden_record_v3),
        ):
            text = build()
            path.write_text(text, encoding="ascii")
            sys.stdout.write(f"Wrote {path} ({len(text):,} bytes).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
