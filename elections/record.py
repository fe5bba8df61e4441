"""The public election record, streamed out of the database (docs/election-record.md).

``stream_record(election)`` returns an iterator of text chunks: a view can
serve it with ``StreamingHttpResponse`` and the ``export_record`` command
writes it to a file. Ballots are read with ``.iterator()`` in chunks, so
memory stays flat whatever their number. The record is public only once
the results are published; administrators may export a closed election's
record earlier, or an open one's as a partial snapshot. The public ballot
board (``render_board``) uses the same entries without the voter pseudonyms
and is readable from the opening on.

The record's version follows the election's ballot format: an election opened
before questions existed (ballot format v1) keeps the v1 layout, byte for byte,
so its published record stays what it was; every other election gets v2, whose
parameters carry every label.

An election with several ballot boxes or with revoting gets v3: v2 with each
ballot's box and the ballot that replaced it, and one chain per box.

An election decrypted by trustees (any K of N) adds, in v2 and v3, the trustees'
public key after the parameters and, once published, their partial
decryptions after the results; its results carry no decryption proof.

The exporter copies what is stored (ballots, chain hashes, the running
tally, the closing hash, the results, the trustees' documents) without
recomputing or repairing any of it: the verifier's job is to find out
whether it holds together.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from accounts.models import Role, User

from . import ballot_box, board, crypto, services
from .crypto.encoding import int_to_hex
from .crypto.params import PARAMS_FORMAT_V1
from .models import (
    AuditedBallot,
    Ballot,
    Election,
    EncryptedTally,
    RollMode,
    Status,
    TrusteeDecryption,
)
from .verify import (
    RECORD_FORMAT,
    RECORD_FORMAT_V1,
    RECORD_FORMAT_V3,
    ChunkReader,
    ProgressCallback,
    Report,
    verify_record,
    voter_roll_commitment,
)

BALLOTS_PER_QUERY = 500
BOARD_FORMAT = "evoting/ballot-board/v1"


class RecordNotPublic(services.WrongPhase):
    """The record is published with the results, not before."""


@dataclass(frozen=True)
class BoardEntry:
    """One ballot as it sits on the board; ``content`` is its stored JSON text."""

    sequence: int
    voter_context: str
    cast_at: str
    tracker: str
    chain_hash: str
    content: str
    # v3 only (``box`` None otherwise): the ballot's box, and the sequence number of
    # the ballot of the same voter that replaced it (None: it counts).
    box: int | None = None
    replaced_by: int | None = None


@dataclass(frozen=True)
class RecordParts:
    """Everything of a record except its ballots, each section as JSON-ready data.

    The parameters decide the record's version: v1 parameters make a v1
    record, which has a ``candidates`` section; v2 parameters carry every
    label, so a v2 record has none (``candidates`` is None). Only v2 has
    the trustees' sections: ``trustees`` and ``partial_decryptions`` are
    stored JSON texts, written as they are (None writes ``null``).
    """

    election: dict[str, Any]
    params: dict[str, Any]
    voter_roll: dict[str, str]
    chain: dict[str, str | None]
    encrypted_tally: dict[str, Any]
    results: list[dict[str, str | None]] | None
    candidates: list[dict[str, str]] | None = None
    trustees: str | None = None
    partial_decryptions: list[str] | None = None
    # The audited ballots' stored documents in posting order; the section is
    # written only when there is at least one (v2 only).
    audited_ballots: list[str] = field(default_factory=list)
    # v3: several ballot boxes or revoting.
    boxes: bool = False

    def __post_init__(self) -> None:
        v1 = self.params.get("format") == PARAMS_FORMAT_V1
        if (self.candidates is not None) != v1:
            raise ValueError("a v1 record, and only a v1 record, has a candidates section")
        if v1 and (self.trustees is not None or self.partial_decryptions is not None):
            raise ValueError("a v1 record has no trustees")
        if v1 and (self.audited_ballots or self.boxes):
            raise ValueError("a v1 record has no audited ballots and one ballot box")

    @property
    def format(self) -> str:
        if self.candidates is not None:
            return RECORD_FORMAT_V1
        return RECORD_FORMAT_V3 if self.boxes else RECORD_FORMAT


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def _stored_json(content: str) -> str:
    # The stored text is copied as it is when it is JSON; anything else (which
    # only tampering can produce) goes in as a string, so the document stays
    # readable and the verifier names what is wrong.
    try:
        json.loads(content, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return _dump(content)
    return content


def entry_json(entry: BoardEntry, *, with_voter_context: bool = True) -> str:
    """One ballot entry as a JSON object; the public board leaves out the pseudonym."""
    context = f'"voter_context":{_dump(entry.voter_context)},' if with_voter_context else ""
    box = replaced = ""
    if entry.box is not None:
        box = f'"box":"{int_to_hex(entry.box)}",'
        later = None if entry.replaced_by is None else int_to_hex(entry.replaced_by)
        replaced = f'"replaced_by":{_dump(later)},'
    return (
        f'{{"sequence":"{int_to_hex(entry.sequence)}",'
        f"{box}{context}"
        f'"cast_at":{_dump(entry.cast_at)},'
        f'"tracker":{_dump(entry.tracker)},'
        f'"chain_hash":{_dump(entry.chain_hash)},'
        f"{replaced}"
        f'"ballot":{_stored_json(entry.content)}}}'
    )


def render_record(parts: RecordParts, entries: Iterable[BoardEntry]) -> Iterator[str]:
    """Yield the record's text: the sections in their fixed order, one ballot per line.

    The layout is that of ``parts.format`` (docs/election-record.md, section 2).

    Touches no database by itself: ``entries`` may be a lazy query.
    """
    yield f'{{"format":{_dump(parts.format)},\n'
    yield f'"election":{_dump(parts.election)},\n'
    yield f'"params":{_dump(parts.params)},\n'
    v1 = parts.candidates is not None
    if v1:
        yield f'"candidates":{_dump(parts.candidates)},\n'
    else:
        trustees = "null" if parts.trustees is None else _stored_json(parts.trustees)
        yield f'"trustees":{trustees},\n'
    yield f'"voter_roll":{_dump(parts.voter_roll)},\n'
    yield '"ballots":['
    separator = "\n"
    for entry in entries:
        yield separator + entry_json(entry)
        separator = ",\n"
    yield "\n],\n"
    yield f'"chain":{_dump(parts.chain)},\n'
    yield f'"encrypted_tally":{_dump(parts.encrypted_tally)},\n'
    if v1:
        yield f'"results":{_dump(parts.results)}}}\n'
        return
    yield f'"results":{_dump(parts.results)},\n'
    if parts.partial_decryptions is None:
        yield '"partial_decryptions":null'
    else:
        # One trustee's document per line, spelt as the ballots are.
        yield '"partial_decryptions":['
        yield from _lines(parts.partial_decryptions)
        yield "\n]"
    if parts.audited_ballots:
        yield ',\n"audited_ballots":['
        yield from _lines(parts.audited_ballots)
        yield "\n]"
    yield "}\n"


def _lines(documents: Iterable[str]) -> Iterator[str]:
    separator = "\n"
    for document in documents:
        yield separator + _stored_json(document)
        separator = ",\n"


def format_time(moment: datetime | None) -> str | None:
    return None if moment is None else board.format_cast_at(moment)


def _eligible_voters(election: Election) -> Iterator[User]:
    # The same accounts services.eligible_voter_count counts.
    voters = User.objects.filter(role=Role.VOTER, is_active=True, is_approved=True)
    if election.roll_mode == RollMode.EXPLICIT:
        voters = voters.filter(roll_entries__election=election)
    return voters.only("pk").iterator(chunk_size=2000)


def voter_roll_section(election: Election) -> dict[str, str]:
    contexts = [services.voter_context(election, voter) for voter in _eligible_voters(election)]
    return {
        "mode": election.roll_mode,
        "eligible": int_to_hex(len(contexts)),
        "commitment": voter_roll_commitment(contexts),
    }


def _results_v1(election: Election) -> list[dict[str, str | None]]:
    return [
        {
            "candidate": None if result.candidate_id is None else str(result.candidate_id),
            "count": int_to_hex(result.count),
            "ciphertext": result.ciphertext,
            "proof": result.proof,
        }
        for result in election.results.order_by("slot")
    ]


def _results_v2(election: Election) -> list[dict[str, str | None]]:
    # Each result names the question it counts by its index in the parameters.
    index = {
        question.pk: number for number, question in enumerate(services.ordered_questions(election))
    }
    return [
        {
            "question": None
            if result.question_id not in index
            else int_to_hex(index[result.question_id]),
            "option": None if result.candidate_id is None else str(result.candidate_id),
            "count": int_to_hex(result.count),
            "ciphertext": result.ciphertext,
            # Trustees prove their decryptions in their partials: no proof is stored.
            "proof": result.proof or (None if election.has_trustees else ""),
        }
        for result in election.results.order_by("slot")
    ]


def _partial_decryptions(election: Election) -> list[str] | None:
    """The stored partial decryption documents by trustee, once published by trustees."""
    if not election.has_trustees or election.status != Status.PUBLISHED:
        return None
    rows = TrusteeDecryption.objects.filter(election=election).order_by("trustee")
    return list(rows.values_list("content", flat=True))


def _audited_ballots(election: Election) -> list[str]:
    rows = AuditedBallot.objects.filter(election=election).order_by("posted_at", "id")
    return list(rows.values_list("content", flat=True))


def _candidates_v1(election: Election) -> list[dict[str, str]]:
    return [
        {
            "id": str(candidate.id),
            "position": int_to_hex(candidate.position),
            "name": candidate.name,
            "affiliation": candidate.affiliation,
        }
        for candidate in services.ordered_candidates(election)
    ]


def uses_boxes(election: Election) -> bool:
    """Whether the election's record and board name each ballot's box (format v3)."""
    return election.ballot_boxes > 1 or election.allow_revoting


def record_parts(election: Election, public: PublicBoard) -> RecordParts:
    """Read every section but the ballots from the database.

    The record's version follows the election's ballot format (its parameters),
    and its boxes and revoting (v3).
    """
    params = services.election_params(election)
    v1 = params.version == 1
    results = None
    if election.status == Status.PUBLISHED:
        results = _results_v1(election) if v1 else _results_v2(election)
    header: dict[str, Any] = {
        "id": str(election.id),
        "slug": election.slug,
        "title": election.title,
        "status": election.status,
        "opened_at": format_time(election.opened_at),
        "closed_at": format_time(election.closed_at),
        "published_at": format_time(election.published_at),
        "ballot_count": int_to_hex(public.ballots.count()),
    }
    tallies = public.tallies
    boxes = uses_boxes(election) and not v1
    if boxes:
        header["ballot_boxes"] = int_to_hex(election.ballot_boxes)
        header["revoting"] = "1" if election.allow_revoting else "0"
        chain: dict[str, Any] = {
            "boxes": [
                {
                    "genesis": board.box_genesis_hash(
                        params.fingerprint, tally.box, election.ballot_boxes
                    ),
                    "head": tally.head_hash,
                    "ballots": int_to_hex(tally.ballot_count),
                }
                for tally in tallies
            ],
            "closing": election.closing_hash or None,
        }
        ciphertexts = [int_to_hex(total) for total in ballot_box.combined_totals(params, tallies)]
    else:
        chain = {
            "genesis": board.genesis_hash(params.fingerprint),
            "head": tallies[0].head_hash,
            "closing": election.closing_hash or None,
        }
        ciphertexts = list(tallies[0].ciphertexts)
    return RecordParts(
        election=header,
        params=json.loads(crypto.params_to_json(params)),
        candidates=_candidates_v1(election) if v1 else None,
        voter_roll=voter_roll_section(election),
        chain=chain,
        encrypted_tally={
            "ciphertexts": ciphertexts,
            "ballot_count": int_to_hex(sum(tally.counted for tally in tallies)),
        },
        results=results,
        trustees=None if v1 or not election.has_trustees else election.trustee_key,
        partial_decryptions=None if v1 else _partial_decryptions(election),
        audited_ballots=[] if v1 else _audited_ballots(election),
        boxes=boxes,
    )


ENTRY_FIELDS = (
    "box",
    "sequence",
    "voter_context",
    "cast_at",
    "tracker",
    "chain_hash",
    "content",
    "voter_id",
    "revision",
)


def board_entries(public: PublicBoard) -> Iterator[BoardEntry]:
    """The board's ballots in box then sequence order, fetched a chunk at a time.

    With boxes or revoting each entry names its box and, for a replaced ballot, the
    ballot of the same voter that replaced it (looked up a chunk at a time, so
    memory stays flat).
    """
    rows = public.ballots.order_by("box", "sequence").values_list(*ENTRY_FIELDS)
    chunk: list[tuple[Any, ...]] = []
    for row in rows.iterator(chunk_size=BALLOTS_PER_QUERY):
        chunk.append(row)
        if len(chunk) == BALLOTS_PER_QUERY:
            yield from _entries(public, chunk)
            chunk = []
    yield from _entries(public, chunk)


def _entries(public: PublicBoard, rows: list[tuple[Any, ...]]) -> Iterator[BoardEntry]:
    replacing = public.replacements({row[7] for row in rows})
    for box, sequence, context, cast_at, tracker, chain_hash, content, voter, revision in rows:
        yield BoardEntry(
            sequence,
            context,
            board.format_cast_at(cast_at),
            tracker,
            chain_hash,
            content,
            box=box if public.boxes else None,
            replaced_by=replacing.get((voter, revision)),
        )


def stream_record(election: Election, *, include_unpublished: bool = False) -> Iterator[str]:
    """Return the election's public record as an iterator of text chunks.

    Raises ``RecordNotPublic`` (409) before the results are published unless
    ``include_unpublished`` (administrators' export of a closed election, or a
    partial snapshot of an open one), and ``WrongPhase`` for a draft. The
    checks run now, so a view can turn them into a 4xx before it streams.
    """
    election.refresh_from_db()
    if election.status == Status.DRAFT:
        raise services.WrongPhase("A draft election has no record: it has not been opened.")
    if election.status != Status.PUBLISHED and not include_unpublished:
        raise RecordNotPublic("The election record is published together with the results.")
    public = public_board(election)
    return render_record(record_parts(election, public), board_entries(public))


def verify_board(
    election: Election, *, progress: ProgressCallback | None = None, workers: int | None = None
) -> Report:
    """Run every check of the public verifier over the election as the database holds it now.

    The record is streamed straight from the database into ``verify_record``,
    the code of ``python -m elections.verify``, so what the decryption relies
    on is exactly what observers check later: every ballot's proofs, the
    trackers, the hash chain up to the closing hash, duplicates, and the
    encrypted tally as the product of the verified ballots. ``workers``
    defaults to ``TALLY_CHECK_PROCESSES`` (0: one per core).
    """
    if workers is None:
        workers = settings.TALLY_CHECK_PROCESSES or os.cpu_count() or 1
    chunks = stream_record(election, include_unpublished=True)
    try:
        return verify_record(ChunkReader(chunks), workers=workers, progress=progress)
    finally:
        crypto.shutdown_workers()


@dataclass(frozen=True)
class PublicBoard:
    """The running tallies and the ballots on the public board, read as one snapshot."""

    tallies: list[EncryptedTally]
    ballots: QuerySet[Ballot]
    # Whether entries name their box and replacement (format v3).
    boxes: bool
    revoting: bool

    def replacements(self, voters: set[Any]) -> dict[tuple[Any, int], int]:
        """For these voters, (voter, revision) -> the sequence of the ballot replacing it.

        Empty without revoting. One query however many voters, so a page or a chunk
        of the record looks its replacements up at once.
        """
        if not self.revoting or not voters:
            return {}
        later = self.ballots.filter(voter_id__in=voters, revision__gt=1).values_list(
            "voter_id", "revision", "sequence"
        )
        return {(voter, revision - 1): sequence for voter, revision, sequence in later}

    @property
    def head(self) -> str:
        """The head hash; with several boxes, the hash over every box's head."""
        if len(self.tallies) == 1:
            return self.tallies[0].head_hash
        return board.boxes_closing_hash([(t.head_hash, t.ballot_count) for t in self.tallies])


