"""Every operation that changes an election. Views, admin actions and commands call these.

Each function enforces the rules of the election's phase itself, so no caller can
skip a check, and writes an audit entry for administrative actions. Failures raise
an ``ElectionError`` subclass whose message is safe to show and whose
``status_code`` a view can return as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import DatabaseError
from django.db.models import F, Prefetch, ProtectedError, QuerySet, RestrictedError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts import throttle
from accounts.audit import log_action
from accounts.models import Role, User
from elections import crypto
from elections.crypto.encoding import int_to_hex

from . import ballot_box, board, verification
from .concurrency import WriteConflict, atomic_write, is_transient
from .models import (
    PUBLISHED_IS_PERMANENT,
    Ballot,
    BallotFormat,
    Candidate,
    Election,
    EncryptedTally,
    Question,
    Result,
    RollEntry,
    RollMode,
    Status,
)
from .verify import ProgressCallback

security_log = logging.getLogger("evoting.security")


class ElectionError(Exception):
    """A refused operation; the message is meant for the person who asked."""

    status_code = 400


class WrongPhase(ElectionError):
    status_code = 409


class NotEligible(ElectionError):
    status_code = 403


class AlreadyVoted(ElectionError):
    status_code = 409


class InvalidBallotError(ElectionError):
    status_code = 400


class KeyRefused(ElectionError):
    status_code = 400


class TallyMismatch(ElectionError):
    status_code = 409


class TooManyRefusals(ElectionError):
    status_code = 429


class BallotBoxBusy(ElectionError):
    status_code = 503


# --- Reading the public parameters -------------------------------------------


def ordered_candidates(election: Election) -> list[Candidate]:
    """Every option of the election in ballot order (questions in order, then options)."""
    return list(
        election.candidates.select_related("question").order_by("question__position", "position")
    )


def ordered_questions(election: Election) -> list[Question]:
    """The election's questions in order, each with its options prefetched in order."""
    return list(
        election.questions.order_by("position").prefetch_related(
            Prefetch("options", queryset=Candidate.objects.order_by("position"))
        )
    )


# (title, description, min, max, blank, ((option id, name, affiliation), ...)) per question.
QuestionShape = tuple[str, str, int, int, bool, tuple[tuple[str, str, str], ...]]


def _question_params(shape: QuestionShape, version: int) -> crypto.QuestionParams:
    title, description, low, high, blank, options = shape
    if version == 1:
        return crypto.QuestionParams(
            options=tuple(crypto.OptionParams(option_id) for option_id, _, _ in options),
            min_selections=low,
            max_selections=high,
        )
    return crypto.QuestionParams(
        options=tuple(crypto.OptionParams(*option) for option in options),
        min_selections=low,
        max_selections=high,
        blank=blank,
        title=title,
        description=description,
    )


@lru_cache(maxsize=64)
def _params(
    election_id: str,
    public_key_json: str,
    version: int,
    title: str,
    shapes: tuple[QuestionShape, ...],
) -> crypto.ElectionParams:
    return crypto.ElectionParams(
        election_id=election_id,
        public_key=crypto.public_key_from_json(public_key_json),
        questions=tuple(_question_params(shape, version) for shape in shapes),
        title=title if version == 2 else "",
        version=version,
    )


def _read_shapes(election_id: uuid.UUID) -> tuple[QuestionShape, ...]:
    election = Election(pk=election_id)
    return tuple(
        (
            question.title,
            question.description,
            question.min_selections,
            question.max_selections,
            question.allow_blank,
            tuple((str(o.pk), o.name, o.affiliation) for o in question.options.all()),
        )
        for question in ordered_questions(election)
    )


@lru_cache(maxsize=256)
def _opened_shapes(
    election_id: uuid.UUID, public_key_json: str, opened_at: datetime
) -> tuple[QuestionShape, ...]:
    # Keyed by the opening: a reset clears the key, and a reopening has a new time.
    return _read_shapes(election_id)


def ballot_shapes(election: Election) -> tuple[QuestionShape, ...]:
    """The questions and options as the parameters see them, in ballot order.

    They change only in a draft, so once the election has opened they are read
    once per opening rather than at every cast.
    """
    if election.status != Status.DRAFT and election.opened_at is not None:
        return _opened_shapes(election.pk, election.public_key, election.opened_at)
    return _read_shapes(election.pk)


