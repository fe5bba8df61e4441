"""Regenerate the known-answer vectors in tests/crypto/vectors/.

Run: .venv/bin/python -m tests.crypto.make_vectors

Everything is derived from fixed seeds (keys included), so a rerun writes
the same files unless the format or the code changed; the tests compare the
code against the committed files. The keys are deliberately small test keys
(1024 and 2048 bits) and are public: they protect nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gmpy2  # type: ignore[import-untyped]
from phe import paillier

from elections.crypto import (
    DeterministicRandom,
    ElectionParams,
    aggregate_ballots,
    allow_small_keys_for_tests,
    ballot_to_dict,
    ballot_to_json,
    ballot_tracker,
    decrypt_with_proof,
    encrypt_ballot,
    params_from_dict,
    params_to_json,
    single_question_params,
)
from elections.crypto.encoding import int_to_hex
from elections.crypto.proofs import statement_digest

VECTORS = Path(__file__).parent / "vectors"

CASES: list[dict[str, Any]] = [
    {
        "name": "ballot-k3-one-of-three-1024",
        "bits": 1024,
        "election_id": "kat-election-1",
        "candidates": ["alice", "bob", "carol"],
        "min_selections": 1,
        "max_selections": 1,
        "voter_context": "election=kat-election-1;voter=17",
        "selections": [0, 1, 0],
    },
    {
        "name": "ballot-k4-one-to-two-1024",
        "bits": 1024,
        "election_id": "kat-election-2",
        "candidates": ["c-1", "c-2", "c-3", "c-4"],
        "min_selections": 1,
        "max_selections": 2,
        "voter_context": "election=kat-election-2;voter=4",
        "selections": [1, 0, 0, 1],
    },
    {
        "name": "ballot-k2-zero-to-two-2048",
        "bits": 2048,
        "election_id": "kat-election-3",
        "candidates": ["yes", "no"],
        "min_selections": 0,
        "max_selections": 2,
        "voter_context": "election=kat-election-3;voter=abc",
        "selections": [0, 0],
    },
]


def _options(*names: str) -> list[dict[str, str]]:
    return [
        {"id": f"opt-{i}", "name": name, "affiliation": "", "position": format(i, "x")}
        for i, name in enumerate(names, start=1)
    ]


def _question(
    title: str,
    options: list[dict[str, str]],
    low: int,
    high: int,
    blank: bool,
    description: str = "",
) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "min_selections": format(low, "x"),
        "max_selections": format(high, "x"),
        "blank": "1" if blank else "0",
        "options": options,
    }


def _renumber(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Option ids must be unique across the election.
    number = 0
    for question in questions:
        for option in question["options"]:
            number += 1
            option["id"] = f"opt-{number}"
    return questions


# Format v2: labels in Unicode (escaped in canonical JSON), several questions, blank votes.
CASES_V2: list[dict[str, Any]] = [
    {
        "name": "ballot-v2-one-question-1024",
        "bits": 1024,
        "election_id": "kat-v2-1",
        "title": "Élection du comité 2027",
        "questions": _renumber(
            [
                _question(
                    "Président·e",
                    [
                        {
                            "id": "",
                            "name": "Zoë Ångström",
                            "affiliation": "Liste «Ensemble»",
                            "position": "1",
                        },
                        {"id": "", "name": "李小龍", "affiliation": "", "position": "2"},
                        {
                            "id": "",
                            "name": 'Grace "Amazing" Hopper',
                            "affiliation": "\U0001f5f3 Indépendante",
                            "position": "3",
                        },
                    ],
                    1,
                    1,
                    False,
                    "Choose one.\nThe term is two years.",
                )
            ]
        ),
        "voter_context": "vc1-0123456789abcdef0123456789abcdef01234567",
        "selections": [0, 1, 0],
    },
    {
        "name": "ballot-v2-one-question-blank-1024",
        "bits": 1024,
        "election_id": "kat-v2-2",
        "title": "Referendum",
        "questions": _renumber([_question("Adopt the motion?", _options("Yes", "No"), 1, 1, True)]),
        "voter_context": "election=kat-v2-2;voter=9",
        "selections": [0, 0, 1],
    },
    {
        "name": "ballot-v2-three-questions-1024",
        "bits": 1024,
        "election_id": "kat-v2-3",
        "title": "Board election",
        "questions": _renumber(
            [
                _question("Chair", _options("Ada", "Grace", "Alan", "Edsger"), 1, 1, False),
                _question("Adopt the budget?", _options("Yes", "No"), 1, 1, False),
                _question("Auditors", _options("Barbara", "Donald", "Leslie"), 0, 2, False),
            ]
        ),
        "voter_context": "election=kat-v2-3;voter=1",
        "selections": [0, 0, 1, 0, 1, 0, 1, 0, 1],
    },
    {
        "name": "ballot-v2-three-questions-blank-1024",
        "bits": 1024,
        "election_id": "kat-v2-4",
        "title": "General assembly",
        "questions": _renumber(
            [
                _question("Chair", _options("Ada", "Grace", "Alan", "Edsger"), 1, 1, False),
                _question("Adopt the motion?", _options("Yes", "No"), 1, 1, True),
                _question("Committee", _options("Barbara", "Donald", "Leslie"), 1, 2, True),
            ]
        ),
        "voter_context": "election=kat-v2-4;voter=22",
        "selections": [0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0],
    },
]


def deterministic_keypair(
    bits: int, seed: bytes
) -> tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey]:
    """Derive a Paillier key pair from a seed (test keys only): two bits/2-bit primes."""
    rng = DeterministicRandom(b"evoting/test-key/" + seed)
    half = bits // 2
    while True:
        primes = []
        for _ in range(2):
            start = rng.randbelow(1 << half) | (3 << (half - 2)) | 1
            primes.append(int(gmpy2.next_prime(start)))
        p, q = primes
        if p != q and (p * q).bit_length() == bits:
            public_key = paillier.PaillierPublicKey(p * q)
            return public_key, paillier.PaillierPrivateKey(public_key, p, q)


def case_params(case: dict[str, Any], public_key: paillier.PaillierPublicKey) -> ElectionParams:
    """Build the parameters a case describes (v1 cases list candidates, v2 cases questions)."""
    if "questions" not in case:
        return single_question_params(
            case["election_id"],
            public_key,
            tuple(case["candidates"]),
            case["min_selections"],
            case["max_selections"],
        )
    return params_from_dict(
        {
            "format": "evoting/election-params/v2",
            "election_id": case["election_id"],
            "title": case["title"],
            "n": int_to_hex(public_key.n),
            "questions": case["questions"],
        }
    )


def slot_randomness(params: ElectionParams, seed: bytes) -> list[int]:
    """Replay the documented draw order and return each slot's encryption randomness r."""
    rng = DeterministicRandom(seed)
    randomness = []
    for question in params.questions:
        for _ in range(question.width):
            randomness.append(1 + rng.randbelow(params.n - 1))
            rng.randbelow(params.n - 1)
            rng.randbelow(1 << 128)
            rng.randbelow(params.n - 1)
        rng.randbelow(params.n - 1)
        for _ in question.count_values:
            rng.randbelow(1 << 128)
            rng.randbelow(params.n - 1)
    return randomness