def public_board(election: Election) -> PublicBoard:
    """The running tallies and the ballots on the public board, read as one snapshot.

    Raises ``WrongPhase`` when the election has no board (a draft).
    """
    tallies = ballot_box.box_tallies(election)
    if election.status == Status.DRAFT or not tallies:
        raise services.WrongPhase("This election has no ballot board.")
    # An open election's board grows while we read: each box tally's count marks a
    # consistent snapshot (a ballot and its tally are written together).
    # Once closed, every stored ballot goes out, so an inserted one shows.
    ballots = Ballot.objects.filter(election=election)
    if election.status == Status.OPEN:
        within = Q()
        for tally in tallies:
            within |= Q(box=tally.box, sequence__lte=tally.ballot_count)
        ballots = ballots.filter(within)
    return PublicBoard(tallies, ballots, uses_boxes(election), election.allow_revoting)


def render_board(
    election: dict[str, Any], chain: dict[str, str | None], entries: Iterable[BoardEntry]
) -> Iterator[str]:
    """Yield the public board's text: the election, its chain hashes, one ballot per line.

    The entries are spelt as in the record, without the voter pseudonyms.
    """
    yield f'{{"format":{_dump(BOARD_FORMAT)},\n'
    yield f'"election":{_dump(election)},\n'
    yield f'"chain":{_dump(chain)},\n'
    yield '"ballots":['
    separator = "\n"
    for entry in entries:
        yield separator + entry_json(entry, with_voter_context=False)
        separator = ",\n"
    yield "\n]}\n"