def election_params(election: Election) -> crypto.ElectionParams:
    """The cryptographic statement every ballot of ``election`` is proved against.

    Raises ``WrongPhase`` without a key, ``crypto.ParameterError`` when the
    questions break a rule of the ballot format (a draft being edited).
    """
    if not election.public_key:
        raise WrongPhase("This election has no public key yet.")
    return _params(
        str(election.id),
        election.public_key,
        election.ballot_format,
        election.title,
        ballot_shapes(election),
    )


def voter_context(election: Election, voter: User) -> str:
    """A pseudonym of (election, voter) that each ballot's proofs are bound to.

    Binding the proofs to it means a ballot copied from another voter does not
    verify (the Cortier-Smyth replay attack). It is an HMAC so the published
    ballot board does not name the voter.
    """
    key = hashlib.sha256(b"evoting/voter-context/v1" + settings.SECRET_KEY.encode()).digest()
    message = f"{election.id}:{voter.pk}".encode()
    return "vc1-" + hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def is_eligible(election: Election, user: User) -> bool:
    """Approved voter accounts on the roll (every approved voter, or the explicit list)."""
    if not (user.is_authenticated and user.is_active and user.is_approved):
        return False
    if user.role != Role.VOTER:
        return False
    if election.roll_mode == RollMode.ALL_APPROVED_VOTERS:
        return True
    return RollEntry.objects.filter(election=election, voter=user).exists()


def eligible_voter_count(election: Election) -> int:
    if election.roll_mode == RollMode.ALL_APPROVED_VOTERS:
        return User.objects.filter(role=Role.VOTER, is_approved=True, is_active=True).count()
    return election.roll.filter(
        voter__role=Role.VOTER, voter__is_active=True, voter__is_approved=True
    ).count()


# --- Setting an election up -----------------------------------------------------


def require_draft(election: Election, what: str) -> None:
    if election.status != Status.DRAFT:
        raise WrongPhase(f"{what} can only change while the election is a draft.")


@sensitive_variables("private_key", "key_file", "passphrase")
def generate_keys(
    *, election: Election, actor: User | None, bits: int = 3072, passphrase: str | None = None
) -> bytes:
    """Make the election's key pair; store the public key; return the private key file.

    The private key exists only in the returned bytes: the caller hands them to the
    administrator (a file or a download) and keeps no copy.
    """
    election.refresh_from_db()
    require_draft(election, "The key")
    try:
        public_key, private_key = crypto.generate_keypair(bits)
    except crypto.CryptoError as error:
        raise KeyRefused(str(error)) from error
    key_file = crypto.dump_private_key(
        private_key, election_id=str(election.id), passphrase=passphrase or None
    )
    public_json = crypto.public_key_to_json(public_key)
    # Conditional, so an election opened by someone else meanwhile keeps its key.
    if not Election.objects.filter(pk=election.pk, status=Status.DRAFT).update(
        public_key=public_json
    ):
        raise WrongPhase("The key can only change while the election is a draft.")
    election.public_key = public_json
    log_action(
        actor=actor,
        action="elections.key.generated",
        target=election,
        data={"bits": bits, "passphrase": bool(passphrase)},
    )
    return key_file


def ballot_problem(election: Election) -> str:
    """What stops the election's questions from making a valid ballot, or ``""``.

    Applies the ballot format's own rules (labels, bounds, limits) to the
    questions as stored, so the admin can show the problem before opening.
    """
    questions = ordered_questions(election)
    if not questions:
        return "an election needs at least one question."
    for question in questions:
        options = list(question.options.all())
        if not options:
            return f"the question {question.title!r} has no options."
        if question.max_selections > len(options):
            return (
                f"the question {question.title!r} allows {question.max_selections} choices "
                f"but has {len(options)} options."
            )
    shapes = _read_shapes(election.pk)
    try:
        crypto.check_ballot_structure(
            election.title, [_question_params(shape, 2) for shape in shapes]
        )
    except crypto.ParameterError as error:
        return f"{error}."
    return ""


