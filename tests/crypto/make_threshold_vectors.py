"""Regenerate the threshold known-answer vectors in tests/crypto/threshold_vectors/.

Run: .venv/bin/python -m tests.crypto.make_threshold_vectors

Every random number comes from ``DeterministicRandom`` streams named after the
case, drawn as ``randbits(k) = randbelow(2^k)``, so Python and the browser
module deal the same primes, shares and base and make the same partial
decryptions and proofs. The keys are small public test keys: they protect nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from elections.crypto import DeterministicRandom
from elections.crypto.encoding import int_to_hex
from elections.crypto.threshold import combine, deal, partial_decrypt, verify_partial

VECTORS = Path(__file__).parent / "threshold_vectors"
CASES: list[dict[str, Any]] = [
    {
        "name": "threshold-3-of-5-512",
        "bits": 512,
        "threshold": 3,
        "trustees": 5,
        "plaintext": 1234,
        "decrypting": [1, 3, 5],
    },
    {
        "name": "threshold-1-of-1-256",
        "bits": 256,
        "threshold": 1,
        "trustees": 1,
        "plaintext": 7,
        "decrypting": [1],
    },
]
CONTEXT = "kat-fingerprint/slot/0"


def randbits_from(seed: str) -> Any:
    rng = DeterministicRandom(seed.encode())
    return lambda bits: rng.randbelow(1 << bits)


def build(case: dict[str, Any]) -> dict[str, Any]:
    key, shares = deal(
        case["bits"], case["threshold"], case["trustees"], randbits=randbits_from(case["name"])
    )
    n, n_square = key.n, key.n_square
    r = 1 + DeterministicRandom((case["name"] + "/r").encode()).randbelow(n - 1)
    ciphertext = (1 + case["plaintext"] * n) * pow(r, n, n_square) % n_square
    partials = []
    for index in case["decrypting"]:
        partial = partial_decrypt(
            key,
            shares[index - 1],
            ciphertext,
            CONTEXT,
            randbits=randbits_from(f"{case['name']}/trustee-{index}"),
        )
        verify_partial(key, ciphertext, partial, CONTEXT)
        partials.append(partial)
    assert combine(key, partials) == case["plaintext"]
    return {
        "description": "Threshold known answers; a deliberately small public test key.",
        "seed": case["name"],
        "bits": case["bits"],
        "threshold": case["threshold"],
        "trustees": case["trustees"],
        "key": {
            "n": int_to_hex(n),
            "v": int_to_hex(key.v),
            "verification_keys": [int_to_hex(x) for x in key.verification_keys],
        },
        "shares": [int_to_hex(share.share) for share in shares],
        "context": CONTEXT,
        "ciphertext": int_to_hex(ciphertext),
        "plaintext": int_to_hex(case["plaintext"]),
        "partials": [
            {
                "trustee": int_to_hex(p.index),
                "seed": f"{case['name']}/trustee-{p.index}",
                "value": int_to_hex(p.value),
                "challenge": int_to_hex(p.challenge),
                "response": int_to_hex(p.response),
            }
            for p in partials
        ],
    }


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    for case in CASES:
        path = VECTORS / f"{case['name']}.json"
        path.write_text(json.dumps(build(case), indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
