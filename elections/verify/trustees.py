"""The trustees' sections of a v2 record: their public key and their partial decryptions.

An election decrypted by trustees (any K of N) publishes, instead of one
decryption proof per result, the trustees' public key (``trustees``, their
``public.json``) and each decrypting trustee's partial decryption document
(``partial_decryptions``). The checks are those of the trustees' own tool
(``elections.trustee``): the key must be the one the ballots are encrypted
under and name this election; every partial decryption's proofs must hold
for the record's encrypted tally; at least K distinct trustees must have
decrypted; each published count must be the combination of their partials.
"""

from __future__ import annotations

from typing import Any

from elections import crypto
from elections.crypto.encoding import canonical_json
from elections.trustee.decryption import combine_tally, missing_trustees_message
from elections.trustee.files import (
    EncryptedTally,
    PartialDecryptionFile,
    TrusteePublicKey,
    check_partial_file,
    load_public_key,
)

from .reading import MalformedRecord
from .report import Report, TrusteeSummary


class TrusteeChecker:
    """Checks ``trustees`` against the parameters, then ``partial_decryptions`` against both."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.present = False
        self.public: TrusteePublicKey | None = None

    def check_key(self, value: Any, params: crypto.ElectionParams) -> None:
        """Read the trustees' public key; ``null`` means the election has a single key.

        A refused key is a ``trustees`` failure, not an unreadable record: the
        ballots and the tally can still be checked without it.
        """
        if value is None:
            return
        self.present = True
        try:
            public = load_public_key(canonical_json(value))
        except (crypto.CryptoError, ValueError, TypeError, RecursionError) as error:
            self.report.fail("trustees", f"the trustees' public key is refused: {error}")
            return
        if public.election_id != params.election_id:
            self.report.fail(
                "trustees",
                f"the trustees' public key is of election {public.election_id!r}, "
                f"the parameters of {params.election_id!r}",
            )
            return
        if public.key.n != params.n:
            self.report.fail(
                "trustees",
                "the trustees' public key is not the key the ballots are encrypted under",
            )
            return
        self.public = public
        self.report.trustees = TrusteeSummary(public.key.threshold, public.key.trustees)

    def check_partials(
        self, value: Any, tally: EncryptedTally | None, *, published: bool
    ) -> tuple[int, ...] | None:
        """Check every partial decryption; return the combined count of each slot, or None.

        ``tally`` is the record's encrypted tally (None when it is unusable).
        """
        if not (self.present and published):
            if value is not None:
                whose = "an unpublished election" if self.present else "a single-key election"
                self.report.fail("partial", f"{whose} has partial decryptions")
            return None
        if value is None:
            self.report.fail("partial", "the results are published without partial decryptions")
            return None
        if not isinstance(value, list):
            raise MalformedRecord("partial_decryptions: expected an array or null")
        if self.public is None or tally is None:
            unusable = "trustees' public key" if self.public is None else "encrypted tally"
            self.report.fail("partial", f"cannot be checked: the {unusable} is unusable")
            return None
        valid = self._valid_files(value, self.public, tally)
        key = self.public.key
        present = {partial_file.trustee for partial_file in valid}
        self.report.trustees = TrusteeSummary(key.threshold, key.trustees, tuple(sorted(present)))
        if len(present) < key.threshold:
            self.report.fail("partial", missing_trustees_message(key, present))
            return None
        try:
            return combine_tally(self.public, tally, valid)
        except crypto.CryptoError as error:
            self.report.fail("partial", f"the partial decryptions do not combine: {error}")
            return None

    def _valid_files(
        self, documents: list[Any], public: TrusteePublicKey, tally: EncryptedTally
    ) -> list[PartialDecryptionFile]:
        valid: list[PartialDecryptionFile] = []
        previous = 0
        for position, document in enumerate(documents, start=1):
            where = f"partial decryption {position}"
            if not isinstance(document, dict):
                self.report.fail("partial", f"{where}: expected an object")
                continue
            try:
                partial_file = check_partial_file(public, tally, document)
            except crypto.CryptoError as error:
                self.report.fail("partial", f"{where}: {error}")
                continue
            if partial_file.trustee <= previous:
                self.report.fail(
                    "partial",
                    f"{where}: trustee {partial_file.trustee} comes after trustee {previous} "
                    "(one document per trustee, in increasing trustee order)",
                )
                continue
            previous = partial_file.trustee
            valid.append(partial_file)
        return valid


def encrypted_tally(
    params: crypto.ElectionParams, ballots: int, closing_hash: str, totals: list[int]
) -> EncryptedTally | None:
    """The record's totals as the trustees' tool reads them, or None if they are unusable."""
    try:
        return EncryptedTally(params, ballots, closing_hash, tuple(totals))
    except crypto.CryptoError:
        return None