def open_election(*, election: Election, actor: User | None) -> None:
    election.refresh_from_db()
    if election.status != Status.DRAFT:
        raise WrongPhase("Only a draft election can be opened.")
    if not election.has_key:
        raise WrongPhase("Generate the election's key before opening it.")
    problem = ballot_problem(election)
    if problem:
        raise WrongPhase(f"The election cannot open: {problem}")
    if election.roll_mode == RollMode.EXPLICIT and not election.roll.exists():
        raise WrongPhase("The voter roll is empty.")
    try:
        params = election_params(election)
    except crypto.CryptoError as error:
        raise WrongPhase(f"The election cannot open: {error}") from error
    opened_at = timezone.now()
    with atomic_write():
        # Conditional on the draft and the very key the genesis hash is made from, so a
        # second open (a double submit, another administrator) or a key replaced
        # meanwhile changes nothing.
        if not Election.objects.filter(
            pk=election.pk, status=Status.DRAFT, public_key=election.public_key
        ).update(status=Status.OPEN, opened_at=opened_at):
            raise WrongPhase("Only a draft election can be opened.")
        EncryptedTally.objects.update_or_create(
            election=election,
            defaults={
                "ciphertexts": [int_to_hex(crypto.encrypted_zero())] * params.slot_count,
                "ballot_count": 0,
                "head_hash": board.genesis_hash(params.fingerprint),
                "version": 0,
            },
        )
    election.status, election.opened_at = Status.OPEN, opened_at
    log_action(actor=actor, action="elections.election.opened", target=election)


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
        raise WrongPhase("Only an open election can be closed.")
    try:
        tally = ballot_box.close_box(election, election_params(election))
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
        closing_hash=board.closing_hash(tally.head_hash, tally.ballot_count)
    )
    election.refresh_from_db()
    log_action(
        actor=actor,
        action="elections.election.closed",
        target=election,
        data={"ballots": tally.ballot_count, "closing_hash": election.closing_hash},
    )


# --- Casting ----------------------------------------------------------------------

# An honest booth never sends an invalid ballot, and refusing one costs a strict
# check of every proof: an account that sends this many in the window is refused
# before any proof work until the window ends. Each attempt is counted before its
# proof check and given back if the ballot was valid or could not be checked, so a
# burst sent at once gets at most this many checks (per web process with the
# local-memory cache: see accounts/throttle.py).
REFUSED_BALLOT_LIMIT = 5
REFUSED_BALLOT_WINDOW = 15 * 60


def cast_ballot(*, election: Election, voter: User, payload: str | bytes) -> Ballot:
    """Check a ballot and store it together with its product into the encrypted tally.

    The expensive proof check runs before any write. The ballot box re-reads the
    election when it stores the ballot, so a ballot racing with the close is either
    on the board and in the tally, or refused and not stored.
    """
    if not is_eligible(election, voter):
        raise NotEligible("You are not on the voter roll of this election.")
    if not election.accepts_ballots_at(timezone.now()):
        raise WrongPhase("This election is not accepting ballots now.")
    if Ballot.objects.filter(election=election, voter=voter).exists():
        raise AlreadyVoted("You have already voted in this election.")
    params = election_params(election)
    context = voter_context(election, voter)
    ballot = _checked_ballot(election, voter, params, context, payload)
    content = crypto.ballot_to_json(ballot, params)
    cast = ballot_box.CastBallot(
        voter_id=voter.pk,
        voter_context=context,
        ballot=ballot,
        content=content,
        tracker=crypto.tracker_of_json(content),
    )
    return _store(election, params, cast)


def _checked_ballot(
    election: Election,
    voter: User,
    params: crypto.ElectionParams,
    context: str,
    payload: str | bytes,
) -> crypto.Ballot:
    attempts = f"elections:refused-ballots:{election.pk}:{voter.pk}"
    if throttle.count_attempt(attempts, window=REFUSED_BALLOT_WINDOW) > REFUSED_BALLOT_LIMIT:
        raise TooManyRefusals(
            "Too many invalid ballots from this account; try again in a few minutes."
        )
    try:
        ballot = crypto.parse_ballot(params, payload)
        verification.verify_ballot(params, context, ballot)
    except crypto.CryptoError as error:
        raise InvalidBallotError(f"The ballot was refused: {error}") from error
    except verification.VerifierUnavailable as error:
        # Not the voter's fault, so not counted as a refusal.
        throttle.give_back_attempt(attempts)
        raise BallotBoxBusy(
            "The ballot could not be checked just now and was not stored; please send it again."
        ) from error
    throttle.give_back_attempt(attempts)
    return ballot