def build_vector(case: dict[str, Any]) -> dict[str, Any]:
    """Compute one vector document from its case description."""
    public_key, private_key = deterministic_keypair(case["bits"], case["name"].encode())
    params = case_params(case, public_key)
    seed = ("seed/" + case["name"]).encode()
    ballot = encrypt_ballot(
        params, case["voter_context"], case["selections"], rng=DeterministicRandom(seed)
    )
    decryptions = []
    for total in aggregate_ballots(params, [ballot, ballot]):
        count, r = decrypt_with_proof(private_key, total)
        decryptions.append(
            {"ciphertext": int_to_hex(total), "count": int_to_hex(count), "r": int_to_hex(r)}
        )
    return {
        "description": "Known-answer ballot; deliberately small public test key, never real.",
        "key": {
            "n": int_to_hex(public_key.n),
            "p": int_to_hex(private_key.p),
            "q": int_to_hex(private_key.q),
        },
        "params": json.loads(params_to_json(params)),
        "params_json": params_to_json(params),
        "fingerprint": params.fingerprint,
        "voter_context": case["voter_context"],
        "seed": seed.hex(),
        "selections": case["selections"],
        "randomness": [int_to_hex(r) for r in slot_randomness(params, seed)],
        "statement": statement_digest(
            params.fingerprint, case["voter_context"], ballot.ciphertexts, params.version
        ),
        "ballot": ballot_to_dict(ballot, params),
        "ballot_json": ballot_to_json(ballot, params),
        "tracker": ballot_tracker(ballot, params),
        "tally_of_two_copies": decryptions,
    }


def main() -> None:
    """Write every vector file."""
    VECTORS.mkdir(exist_ok=True)
    with allow_small_keys_for_tests():
        for case in CASES + CASES_V2:
            path = VECTORS / f"{case['name']}.json"
            path.write_text(json.dumps(build_vector(case), indent=2, sort_keys=True) + "\n")
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
