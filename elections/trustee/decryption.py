"""A trustee's partial decryption of the totals, and combining K of them into counts.

``partially_decrypt_tally`` runs on a trustee's machine with the share;
``combine_tally`` runs anywhere on partial decryption files that
``files.check_partial_file`` accepted. Each slot is decrypted and combined on
its own (``threshold.partial_decrypt`` and ``threshold.combine``), with the
proof bound to ``files.slot_context``. The cost depends on the key and the
number of slots, not on the number of ballots: a total is one element of
``Z*_(n^2)`` however many ciphertexts were multiplied into it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from elections.crypto.threshold import KeyShare, ThresholdKey, combine, partial_decrypt

from .files import (
    EncryptedTally,
    PartialDecryptionFile,
    TrusteeFileError,
    TrusteePublicKey,
    check_share,
    check_tally_key,
    slot_context,
)


def partially_decrypt_tally(
    public: TrusteePublicKey,
    share: KeyShare,
    tally: EncryptedTally,
    *,
    randbits: Callable[[int], int] = secrets.randbits,
    progress: Callable[[int, int], None] | None = None,
) -> PartialDecryptionFile:
    """Trustee ``share.index``'s partial decryption of every total, each with its proof.

    Takes the public key, the trustee's share (already checked by
    ``load_share``), the tally, a randomness source and an optional
    ``progress(done, total)`` callback. Raises ``TrusteeFileError`` for a
    tally of another election or key.
    """
    check_tally_key(public, tally)
    check_share(public, share)
    partials = []
    for slot, ciphertext in enumerate(tally.ciphertexts):
        context = slot_context(tally.params, slot)
        partials.append(partial_decrypt(public.key, share, ciphertext, context, randbits=randbits))
        if progress is not None:
            progress(slot + 1, len(tally.ciphertexts))
    return PartialDecryptionFile(
        tally.election_id, tally.params.fingerprint, share.index, tuple(partials)
    )


def combine_tally(
    public: TrusteePublicKey, tally: EncryptedTally, partial_files: Sequence[PartialDecryptionFile]
) -> tuple[int, ...]:
    """Combine checked partial decryption files into the count of every slot.

    Every file must come from ``check_partial_file`` for this public key and
    tally (combining unchecked partials gives wrong counts without an error).
    Raises ``TrusteeFileError`` if a trustee appears twice or fewer than K
    distinct trustees are present (the message lists who is missing). Uses
    the first K trustees by index: all K-subsets give the same counts.
    """
    check_tally_key(public, tally)
    seen: set[int] = set()
    for partial_file in partial_files:
        if partial_file.trustee in seen:
            raise TrusteeFileError(f"trustee {partial_file.trustee} sent two partial decryptions")
        if partial_file.params_fingerprint != tally.params.fingerprint:
            raise TrusteeFileError(
                f"trustee {partial_file.trustee}'s partial decryption is for another tally"
            )
        seen.add(partial_file.trustee)
    key = public.key
    if len(seen) < key.threshold:
        raise TrusteeFileError(missing_trustees_message(key, seen))
    return tuple(
        combine(key, [partial_file.partials[slot] for partial_file in partial_files])
        for slot in range(tally.params.slot_count)
    )


def missing_trustees_message(key: ThresholdKey, present: set[int]) -> str:
    """Say how many partial decryptions are missing and from whom."""
    absent = [index for index in range(1, key.trustees + 1) if index not in present]
    have = ", ".join(map(str, sorted(present))) or "none"
    return (
        f"{key.threshold} of the {key.trustees} trustees must decrypt; "
        f"{len(present)} valid partial decryption(s) (trustees: {have}): "
        f"{key.threshold - len(present)} more needed, from any of trustees "
        + ", ".join(map(str, absent))
    )
