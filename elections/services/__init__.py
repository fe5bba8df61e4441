"""Every operation that changes an election. Views, admin actions and commands call these.

Each function enforces the rules of the election's phase itself, so no caller can
skip a check, and writes an audit entry for administrative actions. Failures raise
an ``ElectionError`` subclass whose message is safe to show and whose
``status_code`` a view can return as it is.

One module per concern: ``ballots`` reads what an election asks (its questions,
options and cryptographic parameters, who may vote), ``drafts`` sets an election
up, ``casting`` takes ballots, ``counting`` closes, decrypts and resets, ``trustees``
takes the trustees' key and partial decryptions and publishes with them, ``auditing``
publishes the ballots voters audit instead of casting, ``candidacies`` takes candidates'
requests to stand and the administrator's decisions, and keeps their options in step
with their profiles until the election opens.
"""

from .auditing import AUDIT_LIMIT, AlreadyAudited, post_audited_ballot, published_audits
from .ballots import (
    ballot_problem,
    ballot_shapes,
    ballot_slots,
    election_params,
    eligible_voter_count,
    is_eligible,
    ordered_candidates,
    ordered_questions,
    public_key_fingerprint,
    voter_context,
)
from .candidacies import (
    CandidacyRefused,
    Standing,
    accept_candidacy,
    candidacies_of,
    decline_candidacy,
    drafts_open_to,
    may_stand,
    profile_labels,
    refresh_candidate_options,
    request_candidacy,
    save_candidate_profile,
    standings_of,
    withdraw_candidacy,
)
from .casting import REFUSED_BALLOT_LIMIT, REFUSED_BALLOT_WINDOW, cast_ballot
from .counting import (
    SlotCount,
    TallyReport,
    close_election,
    decrypt_tally,
    product_of_ballots,
    reset_election,
)
from .drafts import (
    COPY_SUFFIX,
    add_question,
    copy_as_draft,
    generate_keys,
    open_election,
    require_draft,
    save_in_order,
)
from .errors import (
    AlreadySubmitted,
    AlreadyVoted,
    BallotBoxBusy,
    ElectionError,
    InvalidBallotError,
    KeyRefused,
    NotEligible,
    TallyMismatch,
    TooManyRefusals,
    WrongPhase,
)
from .trustees import (
    encrypted_tally,
    publish_with_trustees,
    set_election_key,
    submit_partial,
    tally_document,
    trustee_public_key,
)

__all__ = [
    "AUDIT_LIMIT",
    "COPY_SUFFIX",
    "REFUSED_BALLOT_LIMIT",
    "REFUSED_BALLOT_WINDOW",
    "AlreadyAudited",
    "AlreadySubmitted",
    "AlreadyVoted",
    "BallotBoxBusy",
    "CandidacyRefused",
    "ElectionError",
    "InvalidBallotError",
    "KeyRefused",
    "NotEligible",
    "SlotCount",
    "Standing",
    "TallyMismatch",
    "TallyReport",
    "TooManyRefusals",
    "WrongPhase",
    "accept_candidacy",
    "add_question",
    "ballot_problem",
    "ballot_shapes",
    "ballot_slots",
    "candidacies_of",
    "cast_ballot",
    "close_election",
    "copy_as_draft",
    "decline_candidacy",
    "decrypt_tally",
    "drafts_open_to",
    "election_params",
    "eligible_voter_count",
    "encrypted_tally",
    "generate_keys",
    "is_eligible",
    "may_stand",
    "open_election",
    "ordered_candidates",
    "ordered_questions",
    "post_audited_ballot",
    "product_of_ballots",
    "profile_labels",
    "public_key_fingerprint",
    "publish_with_trustees",
    "published_audits",
    "refresh_candidate_options",
    "request_candidacy",
    "require_draft",
    "reset_election",
    "save_candidate_profile",
    "save_in_order",
    "set_election_key",
    "standings_of",
    "submit_partial",
    "tally_document",
    "trustee_public_key",
    "voter_context",
    "withdraw_candidacy",
]
