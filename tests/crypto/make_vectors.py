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
    ballot_tracker,
    decrypt_with_proof,
    encrypt_ballot,
    params_to_json,
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


def build_vector(case: dict[str, Any]) -> dict[str, Any]:
    """Compute one vector document from its case description."""
    public_key, private_key = deterministic_keypair(case["bits"], case["name"].encode())
    params = ElectionParams(
        election_id=case["election_id"],
        public_key=public_key,
        candidates=tuple(case["candidates"]),
        min_selections=case["min_selections"],
        max_selections=case["max_selections"],
    )
    seed = ("seed/" + case["name"]).encode()
    ballot = encrypt_ballot(
        params, case["voter_context"], case["selections"], rng=DeterministicRandom(seed)
    )
    # The first draws are r, rho, challenge, mask per candidate: recover the
    # r values so the tests can check the ciphertexts against phe itself.
    rng = DeterministicRandom(seed)
    randomness = []
    for _ in params.candidates:
        randomness.append(1 + rng.randbelow(params.n - 1))
        rng.randbelow(params.n - 1)
        rng.randbelow(1 << 128)
        rng.randbelow(params.n - 1)
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
        "fingerprint": params.fingerprint,
        "voter_context": case["voter_context"],
        "seed": seed.hex(),
        "selections": case["selections"],
        "randomness": [int_to_hex(r) for r in randomness],
        "statement": statement_digest(
            params.fingerprint, case["voter_context"], ballot.ciphertexts
        ),
        "ballot": ballot_to_dict(ballot),
        "tracker": ballot_tracker(ballot),
        "tally_of_two_copies": decryptions,
    }


def main() -> None:
    """Write every vector file."""
    VECTORS.mkdir(exist_ok=True)
    with allow_small_keys_for_tests():
        for case in CASES:
            path = VECTORS / f"{case['name']}.json"
            path.write_text(json.dumps(build_vector(case), indent=2, sort_keys=True) + "\n")
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
