"""Trustees: the key from their ceremony, the totals they decrypt, their partial decryptions.

The site only ever holds public material: the trustees' ``public.json`` and the
partial decryptions, each checked against its proofs before it is stored. A
share file sent here by mistake is refused by what it is, with an audit entry,
and never kept. Publication combines K of the stored partial decryptions, and
only on totals that the full verification of the board has just recomputed
from the ballots (``counting.verified_totals``).
"""

from __future__ import annotations

import logging

from django.db import IntegrityError
from django.utils.translation import gettext, gettext_lazy

from accounts.audit import log_action
from accounts.models import User
from elections import crypto
from elections.trustee import files
from elections.trustee.decryption import combine_tally, missing_trustees_message

from .. import ballot_box, notifications
from ..concurrency import atomic_write
from ..models import Election, Status, TrusteeDecryption
from ..verify import ProgressCallback
from .ballots import ballot_slots, election_params
from .counting import (
    SlotCount,
    TallyReport,
    discard_uncounted,
    publish_results,
    refuse_impossible_counts,
    verified_totals,
)
from .drafts import require_draft
from .errors import AlreadySubmitted, KeyRefused, TallyMismatch, WrongPhase

security_log = logging.getLogger("evoting.security")

SHARE_REFUSED = gettext_lazy(
    "This is a trustee's key share. A share never leaves its trustee and the site "
    "never accepts one: nothing was read or kept. The trustee should keep it offline "
    "and, if it may have been seen, the ceremony should be run again."
)
# Both the plain and the sealed share formats begin with this tag.
_SHARE_TAG = files.SHARE_FORMAT.rsplit("/", 1)[0].encode("ascii")


def refuse_share(data: bytes, *, election: Election, actor: User | None, where: str) -> None:
    """Raise ``KeyRefused`` if ``data`` is a trustee's share file, sealed or not.

    Called on every upload that reaches the site from trustees, so a share sent
    by mistake is named as what it is, audited and dropped.
    """
    if _SHARE_TAG not in data:
        return
    security_log.warning("A trustee share file was sent to %s of election %s", where, election.pk)
    log_action(
        actor=actor,
        action="elections.trustee.share_refused",
        target=election,
        data={"where": where},
    )
    raise KeyRefused(str(SHARE_REFUSED))


def set_election_key(
    *, election: Election, public_file: bytes, actor: User | None
) -> files.TrusteePublicKey:
    """Make the trustees' ``public.json`` the draft election's key; return it.

    Stores the canonical ``public.json`` (``trustee_key``) and the Paillier
    public key of the same modulus (``public_key``), which voters encrypt
    with. Refuses (``KeyRefused``) a file that does not read as a public key,
    a key made for another election, and any share file; ``WrongPhase`` once
    the election is no longer a draft.
    """
    election.refresh_from_db()
    require_draft(election, "The key")
    refuse_share(public_file, election=election, actor=actor, where="the trustees' key upload")
    try:
        public = files.load_public_key(public_file)
    except crypto.CryptoError as error:
        raise KeyRefused(
            gettext("The trustees' public key was refused: %(error)s") % {"error": error}
        ) from error
    if public.election_id != str(election.id):
        raise KeyRefused(
            gettext(
                "The trustees' public key was made for election %(other)s, not for this one "
                "(%(this)s); run the ceremony with this election's id."
            )
            % {"other": repr(public.election_id), "this": election.id}
        )
    trustee_key = files.dump_public_key(public).decode("ascii")
    public_json = public.public_key_json()
    # Conditional, so an election opened by someone else meanwhile keeps its key.
    if not Election.objects.filter(pk=election.pk, status=Status.DRAFT).update(
        public_key=public_json, trustee_key=trustee_key
    ):
        raise WrongPhase(gettext("The key can only change while the election is a draft."))
    election.public_key, election.trustee_key = public_json, trustee_key
    log_action(
        actor=actor,
        action="elections.key.set_by_trustees",
        target=election,
        data={
            "threshold": public.key.threshold,
            "trustees": public.key.trustees,
            "fingerprint": public.fingerprint,
        },
    )
    return public


def trustee_public_key(election: Election) -> files.TrusteePublicKey:
    """The election's stored trustees' key; ``WrongPhase`` for an election with a single key."""
    if not election.trustee_key:
        raise WrongPhase(
            gettext(
                "This election's key was not made by trustees: "
                "it is decrypted with its private key."
            )
        )
    try:
        return files.load_public_key(election.trustee_key)
    except crypto.CryptoError as error:
        raise TallyMismatch(
            f"The stored trustees' key does not read ({error}); the database has been altered."
        ) from error


def encrypted_tally(election: Election) -> files.EncryptedTally:
    """The closed election's encrypted totals as the trustees decrypt them.

    Raises ``WrongPhase`` before the election is closed (and its board sealed).
    """
    if election.status not in (Status.CLOSED, Status.PUBLISHED) or not election.closing_hash:
        raise WrongPhase(gettext("The encrypted totals are published once the election is closed."))
    tallies = ballot_box.box_tallies(election)
    try:
        params = election_params(election)
        # The boxes' totals multiplied first, so the trustees decrypt each slot once.
        return files.EncryptedTally(
            params,
            sum(tally.counted for tally in tallies),
            election.closing_hash,
            tuple(ballot_box.combined_totals(params, tallies)),
        )
    except (crypto.CryptoError, ValueError) as error:
        raise TallyMismatch(
            f"The stored encrypted totals do not read ({error}); the database has been altered."
        ) from error


