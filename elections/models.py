"""Elections, their questions and options, the voter roll, ballots, tallies and results.

Primary keys are UUIDs so one set of migrations suits both SQLite and MongoDB.
Writes go through ``elections.services``; the models hold fields, constraints and
simple predicates only.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, ProtectedError, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy


class Status(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft")
    OPEN = "open", gettext_lazy("Open")
    CLOSED = "closed", gettext_lazy("Closed")
    PUBLISHED = "published", gettext_lazy("Results published")


class RollMode(models.TextChoices):
    ALL_APPROVED_VOTERS = "all", gettext_lazy("All approved voters")
    EXPLICIT = "explicit", gettext_lazy("Only the voters on the roll")


class BallotFormat(models.IntegerChoices):
    # v1: one list of candidates, labels outside the proofs. Only elections opened
    # before questions existed use it; their ballots stay verifiable as they are.
    V1 = 1, gettext_lazy("v1 (one question, labels not bound)")
    V2 = 2, gettext_lazy("v2 (questions, every label bound)")


MAX_BALLOT_BOXES = 256


def default_ballot_boxes() -> int:
    """The number of boxes a new election gets (setting ``BALLOT_BOXES``)."""
    return int(getattr(settings, "BALLOT_BOXES", 1))


class Election(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(
        gettext_lazy("slug"),
        max_length=64,
        unique=True,
        help_text=gettext_lazy("Short identifier used in addresses and by management commands."),
    )
    title = models.CharField(gettext_lazy("title"), max_length=200)
    description = models.TextField(gettext_lazy("description"), blank=True, max_length=5000)
    status = models.CharField(
        gettext_lazy("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    ballot_format = models.PositiveSmallIntegerField(
        gettext_lazy("ballot format"),
        choices=BallotFormat.choices,
        default=BallotFormat.V2,
        editable=False,
    )
    opens_at = models.DateTimeField(
        gettext_lazy("opens at"),
        null=True,
        blank=True,
        help_text=gettext_lazy("Optional: ballots are refused before this time (UTC)."),
    )
    closes_at = models.DateTimeField(
        gettext_lazy("closes at"),
        null=True,
        blank=True,
        help_text=gettext_lazy("Optional: ballots are refused from this time (UTC)."),
    )
    roll_mode = models.CharField(
        gettext_lazy("roll mode"),
        max_length=10,
        choices=RollMode.choices,
        default=RollMode.ALL_APPROVED_VOTERS,
    )
    # Canonical JSON of the Paillier public key. The private key is never stored.
    public_key = models.TextField(gettext_lazy("public key"), blank=True, editable=False)
    # The trustees' public key file (docs/trustees.md) when the key was made by a
    # ceremony: K of N, the verification keys. Public only; no share ever comes here.
    trustee_key = models.TextField(gettext_lazy("trustees' key"), blank=True, editable=False)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    opened_at = models.DateTimeField(
        gettext_lazy("opened at"), null=True, blank=True, editable=False
    )
    closed_at = models.DateTimeField(
        gettext_lazy("closed at"), null=True, blank=True, editable=False
    )
    published_at = models.DateTimeField(
        gettext_lazy("published at"), null=True, blank=True, editable=False
    )
    # Seals the ballot board when the election closes (see elections/board.py).
    closing_hash = models.CharField(
        gettext_lazy("closing hash"), max_length=64, blank=True, editable=False
    )
    # Each box has its own running tally, sequence numbers and hash chain, so casts to
    # different boxes never contend; a voter's box follows from their pseudonym.
    ballot_boxes = models.PositiveSmallIntegerField(
        gettext_lazy("ballot boxes"),
        default=default_ballot_boxes,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_BALLOT_BOXES)],
        help_text=gettext_lazy(
            "Ballot boxes the board is split into (1 to 256). More boxes let more web "
            "processes store ballots at once; the results are the same."
        ),
    )
    allow_revoting = models.BooleanField(
        gettext_lazy("allow revoting"),
        default=False,
        help_text=gettext_lazy(
            "Voters may replace their ballot until the close; only the last one counts. "
            "The board shows every ballot, each replaced one marked."
        ),
    )

    class Meta:
        verbose_name = gettext_lazy("election")
        verbose_name_plural = gettext_lazy("elections")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(opens_at__lt=F("closes_at")),
                name="elections_election_opens_before_closes",
                violation_error_message="The election must open before it closes.",
            ),
            models.CheckConstraint(
                condition=Q(ballot_boxes__gte=1, ballot_boxes__lte=MAX_BALLOT_BOXES),
                name="elections_election_ballot_boxes_range",
                violation_error_message="An election has from 1 to 256 ballot boxes.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFT

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED

    @property
    def has_key(self) -> bool:
        return bool(self.public_key)

    @property
    def has_trustees(self) -> bool:
        return bool(self.trustee_key)

    def accepts_ballots_at(self, moment: datetime | None = None) -> bool:
        """Open, and within the schedule if there is one. The closing instant is excluded."""
        now = moment or timezone.now()
        if self.status != Status.OPEN:
            return False
        if self.opens_at is not None and now < self.opens_at:
            return False
        return self.closes_at is None or now < self.closes_at


class Question(models.Model):
    """One question of an election's ballot, with its own rules."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(
        Election,
        verbose_name=gettext_lazy("election"),
        on_delete=models.CASCADE,
        related_name="questions",
    )
    position = models.PositiveSmallIntegerField(
        gettext_lazy("position"),
        validators=[MinValueValidator(1)],
        help_text=gettext_lazy("Order on the ballot, from 1."),
    )
    title = models.CharField(gettext_lazy("title"), max_length=200)
    description = models.TextField(gettext_lazy("description"), blank=True, max_length=2000)
    min_selections = models.PositiveSmallIntegerField(
        gettext_lazy("minimum selections"),
        default=1,
        help_text=gettext_lazy("Fewest options a (non-blank) answer selects."),
    )
    max_selections = models.PositiveSmallIntegerField(
        gettext_lazy("maximum selections"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=gettext_lazy("Most options an answer selects."),
    )
    allow_blank = models.BooleanField(
        gettext_lazy("allow blank votes"),
        default=False,
        help_text=gettext_lazy("Voters may answer blank (select nothing, counted apart)."),
    )

    class Meta:
        verbose_name = gettext_lazy("question")
        verbose_name_plural = gettext_lazy("questions")
        ordering = ["election", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["election", "position"], name="elections_question_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(min_selections__lte=F("max_selections")),
                name="elections_question_min_le_max",
                violation_error_message=gettext_lazy(
                    "The minimum number of choices exceeds the maximum."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rule(self) -> str:
        """The question's rule as one sentence for voters (booth, election page, results)."""
        low, high = self.min_selections, self.max_selections
        if low == high:
            rule = (
                gettext("Choose exactly one.")
                if low == 1
                else gettext("Choose exactly %(count)d.") % {"count": low}
            )
        elif low == 0:
            rule = gettext("Choose at most %(high)d; you may leave every box empty.") % {
                "high": high
            }
        else:
            rule = gettext("Choose between %(low)d and %(high)d.") % {"low": low, "high": high}
        return rule + (" " + gettext("You may also vote blank.") if self.allow_blank else "")


class Candidate(models.Model):
    """An option of a question: an approved candidate account, a name alone, or an answer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(
        Election,
        verbose_name=gettext_lazy("election"),
        on_delete=models.CASCADE,
        related_name="candidates",
    )
    question = models.ForeignKey(
        Question,
        verbose_name=gettext_lazy("question"),
        on_delete=models.CASCADE,
        related_name="options",
    )
    # From 1 within the question: the parameters number options from 1 in ballot order.
    position = models.PositiveSmallIntegerField(
        gettext_lazy("position"),
        validators=[MinValueValidator(1)],
        help_text=gettext_lazy("Order within the question, from 1."),
    )
    name = models.CharField(gettext_lazy("name"), max_length=120)
    affiliation = models.CharField(gettext_lazy("affiliation"), max_length=120, blank=True)
    statement = models.TextField(gettext_lazy("statement"), max_length=2000, blank=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="candidacies",
        limit_choices_to={"role": "candidate", "is_approved": True},
    )

    class Meta:
        verbose_name = gettext_lazy("option")
        verbose_name_plural = gettext_lazy("options")
        ordering = ["election", "question__position", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "position"], name="elections_option_unique_position"
            ),
            models.UniqueConstraint(
                fields=["question", "account"], name="elections_option_unique_account"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RollEntry(models.Model):
    """A voter on an election's explicit roll."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(
        Election,
        verbose_name=gettext_lazy("election"),
        on_delete=models.CASCADE,
        related_name="roll",
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("voter"),
        on_delete=models.CASCADE,
        related_name="roll_entries",
    )
    added_at = models.DateTimeField(gettext_lazy("added at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("roll entry")
        verbose_name_plural = gettext_lazy("roll entries")
        constraints = [
            models.UniqueConstraint(fields=["election", "voter"], name="elections_roll_unique")
        ]

    def __str__(self) -> str:
        return f"{self.voter} on {self.election}"


PUBLISHED_IS_PERMANENT = gettext_lazy(
    "A published election is permanent: its record stays public. Copy it as a new draft instead."
)


def refuse_if_published(election_ids: Iterable[Any], objects: Iterable[models.Model]) -> None:
    """Raise ``ProtectedError`` if any of ``election_ids`` is a published election.

    Observers verify a published record, so nothing of it may be deleted, whatever
    the path (``elections/permanence.py`` applies this to every deletion).
    """
    ids = set(election_ids)
    if ids and Election.objects.filter(pk__in=ids, status=Status.PUBLISHED).exists():
        raise ProtectedError(str(PUBLISHED_IS_PERMANENT), set(objects))


class BallotQuerySet(models.QuerySet["Ballot"]):
    def delete(self) -> tuple[int, dict[str, int]]:
        # Ballots are guarded here rather than by a pre_delete receiver: a receiver
        # makes Django load every ballot (proofs and all) and query once per ballot
        # before deleting, where this costs one query and keeps the bulk delete.
        elections = self.order_by().values_list("election_id", flat=True).distinct()
        refuse_if_published(elections, [])
        return super().delete()


class Ballot(models.Model):
    """One encrypted ballot as cast, with its proofs. Never changed once stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(
        Election,
        verbose_name=gettext_lazy("election"),
        on_delete=models.PROTECT,
        related_name="ballots",
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("voter"),
        on_delete=models.PROTECT,
        related_name="ballots",
    )
    # The context the proofs are bound to: a pseudonym of (election, voter).
    voter_context = models.CharField(gettext_lazy("voter context"), max_length=200)
    # Which of the election's boxes: a function of the voter's pseudonym (board.box_of).
    box = models.PositiveSmallIntegerField(gettext_lazy("box"), default=0)
    sequence = models.PositiveIntegerField(
        gettext_lazy("sequence"), help_text=gettext_lazy("Position in its box's chain, from 1.")
    )
    # 1 for a voter's first ballot; a replacing ballot (revoting) has the next number,
    # so the database lets only one ballot take each place in a voter's history.
    revision = models.PositiveIntegerField(
        gettext_lazy("revision"), default=1, validators=[MinValueValidator(1)]
    )
    tracker = models.CharField(
        gettext_lazy("tracker"),
        max_length=64,
        help_text=gettext_lazy("SHA-256 of the canonical ballot."),
    )
    content = models.TextField(
        gettext_lazy("content"),
        help_text=gettext_lazy("Canonical JSON of the encrypted ballot and proofs."),
    )
    cast_at = models.DateTimeField(
        gettext_lazy("cast at"),
        help_text=gettext_lazy("UTC, whole milliseconds (part of the chain hash)."),
    )
    chain_hash = models.CharField(
        gettext_lazy("chain hash"),
        max_length=64,
        help_text=gettext_lazy("Hash over the previous chain hash and this ballot."),
    )

    objects = BallotQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("ballot")
        verbose_name_plural = gettext_lazy("ballots")
        # By the column, not the election: ordering by the relation would join the
        # elections table and sort by its creation date, for every query of ballots.
        ordering = ["election_id", "box", "sequence"]
        constraints = [
            # One ballot per voter and election, whatever arrives concurrently: without
            # revoting every ballot is revision 1; with it, one ballot per revision.
            models.UniqueConstraint(
                fields=["election", "voter", "revision"], name="elections_ballot_one_per_revision"
            ),
            models.UniqueConstraint(
                fields=["election", "box", "sequence"], name="elections_ballot_unique_sequence"
            ),
            # A copied or re-encoded ballot has the same canonical form, hence the same tracker.
            models.UniqueConstraint(fields=["tracker"], name="elections_ballot_unique_tracker"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.tracker[:12]}"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        refuse_if_published([self.election_id], [self])
        return super().delete(*args, **kwargs)


class EncryptedTally(models.Model):
    """One ballot box's running product of the ballots cast, one ciphertext per slot.

    Slots are every question's options in ballot order, each question's blank
    (when allowed) after its options, as in the election parameters.

    It holds the product of the box's ballots numbered 1 to ``ballot_count``, less
    those replaced by a later ballot of the same voter, and only moves by
    compare-and-swap on ``version`` (see ``elections/ballot_box.py``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(
        Election,
        verbose_name=gettext_lazy("election"),
        on_delete=models.CASCADE,
        related_name="box_tallies",
    )
    box = models.PositiveSmallIntegerField(gettext_lazy("box"), default=0)
    # Lowercase hex ciphertexts in slot (ballot) order.
    ciphertexts = models.JSONField(gettext_lazy("ciphertexts"), default=list)
    # The box's ballots folded so far (its last sequence number), replaced ones included.
    ballot_count = models.PositiveIntegerField(gettext_lazy("ballot count"), default=0)
    # Of those, the ballots that count: each voter's last.
    counted = models.PositiveIntegerField(gettext_lazy("counted"), default=0)
    # The chain hash of the latest ballot (the genesis hash before the first one).
    head_hash = models.CharField(gettext_lazy("head hash"), max_length=64, blank=True)
    # Set when the election closes: nothing more is folded in after that.
    is_closed = models.BooleanField(gettext_lazy("closed"), default=False)
    version = models.PositiveIntegerField(gettext_lazy("version"), default=0)
    updated_at = models.DateTimeField(gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("encrypted tally")
        verbose_name_plural = gettext_lazy("encrypted tallies")
        ordering = ["election_id", "box"]  # the column: no join (see Ballot)
        constraints = [
            models.UniqueConstraint(fields=["election", "box"], name="elections_tally_one_per_box")
        ]

    def __str__(self) -> str:
        return f"Tally of {self.election}, box {self.box} ({self.ballot_count} ballots)"


class TrusteeDecryption(models.Model):
    """One trustee's partial decryption of every encrypted total, stored once its proofs held."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(
        Election,
        verbose_name=gettext_lazy("election"),
        on_delete=models.CASCADE,
        related_name="trustee_decryptions",
    )
    trustee = models.PositiveSmallIntegerField(
        gettext_lazy("trustee"), validators=[MinValueValidator(1)]
    )
    # The canonical partial-decryption document as checked (docs/trustees.md).
    content = models.TextField(gettext_lazy("content"))
    submitted_at = models.DateTimeField(gettext_lazy("submitted at"), default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("trustee decryption")
        verbose_name_plural = gettext_lazy("trustee decryptions")
        ordering = ["election", "trustee"]
        constraints = [
            models.UniqueConstraint(
                fields=["election", "trustee"], name="elections_trustee_decryption_once"
            )
        ]

    def __str__(self) -> str:
        return f"Trustee {self.trustee} of {self.election}"


class AuditedBallot(models.Model):
    """A ballot a voter audited instead of casting: revealed, published, never counted.

    Stored as the canonical audited-ballot document (docs/ballot-format.md,
    "Audited ballot") once it opened to its choices. Nothing names the voter:
    no foreign key to the account, and the page lists audits by tracker only.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(
        Election,
        verbose_name=gettext_lazy("election"),
        on_delete=models.CASCADE,
        related_name="audited_ballots",
    )
    tracker = models.CharField(gettext_lazy("tracker"), max_length=64)
    content = models.TextField(gettext_lazy("content"))
    posted_at = models.DateTimeField(gettext_lazy("posted at"), default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("audited ballot")
        verbose_name_plural = gettext_lazy("audited ballots")
        ordering = ["election", "posted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["election", "tracker"], name="elections_audited_ballot_once"
            )
        ]

    def __str__(self) -> str:
        return f"Audited ballot {self.tracker[:12]} of {self.election}"


class Result(models.Model):
    """A decrypted count of one slot (an option, or a question's blank votes) with its proof."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(
        Election,
        verbose_name=gettext_lazy("election"),
        on_delete=models.CASCADE,
        related_name="results",
    )
    question = models.ForeignKey(
        Question,
        verbose_name=gettext_lazy("question"),
        on_delete=models.CASCADE,
        related_name="results",
    )
    # Null for the question's blank votes.
    candidate = models.ForeignKey(
        Candidate,
        verbose_name=gettext_lazy("option"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="results",
    )
    slot = models.PositiveSmallIntegerField(
        gettext_lazy("slot"), help_text=gettext_lazy("Index of the ciphertext in the ballot.")
    )
    count = models.PositiveIntegerField(gettext_lazy("count"))
    ciphertext = models.TextField(
        gettext_lazy("ciphertext"),
        help_text=gettext_lazy("The encrypted total that was decrypted (hex)."),
    )
    proof = models.TextField(
        gettext_lazy("proof"),
        help_text=gettext_lazy("r with c = (1+n)^count * r^n mod n^2 (hex)."),
    )
    decrypted_at = models.DateTimeField(gettext_lazy("decrypted at"), default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("result")
        verbose_name_plural = gettext_lazy("results")
        ordering = ["election", "slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["election", "slot"], name="elections_result_one_per_slot"
            )
        ]

    def __str__(self) -> str:
        return f"{self.candidate or 'Blank'}: {self.count}"

    @property
    def is_blank(self) -> bool:
        return self.candidate_id is None


class CandidacyStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    ACCEPTED = "accepted", gettext_lazy("Accepted")
    DECLINED = "declined", gettext_lazy("Declined")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")


ACTIVE_CANDIDACY = (CandidacyStatus.PENDING, CandidacyStatus.ACCEPTED)


class CandidacyRequest(models.Model):
    """A candidate account asking to stand for one question of a draft election.

    Accepting it adds the candidate as an option at the end of the question;
    declining keeps the administrator's reason for the candidate to read.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(
        Election,
        verbose_name=gettext_lazy("election"),
        on_delete=models.CASCADE,
        related_name="candidacy_requests",
    )
    question = models.ForeignKey(
        Question,
        verbose_name=gettext_lazy("question"),
        on_delete=models.CASCADE,
        related_name="candidacy_requests",
    )
    candidate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("candidate"),
        on_delete=models.CASCADE,
        related_name="candidacy_requests",
    )
    status = models.CharField(
        gettext_lazy("status"),
        max_length=10,
        choices=CandidacyStatus.choices,
        default=CandidacyStatus.PENDING,
    )
    # The option an accepted request added; null once an administrator removes it.
    option = models.ForeignKey(
        Candidate,
        verbose_name=gettext_lazy("option"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(
        gettext_lazy("reason"),
        max_length=500,
        blank=True,
        help_text=gettext_lazy("Why it was declined; shown to the candidate."),
    )
    requested_at = models.DateTimeField(gettext_lazy("requested at"), default=timezone.now)
    decided_at = models.DateTimeField(gettext_lazy("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = gettext_lazy("candidacy request")
        verbose_name_plural = gettext_lazy("candidacy requests")
        ordering = ["election", "requested_at"]
        constraints = [
            # One live request per candidate and question, whatever arrives concurrently;
            # declined and withdrawn ones stay as history and do not count.
            models.UniqueConstraint(
                fields=["question", "candidate"],
                condition=Q(status__in=ACTIVE_CANDIDACY),
                name="elections_candidacy_one_active",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CandidacyStatus.values),
                name="elections_candidacy_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.candidate} for {self.question} ({self.get_status_display()})"

    @property
    def is_pending(self) -> bool:
        return self.status == CandidacyStatus.PENDING
