"""The trustees' tool: key ceremony, sealed shares, partial decryptions and their check.

Django-free, like ``elections.crypto`` and ``elections.verify``: it imports
nothing of the site, so a trustee can run and review it on an offline
machine with only this package, ``elections.crypto`` and their libraries.
``python -m elections.trustee`` is its command line (``cli``); ``files``
holds the file formats, which ``docs/trustees.md`` specifies byte by byte.

Threat model
------------
Protects against:
- a site, or anyone with its database, reading ballots: the site holds only
  the public key and the verification keys; decrypting needs K of the N
  trustees' shares, and fewer than K shares say nothing about the key;
- a cheating trustee: every partial decryption carries a proof bound to the
  election's parameters, the slot, the ciphertext and the trustee's
  verification key; a wrong value, a proof from another tally or election,
  or a file sent twice is refused with the trustee named;
- a lost or stolen share file: it is sealed under its trustee's passphrase
  (scrypt + AES-256-GCM), and any K of the other trustees still decrypt;
- substituted files: the share names the election and the public key's
  fingerprint; the tally names the parameters, which name the key; readers
  refuse any mismatch, and any unknown format, extra field or oversized
  input.

Does not protect against:
- the dealer: the ceremony machine sees p, q and every share while it runs;
  it must be trusted, offline, and keep nothing afterwards;
- K trustees who collude: with the site's database they can decrypt every
  stored ballot, not only the totals;
- decrypting the wrong thing: the tool decrypts the totals it is given. A
  trustee must check that the closing hash and ballot count are the ones
  the site announced and that the published record verifies
  (``python -m elections.verify``); decrypting two totals of one election
  (say before and after one more ballot) would reveal the difference;
- weak passphrases: whoever copies a sealed share can guess offline, at the
  cost of one scrypt derivation per guess.
"""

from .decryption import combine_tally, partially_decrypt_tally
from .files import (
    PARTIAL_FORMAT,
    PUBLIC_FORMAT,
    SEALED_SHARE_FORMAT,
    SHARE_FORMAT,
    TALLY_FORMAT,
    EncryptedTally,
    PartialDecryptionFile,
    TrusteeFileError,
    TrusteePublicKey,
    check_partial_file,
    check_tally_key,
    dump_partial,
    dump_public_key,
    dump_share,
    dump_tally,
    load_public_key,
    load_share,
    load_tally,
    make_public_key,
    share_is_sealed,
    slot_context,
)

__all__ = [
    "PARTIAL_FORMAT",
    "PUBLIC_FORMAT",
    "SEALED_SHARE_FORMAT",
    "SHARE_FORMAT",
    "TALLY_FORMAT",
    "EncryptedTally",
    "PartialDecryptionFile",
    "TrusteeFileError",
    "TrusteePublicKey",
    "check_partial_file",
    "check_tally_key",
    "combine_tally",
    "dump_partial",
    "dump_public_key",
    "dump_share",
    "dump_tally",
    "load_public_key",
    "load_share",
    "load_tally",
    "make_public_key",
    "partially_decrypt_tally",
    "share_is_sealed",
    "slot_context",
]
