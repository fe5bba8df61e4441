"""Closing, counting and resetting: the board sealed, verified, decrypted, or cleared."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from accounts.audit import log_action
from accounts.models import User
from elections import crypto
from elections.crypto.encoding import int_to_hex

from .. import ballot_box, board, notifications
from ..concurrency import atomic_write
from ..models import (
    PUBLISHED_IS_PERMANENT,
    AuditedBallot,
    Ballot,
    BallotFormat,
    Candidate,
    Election,
    EncryptedTally,
    Question,
    Result,
    Status,
    TrusteeDecryption,
)
from ..verify import ProgressCallback
from .ballots import (
    ballot_slots,
    election_params,
)
from .errors import (
    KeyRefused,
    TallyMismatch,
    WrongPhase,
)


def close_election(*, election: Election, actor: User | None) -> None:
    """Stop accepting ballots and seal the board with the closing hash.

    A close interrupted after the status changed (the database went away, say)
    is finished by running it again.
    """
    election.refresh_from_db()
    unfinished = election.status == Status.CLOSED and not election.closing_hash
    # Status first, so no new cast starts; then the box, so none in flight is counted late.
    if not unfinished and not Election.objects.filter(pk=election.pk, status=Status.OPEN).update(
        status=Status.CLOSED, closed_at=timezone.now()
    ):
        raise WrongPhase(gettext("Only an open election can be closed."))
    try:
        tallies = ballot_box.close_box(election, election_params(election))
    except ballot_box.UnverifiedBallot as error:
        log_action(
            actor=actor,
            action="elections.ballot_box.refused_unverified",
            target=election,
            data={"sequence": error.sequence, "reason": str(error)},
        )
        raise TallyMismatch(
            f"The box was not sealed: {error}; the database has been altered. "
            "Nothing of it was counted."
        ) from error
    Election.objects.filter(pk=election.pk).update(
        closing_hash=board.boxes_closing_hash([(t.head_hash, t.ballot_count) for t in tallies])
    )
    election.refresh_from_db()
    log_action(
        actor=actor,
        action="elections.election.closed",
        target=election,
        data={
            "ballots": sum(t.ballot_count for t in tallies),
            "counted": sum(t.counted for t in tallies),
            "closing_hash": election.closing_hash,
        },
    )


@dataclass(frozen=True)
class SlotCount:
    """The decrypted count of one slot: an option, or (``candidate`` None) blank votes."""

    question: Question
    candidate: Candidate | None
    count: int


@dataclass(frozen=True)
class TallyReport:
    ballots: int
    counts: list[SlotCount]
    running_tally_matches: bool
    already_published: bool

    def by_question(self) -> list[tuple[Question, list[SlotCount], SlotCount | None]]:
        """Per question in order: its options' counts and its blank count (or None)."""
        grouped: dict[uuid.UUID, tuple[Question, list[SlotCount], list[SlotCount]]] = {}
        for item in self.counts:
            entry = grouped.setdefault(item.question.pk, (item.question, [], []))
            (entry[1] if item.candidate is not None else entry[2]).append(item)
        return [(q, options, blank[0] if blank else None) for q, options, blank in grouped.values()]


def product_of_ballots(election: Election, params: crypto.ElectionParams) -> tuple[list[int], int]:
    """Recompute each slot's encrypted total from the stored ballots that count.

    Returns the totals in slot order and the number of ballots counted (each
    voter's last, with revoting). Ballots
    are parsed one at a time, so memory stays flat however many there are. A
    stored ballot that no longer parses can only come from tampering with the
    database: it is a ``TallyMismatch`` naming its sequence number.
    """
    rows = election.ballots.order_by("box", "sequence").values_list(
        "sequence", "content", "voter_id", "revision"
    )
    # With revoting only each voter's last ballot counts.
    replaced = set(
        election.ballots.filter(revision__gt=1).values_list("voter_id", "revision").iterator()
    )
    counted = 0

    def parsed() -> Iterator[crypto.Ballot]:
        nonlocal counted
        for sequence, content, voter, revision in rows.iterator(chunk_size=500):
            if (voter, revision + 1) in replaced:
                continue
            try:
                ballot = crypto.parse_ballot(params, content)
            except crypto.CryptoError as error:
                raise TallyMismatch(
                    f"Stored ballot #{sequence} is unreadable ({error}); "
                    "the database has been altered."
                ) from error
            counted += 1
            yield ballot

    totals = list(crypto.aggregate_ballots(params, parsed()))
    return totals, counted