def _store(
    election: Election, params: crypto.ElectionParams, cast: ballot_box.CastBallot
) -> Ballot:
    """The ballot box's outcome in the words of the person casting."""
    try:
        return ballot_box.store_ballot(election, params, cast)
    except ballot_box.DuplicateVoter:
        raise AlreadyVoted("You have already voted in this election.") from None
    except ballot_box.DuplicateBallot:
        raise InvalidBallotError("This exact ballot is already on the board.") from None
    except ballot_box.BoxClosed:
        raise WrongPhase("This election closed before your ballot was stored.") from None
    except ballot_box.ElectionChanged:
        raise WrongPhase(
            "This election was reset while your ballot was being checked; open the booth again."
        ) from None
    except ballot_box.UnverifiedBallot as error:
        # Not this voter's doing: the box refuses to count past an altered ballot.
        security_log.error("election %s: %s; casting stopped", election.slug, error)
        raise BallotBoxBusy(
            "The ballot box cannot take ballots just now and yours was not stored; "
            "please try again later."
        ) from None
    except (WriteConflict, DatabaseError) as error:
        if not is_transient(error):
            raise
        raise BallotBoxBusy(
            "The ballot box is busy and your ballot was not stored; please send it again."
        ) from error


# --- Counting --------------------------------------------------------------------


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


def ballot_slots(election: Election) -> list[tuple[Question, Candidate | None]]:
    """Each slot of the ballot in order: (question, option), or (question, None) for a blank."""
    slots: list[tuple[Question, Candidate | None]] = []
    for question in ordered_questions(election):
        slots.extend((question, option) for option in question.options.all())
        if question.allow_blank and election.ballot_format == 2:
            slots.append((question, None))
    return slots


