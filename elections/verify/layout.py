"""The record's versions: each one's format tag, sections in order and keys.

The value of the record's first key, ``format``, selects the layout the rest
of the file is read with. ``evoting/election-record/v2`` is written for
elections of ballot format v2; ``evoting/election-record/v1`` for elections
opened before it, whose records must keep verifying as they were published;
``evoting/election-record/v3`` for elections with several ballot boxes or with
revoting (each entry then names its box and what replaced it).
Only v2 has the ``trustees`` and ``partial_decryptions`` sections: an election
opened before questions existed never had trustees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from elections.crypto.encoding import transcript_digest

RECORD_FORMAT = "evoting/election-record/v2"
# An election with several ballot boxes or with revoting: v2 plus each ballot's box
# and replacement, one chain per box.
RECORD_FORMAT_V3 = "evoting/election-record/v3"
RECORD_FORMAT_V1 = "evoting/election-record/v1"
VOTER_ROLL_TAG = "evoting/record/v1/voter-roll"
# The one optional section: last, and present only when some ballot was audited (v2).
AUDITED_SECTION = "audited_ballots"

ELECTION_KEYS = (
    "id",
    "slug",
    "title",
    "status",
    "opened_at",
    "closed_at",
    "published_at",
    "ballot_count",
)
ELECTION_KEYS_V3 = (*ELECTION_KEYS, "ballot_boxes", "revoting")
CANDIDATE_KEYS = ("id", "position", "name", "affiliation")
VOTER_ROLL_KEYS = ("mode", "eligible", "commitment")
ENTRY_KEYS = ("sequence", "voter_context", "cast_at", "tracker", "chain_hash", "ballot")
ENTRY_KEYS_V3 = (
    "sequence",
    "box",
    "voter_context",
    "cast_at",
    "tracker",
    "chain_hash",
    "replaced_by",
    "ballot",
)
CHAIN_KEYS = ("genesis", "head", "closing")
CHAIN_KEYS_V3 = ("boxes", "closing")
BOX_CHAIN_KEYS = ("genesis", "head", "ballots")
TALLY_KEYS = ("ciphertexts", "ballot_count")
STATUSES = ("open", "closed", "published")
ROLL_MODES = ("all", "explicit")


@dataclass(frozen=True)
class Layout:
    """One version of the record format.

    ``sections`` are the top-level keys in their fixed order; ``params_version``
    is the only parameters format the record may hold; ``result_keys`` are the
    keys of each item of ``results``; ``slot_noun`` names what a ciphertext of
    the tally counts, in messages; ``audited`` says whether the optional
    ``audited_ballots`` section may follow the last one.
    """

    format: str
    params_version: int
    sections: tuple[str, ...]
    result_keys: tuple[str, ...]
    slot_noun: str
    audited: bool = False
    # v3: ballot boxes and revoting (the election's, entry and chain keys differ).
    boxes: bool = False

    @property
    def election_keys(self) -> tuple[str, ...]:
        return ELECTION_KEYS_V3 if self.boxes else ELECTION_KEYS

    @property
    def entry_keys(self) -> tuple[str, ...]:
        return ENTRY_KEYS_V3 if self.boxes else ENTRY_KEYS


LAYOUT_V2 = Layout(
    format=RECORD_FORMAT,
    params_version=2,
    sections=(
        "format",
        "election",
        "params",
        "trustees",
        "voter_roll",
        "ballots",
        "chain",
        "encrypted_tally",
        "results",
        "partial_decryptions",
    ),
    result_keys=("question", "option", "count", "ciphertext", "proof"),
    slot_noun="slots",
    audited=True,
)
LAYOUT_V3 = Layout(
    format=RECORD_FORMAT_V3,
    params_version=2,
    sections=LAYOUT_V2.sections,
    result_keys=LAYOUT_V2.result_keys,
    slot_noun="slots",
    audited=True,
    boxes=True,
)
LAYOUT_V1 = Layout(
    format=RECORD_FORMAT_V1,
    params_version=1,
    sections=(
        "format",
        "election",
        "params",
        "candidates",
        "voter_roll",
        "ballots",
        "chain",
        "encrypted_tally",
        "results",
    ),
    result_keys=("candidate", "count", "ciphertext", "proof"),
    slot_noun="candidates",
)
LAYOUTS = {layout.format: layout for layout in (LAYOUT_V3, LAYOUT_V2, LAYOUT_V1)}


def voter_roll_commitment(voter_contexts: Iterable[str]) -> str:
    """Commit to the eligible voters' pseudonyms: hex SHA-256 in transcript framing.

    The items hashed are the tag, the number of pseudonyms in hex and the
    pseudonyms sorted in ascending ASCII order. The same in both versions.
    """
    ordered = sorted(voter_contexts)
    return transcript_digest([VOTER_ROLL_TAG, format(len(ordered), "x"), *ordered]).hex()
