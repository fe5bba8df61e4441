"""Build the golden election records: 1024-bit key, 3 candidates, all deterministic.

``record-v1.json`` holds 5 ballots; ``record-v1-12.json`` holds 12, so that it
pins how sequence numbers and counts of 10 and more are spelt in every hash.

Every random choice comes from ``crypto.DeterministicRandom`` (the primes too),
so running this again gives the same bytes. Regenerate after a deliberate
format change with::

    .venv/bin/python -m tests.verify.golden.regenerate
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import gmpy2  # type: ignore[import-untyped]
from phe import paillier

from elections import board, crypto
from elections.crypto.encoding import int_to_hex
from elections.crypto.keys import allow_small_keys_for_tests
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


def _prime(rng: crypto.DeterministicRandom, bits: int) -> int:
    start = rng.randbelow(1 << bits) | (3 << (bits - 2)) | 1
    return int(gmpy2.next_prime(start))


def golden_keypair() -> tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey]:
    """A fixed 1024-bit test key derived from a public seed: never for a real election."""
    rng = crypto.DeterministicRandom(b"evoting golden record key")
    p, q = _prime(rng, 512), _prime(rng, 512)
    public_key = paillier.PaillierPublicKey(p * q)
    return public_key, paillier.PaillierPrivateKey(public_key, p, q)


def golden_context(index: int) -> str:
    return "vc1-" + hashlib.sha256(f"golden voter {index}".encode()).hexdigest()[:40]


def build_golden_record() -> str:
    """Return the golden record's text (the caller allows small keys)."""
    return build_record(golden_keypair(), CHOICES, eligible=ELIGIBLE)


def build_golden_record_12() -> str:
    """Return the twelve-ballot golden record's text (the caller allows small keys)."""
    return build_record(golden_keypair(), CHOICES_12, eligible=ELIGIBLE_12)


def build_record(
    keypair: tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey],
    choices: Sequence[Sequence[int]],
    *,
    eligible: int,
    contexts: Sequence[str] | None = None,
) -> str:
    """Return an honest, published record of ``choices`` (one ballot each) under ``keypair``.

    ``contexts`` gives the ballots' voter contexts (default: the golden pseudonyms).
    """
    # Imported here so that the module can be loaded before Django is set up.
    from elections.record import BoardEntry, RecordParts, render_record

    public_key, private_key = keypair
    params = crypto.ElectionParams(
        election_id=ELECTION_ID,
        public_key=public_key,
        candidates=tuple(candidate_id for candidate_id, _, _ in CANDIDATES),
    )
    head = board.genesis_hash(params.fingerprint)
    entries = []
    ballots = []
    for sequence, choice in enumerate(choices, start=1):
        context = golden_context(sequence) if contexts is None else contexts[sequence - 1]
        rng = crypto.DeterministicRandom(f"golden ballot {sequence}".encode())
        ballot = crypto.encrypt_ballot(params, context, list(choice), rng=rng)
        ballots.append(ballot)
        tracker = crypto.ballot_tracker(ballot)
        cast_at = (
            f"2026-03-01T09:{sequence // 60 % 60:02d}:{sequence % 60:02d}.{sequence % 1000:03d}Z"
        )
        head = board.ballot_hash(head, sequence, context, cast_at, tracker)
        entries.append(
            BoardEntry(sequence, context, cast_at, tracker, head, crypto.ballot_to_json(ballot))
        )
    totals = crypto.aggregate_ballots(params, ballots)
    results = []
    for (candidate_id, _, _), total in zip(CANDIDATES, totals, strict=True):
        count, proof = crypto.decrypt_with_proof(private_key, total)
        results.append(
            {
                "candidate": candidate_id,
                "count": int_to_hex(count),
                "ciphertext": int_to_hex(total),
                "proof": int_to_hex(proof),
            }
        )
    parts = RecordParts(
        election={
            "id": ELECTION_ID,
            "slug": "golden-2026",
            "title": "Golden record election",
            "status": "published",
            "opened_at": "2026-03-01T08:00:00.000Z",
            "closed_at": "2026-03-01T18:00:00.000Z",
            "published_at": "2026-03-01T18:05:00.000Z",
            "ballot_count": int_to_hex(len(entries)),
        },
        params=crypto.encoding.load_json(
            crypto.params_to_json(params), max_bytes=65536, error=crypto.ParameterError
        ),
        candidates=[
            {
                "id": candidate_id,
                "position": int_to_hex(position),
                "name": name,
                "affiliation": party,
            }
            for position, (candidate_id, name, party) in enumerate(CANDIDATES, start=1)
        ],
        voter_roll={
            "mode": "all",
            "eligible": int_to_hex(eligible),
            "commitment": voter_roll_commitment(golden_context(i) for i in range(1, eligible + 1)),
        },
        chain={
            "genesis": board.genesis_hash(params.fingerprint),
            "head": head,
            "closing": board.closing_hash(head, len(entries)),
        },
        encrypted_tally={
            "ciphertexts": [int_to_hex(total) for total in totals],
            "ballot_count": int_to_hex(len(entries)),
        },
        results=results,
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
        ):
            text = build()
            path.write_text(text, encoding="ascii")
            sys.stdout.write(f"Wrote {path} ({len(text):,} bytes).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