@sensitive_variables("private_key", "key_file", "passphrase")
def decrypt_tally(
    *,
    election: Election,
    key_file: bytes,
    passphrase: str | None,
    actor: User | None,
    progress: ProgressCallback | None = None,
) -> TallyReport:
    """Decrypt the closed election's totals with the administrator's key and publish them.

    The key is used in memory only, and only on totals that the full public
    verification of the board has just recomputed from ballots whose proofs,
    trackers and chain all hold (``verified_totals``); the counts must be
    possible for that many ballots. Each count is stored with its proof of
    correct decryption. Decrypting a published election again must give the
    same counts. ``progress(done, total)`` follows the verification of the ballots.
    """
    election.refresh_from_db()
    if election.status not in (Status.CLOSED, Status.PUBLISHED):
        raise WrongPhase(gettext("The tally can only be decrypted once the election is closed."))
    params = election_params(election)
    try:
        private_key = crypto.load_private_key(
            key_file,
            passphrase=passphrase or None,
            expected_public_key=params.public_key,
            election_id=params.election_id,
        )
    except crypto.CryptoError as error:
        raise KeyRefused(gettext("The key was refused: %(error)s") % {"error": error}) from error
    discard_uncounted(election, actor)
    totals, ballots = verified_totals(election, actor, progress)
    counts = []
    for (question, candidate), total in zip(ballot_slots(election), totals, strict=True):
        count, proof = crypto.decrypt_with_proof(private_key, total)
        crypto.verify_decryption(params.public_key, total, count, proof)
        counts.append((question, candidate, count, total, proof))
    refuse_impossible_counts(election, actor, params, [item[2] for item in counts], ballots)
    already = publish_results(
        election,
        [
            (question, candidate, count, total, int_to_hex(proof))
            for question, candidate, count, total, proof in counts
        ],
    )
    log_action(
        actor=actor,
        action="elections.tally.decrypted",
        target=election,
        data={"ballots": ballots, "republished": already},
    )
    notifications.results_published(election=election, republished=already)
    return TallyReport(
        ballots=ballots,
        counts=[
            SlotCount(question, candidate, count) for question, candidate, count, _, _ in counts
        ],
        running_tally_matches=True,
        already_published=already,
    )


def discard_uncounted(election: Election, actor: User | None) -> None:
    """Withdraw the ballots a cast left behind while the election closed (never acknowledged)."""
    discarded = ballot_box.discard_unfolded(election)
    if discarded:
        log_action(
            actor=actor,
            action="elections.ballot_box.discarded_uncounted",
            target=election,
            data={"ballots": discarded},
        )


def refuse_impossible_counts(
    election: Election,
    actor: User | None,
    params: crypto.ElectionParams,
    counts: list[int],
    ballots: int,
) -> None:
    """Refuse (``TallyMismatch``, audited) counts that no ``ballots`` valid ballots give."""
    impossible = crypto.impossible_counts(params, counts, ballots)
    if impossible:
        log_action(
            actor=actor,
            action="elections.tally.refused",
            target=election,
            data={"check": "results", "problems": impossible[:20]},
        )
        raise TallyMismatch(
            "The decrypted counts are impossible for these ballots and were not published: "
            + "; ".join(impossible)
        )


ResultRow = tuple[Question, Candidate | None, int, int, str]


