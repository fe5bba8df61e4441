"""Build the golden trustee files: a 512-bit 3-of-5 key, everything deterministic.

``public.json``, ``trustee-1.json`` (a plain share), ``tally.json`` (six
ballots on two questions, the second with a blank vote) and the partial
decryptions of trustees 1, 3 and 4 (2 and 5 absent) come from seeded
randomness, so running this again gives the same bytes. ``trustee-2.sealed.json``
is sealed under ``SEALED_PASSPHRASE`` with a fresh salt and nonce, so it is
written only when missing; the tests open it. Regenerate after a deliberate
format change with::

    .venv/bin/python -m tests.trustee.golden.regenerate
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import gmpy2  # type: ignore[import-untyped]
from phe import paillier

from elections.board import closing_hash
from elections.crypto import ElectionParams, OptionParams, QuestionParams
from elections.crypto.keys import allow_small_keys_for_tests
from elections.crypto.threshold import KeyShare, deal
from elections.trustee.decryption import partially_decrypt_tally
from elections.trustee.files import (
    EncryptedTally,
    TrusteePublicKey,
    dump_partial,
    dump_public_key,
    dump_share,
    dump_tally,
    make_public_key,
)

GOLDEN_DIR = Path(__file__).parent
ELECTION_ID = "trustee-golden-2027"
SEED = 2027
BITS = 512
THRESHOLD, TRUSTEES = 3, 5
PRESENT = (1, 3, 4)
SEALED_PASSPHRASE = "golden passphrase of trustee 2"
# Per ballot: four candidates (one or two chosen), then yes, no, blank.
CHOICES = (
    (1, 0, 0, 1, 1, 0, 0),
    (0, 1, 0, 0, 0, 1, 0),
    (1, 1, 0, 0, 0, 0, 1),
    (0, 0, 1, 0, 1, 0, 0),
    (1, 0, 0, 0, 0, 0, 1),
    (0, 1, 0, 1, 1, 0, 0),
)
SEALED_SHARE_NAME = "trustee-2.sealed.json"


def seeded(seed: int) -> Callable[[int], int]:
    return random.Random(seed).getrandbits


def dealt(
    election_id: str = ELECTION_ID, seed: int = SEED, trustees: int = TRUSTEES
) -> tuple[TrusteePublicKey, list[KeyShare]]:
    """The golden 3-of-5 key (or another, with another seed), with its public file's fingerprint."""
    key, shares = deal(BITS, THRESHOLD, trustees, randbits=seeded(seed))
    return make_public_key(election_id, key), shares


def election_params(election_id: str, public_key: paillier.PaillierPublicKey) -> ElectionParams:
    """A v2 election of 7 slots: 1 or 2 of 4 candidates, then yes, no or a blank vote."""
    return ElectionParams(
        election_id=election_id,
        public_key=public_key,
        questions=(
            QuestionParams(
                options=(
                    OptionParams("c-zoe", "Zo\u00eb \u00c5ngstr\u00f6m", "Civic List"),
                    OptionParams("c-ben", "Ben Brandt"),
                    OptionParams("c-cleo", "Cl\u00e9o Chen", "Independent"),
                    OptionParams("c-dan", "Dan Dahl"),
                ),
                min_selections=1,
                max_selections=2,
                title="Board members",
            ),
            QuestionParams(
                options=(OptionParams("m-yes", "Yes"), OptionParams("m-no", "No")),
                blank=True,
                title="Adopt the motion?",
            ),
        ),
        title="General assembly 2027",
    )


def encrypted_totals(
    n: int, choices: Sequence[Sequence[int]], randbits: Callable[[int], int]
) -> tuple[int, ...]:
    """The product of every ballot's encryption, slot by slot: ``(1 + m n) r^n mod n^2``."""
    n_square = n * n
    totals = [1] * len(choices[0])
    for ballot in choices:
        for slot, bit in enumerate(ballot):
            while True:
                r = randbits(n.bit_length()) % n
                if r and gmpy2.gcd(r, n) == 1:
                    break
            ciphertext = (1 + bit * n) * gmpy2.powmod(r, n, n_square) % n_square
            totals[slot] = int(totals[slot] * ciphertext % n_square)
    return tuple(totals)


def expected_counts(choices: Sequence[Sequence[int]]) -> tuple[int, ...]:
    return tuple(sum(column) for column in zip(*choices, strict=True))


def make_tally(
    public: TrusteePublicKey,
    choices: Sequence[Sequence[int]] = CHOICES,
    *,
    election_id: str | None = None,
    seed: int = SEED,
) -> EncryptedTally:
    """The encrypted totals of ``choices`` under ``public``'s key, as the site publishes them."""
    params = election_params(election_id or public.election_id, public.paillier_public_key)
    totals = encrypted_totals(public.key.n, choices, seeded(seed + 100))
    head = closing_hash("0" * 64, len(choices))
    return EncryptedTally(params, len(choices), closing_hash(head, len(choices)), totals)


def build() -> dict[str, bytes]:
    """Every deterministic golden file, by name."""
    public, shares = dealt()
    tally = make_tally(public)
    files = {
        "public.json": dump_public_key(public),
        "trustee-1.json": dump_share(public, shares[0], passphrase=None),
        "tally.json": dump_tally(tally),
    }
    for index in PRESENT:
        partial = partially_decrypt_tally(
            public, shares[index - 1], tally, randbits=seeded(SEED + index)
        )
        files[f"partial-{index}.json"] = dump_partial(partial)
    return files


def main() -> None:
    with allow_small_keys_for_tests():
        for name, data in build().items():
            (GOLDEN_DIR / name).write_bytes(data)
        sealed = GOLDEN_DIR / SEALED_SHARE_NAME
        if not sealed.exists():
            public, shares = dealt()
            sealed.write_bytes(dump_share(public, shares[1], passphrase=SEALED_PASSPHRASE))


if __name__ == "__main__":
    main()