def product_of_ballots(
    election: Election, params: crypto.ElectionParams, limit: int | None = None
) -> tuple[list[int], int]:
    """Recompute each slot's encrypted total from the stored ballots (up to ``limit``).

    Returns the totals in slot order and the number of ballots. Ballots
    are parsed one at a time, so memory stays flat however many there are. A
    stored ballot that no longer parses can only come from tampering with the
    database: it is a ``TallyMismatch`` naming its sequence number.
    """
    rows = election.ballots.order_by("sequence").values_list("sequence", "content")
    if limit is not None:
        rows = rows.filter(sequence__lte=limit)
    counted = 0

    def parsed() -> Iterator[crypto.Ballot]:
        nonlocal counted
        for sequence, content in rows.iterator(chunk_size=500):
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
    trackers and chain all hold (``_verified_totals``); the counts must be
    possible for that many ballots. Each count is stored with its proof of
    correct decryption. Decrypting a published election again must give the
    same counts. ``progress(done, total)`` follows the verification of the ballots.
    """
    election.refresh_from_db()
    if election.status not in (Status.CLOSED, Status.PUBLISHED):
        raise WrongPhase("The tally can only be decrypted once the election is closed.")
    params = election_params(election)
    try:
        private_key = crypto.load_private_key(
            key_file,
            passphrase=passphrase or None,
            expected_public_key=params.public_key,
            election_id=params.election_id,
        )
    except crypto.CryptoError as error:
        raise KeyRefused(f"The key was refused: {error}") from error
    discarded = ballot_box.discard_unfolded(election)
    if discarded:
        log_action(
            actor=actor,
            action="elections.ballot_box.discarded_uncounted",
            target=election,
            data={"ballots": discarded},
        )
    totals, ballots = _verified_totals(election, actor, progress)
    counts = []
    for (question, candidate), total in zip(ballot_slots(election), totals, strict=True):
        count, proof = crypto.decrypt_with_proof(private_key, total)
        crypto.verify_decryption(params.public_key, total, count, proof)
        counts.append((question, candidate, count, total, proof))
    impossible = crypto.impossible_counts(params, [item[2] for item in counts], ballots)
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
    with atomic_write():
        # Conditional, so of two decryptions at once one publishes and the other
        # compares its counts with what was published.
        published_at = timezone.now()
        already = not Election.objects.filter(pk=election.pk, status=Status.CLOSED).update(
            status=Status.PUBLISHED, published_at=published_at
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
                    proof=int_to_hex(proof),
                )
                for slot, (question, candidate, count, total, proof) in enumerate(counts)
            )
    if already:
        stored = {r.slot: r.count for r in election.results.all()}
        if stored != {slot: item[2] for slot, item in enumerate(counts)}:
            raise TallyMismatch("This decryption differs from the published results.")
    election.refresh_from_db()
    log_action(
        actor=actor,
        action="elections.tally.decrypted",
        target=election,
        data={"ballots": ballots, "republished": already},
    )
    return TallyReport(
        ballots=ballots,
        counts=[
            SlotCount(question, candidate, count) for question, candidate, count, _, _ in counts
        ],
        running_tally_matches=True,
        already_published=already,
    )


def _verified_totals(
    election: Election, actor: User | None, progress: ProgressCallback | None
) -> tuple[list[int], int]:
    """The encrypted totals to decrypt, as products of ballots whose every check holds.

    Runs the public verifier over the live database first (``record.verify_board``):
    whoever can write to the database can otherwise make the tally the product of
    crafted ciphertexts whose decryption reveals single votes. Any failure refuses
    the decryption, with an audit entry naming the checks, before a key is used.
    The totals returned are the ones the verifier recomputed, not a second read.
    """
    from . import record  # record builds on this module

    report = record.verify_board(election, progress=progress)
    if report.ok and report.verified_totals is not None:
        return report.verified_totals, report.ballots
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


# --- Reset -----------------------------------------------------------------------


def reset_election(*, election: Election, actor: User | None) -> int:
    """Clear ballots, tally, results and key; return the election to draft.

    Touches nothing of any other election. Returns the number of ballots removed.
    A published election is permanent (observers verify its record): it raises
    ``WrongPhase``, also when the publication lands during the reset, since the
    permanence guard (``elections/permanence.py``) then refuses the deletes.
    """
    election.refresh_from_db()
    if election.is_published:
        raise WrongPhase(PUBLISHED_IS_PERMANENT)
    try:
        with atomic_write():
            ballots, _ = Ballot.objects.filter(election=election).delete()
            Result.objects.filter(election=election).delete()
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
                    closing_hash="",
                    opened_at=None,
                    closed_at=None,
                    published_at=None,
                )
            )
            if not reset:
                raise WrongPhase(PUBLISHED_IS_PERMANENT)
    except (ProtectedError, RestrictedError):
        raise WrongPhase(PUBLISHED_IS_PERMANENT) from None
    election.refresh_from_db()
    log_action(
        actor=actor, action="elections.election.reset", target=election, data={"ballots": ballots}
    )
    return ballots


COPY_SUFFIX = " (copy)"


def _free_slug(base: str) -> str:
    max_length = Election._meta.get_field("slug").max_length or 64
    for number in range(1, 1000):
        tail = "-copy" if number == 1 else f"-copy-{number}"
        slug = base[: max_length - len(tail)] + tail
        if not Election.objects.filter(slug=slug).exists():
            return slug
    raise ElectionError("No free identifier for the copy; give one explicitly.")


def _check_new_slug(slug: str) -> None:
    max_length = Election._meta.get_field("slug").max_length or 64
    try:
        validate_slug(slug)
    except ValidationError:
        raise ElectionError(
            f"{slug!r} is not a valid identifier: use letters, digits, hyphens and underscores."
        ) from None
    if len(slug) > max_length:
        raise ElectionError(f"An identifier has at most {max_length} characters.")
    if Election.objects.filter(slug=slug).exists():
        raise ElectionError(f"An election with the identifier {slug!r} already exists.")


def copy_as_draft(*, election: Election, actor: User | None, slug: str | None = None) -> Election:
    """A new draft with the questions, options, rules and voter roll of ``election``.

    The copy has no key, ballots, tally or results, a fresh slug (``slug``, or the
    original's with ``-copy``) and the title with " (copy)". Schedule times already
    past are cleared, future ones kept. Raises ``ElectionError`` if ``slug`` is taken.
    """
    election.refresh_from_db()
    if slug is not None:
        _check_new_slug(slug)
    now = timezone.now()
    closes_at = election.closes_at if election.closes_at and election.closes_at > now else None
    opens_at = election.opens_at if election.opens_at and election.opens_at > now else None
    title_length = Election._meta.get_field("title").max_length or 200
    with atomic_write():
        copy = Election.objects.create(
            slug=slug or _free_slug(election.slug),
            title=election.title[: title_length - len(COPY_SUFFIX)] + COPY_SUFFIX,
            description=election.description,
            roll_mode=election.roll_mode,
            opens_at=opens_at,
            closes_at=closes_at,
        )
        for question in ordered_questions(election):
            add_question(
                election=copy,
                question=Question(
                    position=question.position,
                    title=question.title,
                    description=question.description,
                    min_selections=question.min_selections,
                    max_selections=question.max_selections,
                    allow_blank=question.allow_blank,
                ),
                options=[
                    Candidate(
                        name=option.name,
                        affiliation=option.affiliation,
                        statement=option.statement,
                        account_id=option.account_id,
                    )
                    for option in question.options.all()
                ],
            )
        RollEntry.objects.bulk_create(
            RollEntry(election=copy, voter_id=voter_id)
            for voter_id in election.roll.values_list("voter_id", flat=True)
        )
    log_action(
        actor=actor,
        action="elections.election.copied",
        target=copy,
        data={
            "source": election.slug,
            "questions": copy.questions.count(),
            "candidates": copy.candidates.count(),
            "roll": copy.roll.count(),
            "schedule_cleared": (opens_at, closes_at) != (election.opens_at, election.closes_at),
        },
    )
    return copy


def public_key_fingerprint(election: Election) -> str:
    """A short digest of the stored public key that people can compare by eye.

    The first 16 bytes of SHA-256 over the canonical public key JSON, as hex in
    groups of four; empty when the election has no key yet.
    """
    if not election.public_key:
        return ""
    digest = hashlib.sha256(election.public_key.encode("ascii")).hexdigest()[:32]
    return ":".join(digest[i : i + 4] for i in range(0, len(digest), 4))


POSITION_OFFSET = 10_000


def add_question(
    *, election: Election, question: Question, options: Sequence[Candidate]
) -> Question:
    """Store an unsaved ``question`` and its unsaved ``options`` (numbered from 1) in a draft.

    For the callers that build a whole ballot at once (a copy, a definition file),
    inside their own transaction.
    """
    require_draft(election, "The questions and options")
    question.election = election
    question.save()
    for position, option in enumerate(options, start=1):
        option.election, option.question, option.position = election, question, position
    Candidate.objects.bulk_create(options)
    return question


def save_in_order(
    *,
    election: Election,
    items: Sequence[Question | Candidate],
    removed: Sequence[Question | Candidate] = (),
) -> None:
    """Save the questions of ``election``, or the options of one question, numbered 1, 2, 3...

    ``items`` are all the siblings that remain, in their new order (new ones
    included, unsaved); ``removed`` are deleted. The others' positions move out
    of the way first, so a reordering never collides with the unique positions
    midway. Draft only: raises ``WrongPhase`` once the election has opened.
    """
    require_draft(election, "The questions and options")
    with atomic_write():
        election.refresh_from_db()
        require_draft(election, "The questions and options")
        for item in removed:
            item.delete()
        if not items:
            return
        first = items[0]
        siblings: QuerySet[Question] | QuerySet[Candidate]
        if isinstance(first, Question):
            siblings = Question.objects.filter(election=election)
        else:
            siblings = Candidate.objects.filter(question_id=first.question_id)
        siblings.update(position=F("position") + POSITION_OFFSET)
        for number, item in enumerate(items, start=1):
            item.position = number
            item.save()