def publish_results(election: Election, rows: list[ResultRow]) -> bool:
    """Store one result per slot and publish; return whether it was published already.

    ``rows`` are (question, candidate, count, encrypted total, proof hex or "")
    in slot order. Conditional, so of two decryptions at once one publishes and
    the other compares its counts with what was published (``TallyMismatch``
    if they differ).
    """
    with atomic_write():
        already = not Election.objects.filter(pk=election.pk, status=Status.CLOSED).update(
            status=Status.PUBLISHED, published_at=timezone.now()
        )
        if not already:
            Result.objects.bulk_create(
                Result(
                    election=election,
                    question=question,
                    candidate=candidate,
                    slot=slot,
                    count=count,
                    ciphertext=int_to_hex(total),
                    proof=proof,
                )
                for slot, (question, candidate, count, total, proof) in enumerate(rows)
            )
    if already:
        stored = {r.slot: r.count for r in election.results.all()}
        if stored != {slot: row[2] for slot, row in enumerate(rows)}:
            raise TallyMismatch(gettext("This decryption differs from the published results."))
    election.refresh_from_db()
    return already


def verified_totals(
    election: Election, actor: User | None, progress: ProgressCallback | None
) -> tuple[list[int], int]:
    """The encrypted totals to decrypt, as products of ballots whose every check holds.

    Runs the public verifier over the live database first (``record.verify_board``):
    whoever can write to the database can otherwise make the tally the product of
    crafted ciphertexts whose decryption reveals single votes. Any failure refuses
    the decryption, with an audit entry naming the checks, before a key is used.
    The totals returned are the ones the verifier recomputed, not a second read.
    """
    from .. import record  # record builds on the services

    report = record.verify_board(election, progress=progress)
    if report.ok and report.verified_totals is not None:
        return report.verified_totals, report.counted
    failures = [
        {"check": f.check, "sequence": f.sequence, "position": f.position, "message": f.message}
        for f in report.failures[:20]
    ]
    log_action(
        actor=actor,
        action="elections.tally.refused",
        target=election,
        data={"malformed": report.malformed, "failures": report.failure_total, "first": failures},
    )
    if report.malformed is not None:
        reason = f"the stored record is unreadable ({report.malformed})"
    elif report.failures:
        reason = report.failures[0].describe()
        if report.failure_total > 1:
            reason += f" (and {report.failure_total - 1} more)"
    else:
        reason = "the encrypted tally could not be recomputed from the ballots"
    raise TallyMismatch(
        f"The board does not verify, so nothing was decrypted: {reason}. "
        "The stored data has been altered; run `manage.py verify_election` for the full report."
    )


def reset_election(*, election: Election, actor: User | None) -> int:
    """Clear ballots, tally, results and key; return the election to draft.

    Touches nothing of any other election. Returns the number of ballots removed.
    A published election is permanent (observers verify its record): it raises
    ``WrongPhase``, also when the publication lands during the reset, since the
    permanence guard (``elections/permanence.py``) then refuses the deletes.
    """
    election.refresh_from_db()
    if election.is_published:
        raise WrongPhase(str(PUBLISHED_IS_PERMANENT))
    try:
        with atomic_write():
            ballots, _ = Ballot.objects.filter(election=election).delete()
            Result.objects.filter(election=election).delete()
            TrusteeDecryption.objects.filter(election=election).delete()
            AuditedBallot.objects.filter(election=election).delete()
            EncryptedTally.objects.filter(election=election).delete()
            # Conditional: a publication that lands after the deletes must not be
            # turned back into a draft (the transaction then undoes the deletes).
            reset = (
                Election.objects.filter(pk=election.pk)
                .exclude(status=Status.PUBLISHED)
                .update(
                    status=Status.DRAFT,
                    # No ballot is left to verify under the old format.
                    ballot_format=BallotFormat.V2,
                    public_key="",
                    trustee_key="",
                    closing_hash="",
                    opened_at=None,
                    closed_at=None,
                    published_at=None,
                )
            )
            if not reset:
                raise WrongPhase(str(PUBLISHED_IS_PERMANENT))
    except (ProtectedError, RestrictedError):
        raise WrongPhase(str(PUBLISHED_IS_PERMANENT)) from None
    election.refresh_from_db()
    log_action(
        actor=actor, action="elections.election.reset", target=election, data={"ballots": ballots}
    )
    return ballots