def tally_document(election: Election) -> bytes:
    """``tally.json`` of a closed or published election: what the trustees decrypt."""
    return files.dump_tally(encrypted_tally(election))


def submit_partial(
    *, election: Election, document: bytes, actor: User | None
) -> files.PartialDecryptionFile:
    """Check one trustee's partial decryption of the closed election's totals and store it.

    Every proof is checked against the stored trustees' key and this
    election's current totals and parameters; a refusal (``KeyRefused``,
    with an audit entry) names the trustee and the failed check. A trustee
    who has submitted already is refused (``AlreadySubmitted``), also when
    two submissions race: the database's unique constraint decides.
    """
    election.refresh_from_db()
    if election.status != Status.CLOSED:
        raise WrongPhase(
            gettext(
                "Partial decryptions are accepted once the election is closed "
                "and until its results are published."
            )
        )
    public = trustee_public_key(election)
    refuse_share(document, election=election, actor=actor, where="the partial decryption upload")
    try:
        checked = files.check_partial_file(public, encrypted_tally(election), document)
    except crypto.CryptoError as error:
        log_action(
            actor=actor,
            action="elections.trustee.partial_refused",
            target=election,
            data={"reason": str(error)},
        )
        raise KeyRefused(
            gettext("The partial decryption was refused: %(error)s") % {"error": error}
        ) from error
    content = files.dump_partial(checked).decode("ascii")
    try:
        with atomic_write():
            if not Election.objects.filter(pk=election.pk, status=Status.CLOSED).exists():
                raise WrongPhase(
                    gettext("The results are published: no partial decryption is needed.")
                )
            TrusteeDecryption.objects.create(
                election=election, trustee=checked.trustee, content=content
            )
    except IntegrityError:
        raise AlreadySubmitted(
            gettext("Trustee %(trustee)d has already submitted a partial decryption.")
            % {"trustee": checked.trustee}
        ) from None
    log_action(
        actor=actor,
        action="elections.trustee.partial_submitted",
        target=election,
        data={"trustee": checked.trustee},
    )
    return checked


def _stored_partials(
    election: Election, public: files.TrusteePublicKey, tally: files.EncryptedTally
) -> list[files.PartialDecryptionFile]:
    """Every stored partial decryption, each checked again; ``TallyMismatch`` if one fails."""
    checked = []
    for row in TrusteeDecryption.objects.filter(election=election).order_by("trustee"):
        try:
            partial = files.check_partial_file(public, tally, row.content)
        except crypto.CryptoError as error:
            raise TallyMismatch(
                f"The stored partial decryption of trustee {row.trustee} no longer verifies "
                f"({error}); the database has been altered. Nothing was decrypted."
            ) from error
        if partial.trustee != row.trustee:
            raise TallyMismatch(
                f"The stored partial decryption of trustee {row.trustee} is trustee "
                f"{partial.trustee}'s; the database has been altered. Nothing was decrypted."
            )
        checked.append(partial)
    return checked


def publish_with_trustees(
    *, election: Election, actor: User | None, progress: ProgressCallback | None = None
) -> TallyReport:
    """Combine K of the trustees' partial decryptions into the counts and publish them.

    First the full pre-decryption check of the board (``verified_totals``);
    its totals and ballot count must be the ones the partial decryptions
    were made for. The stored partials are checked again; with fewer than K
    the refusal (``WrongPhase``) says how many are missing and from whom.
    Counts impossible for the ballots are refused with an audit entry. The
    results carry no proof of their own: the partial decryptions are it.
    Publishing a published election again must give the same counts.
    """
    election.refresh_from_db()
    if election.status not in (Status.CLOSED, Status.PUBLISHED):
        raise WrongPhase("The tally can only be decrypted once the election is closed.")
    public = trustee_public_key(election)
    discard_uncounted(election, actor)
    totals, ballots = verified_totals(election, actor, progress)
    tally = encrypted_tally(election)
    if list(tally.ciphertexts) != list(totals) or tally.ballot_count != ballots:
        log_action(
            actor=actor,
            action="elections.tally.refused",
            target=election,
            data={"check": "trustee totals"},
        )
        raise TallyMismatch(
            "The encrypted totals the trustees decrypted are not the product of the verified "
            "ballots; the database has been altered. Nothing was decrypted."
        )
    partials = _stored_partials(election, public, tally)
    present = {partial.trustee for partial in partials}
    if len(present) < public.key.threshold:
        raise WrongPhase(
            "Not enough partial decryptions yet: "
            + missing_trustees_message(public.key, present)
            + "."
        )
    try:
        counts = combine_tally(public, tally, partials)
    except crypto.CryptoError as error:
        raise TallyMismatch(f"The partial decryptions do not combine: {error}") from error
    refuse_impossible_counts(election, actor, election_params(election), list(counts), ballots)
    slots = ballot_slots(election)
    already = publish_results(
        election,
        [
            (question, candidate, count, total, "")
            for (question, candidate), count, total in zip(
                slots, counts, tally.ciphertexts, strict=True
            )
        ],
    )
    log_action(
        actor=actor,
        action="elections.tally.decrypted",
        target=election,
        data={"ballots": ballots, "republished": already, "trustees": sorted(present)},
    )
    notifications.results_published(election=election, republished=already)
    return TallyReport(
        ballots=ballots,
        counts=[
            SlotCount(question, candidate, count)
            for (question, candidate), count in zip(slots, counts, strict=True)
        ],
        running_tally_matches=True,
        already_published=already,
    )
