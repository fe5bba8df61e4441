"""The public ballot board: its pages, its download, the record, the totals and the receipt check.

Anyone may read the board of an election once it has been opened: each ballot's
sequence number, tracker, cast time and chain hash, the head hash and, once
closed, the closing hash. That is what a voter needs to find their ballot and an
observer to follow the chain; who cast a ballot is never shown. The downloads
are streamed, a chunk of ballots at a time, so their size does not matter.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, cast

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import board, record, services
from .crypto.encoding import int_to_hex
from .decorators import ElectionView, election_view, refusal
from .models import Ballot, Election, EncryptedTally, Status

# The board exists from the opening on; a draft has none (and stays a 404).
BOARD_PHASES = (Status.OPEN, Status.CLOSED, Status.PUBLISHED)
BALLOTS_PER_PAGE = 100
TRACKER_LENGTH = 64
# Eight hex digits are 32 bits: short enough to read out, long enough to find one ballot.
SHORTEST_PREFIX = 8
NO_BOARD = "This election has no ballot board yet."
RECORD_NOT_PUBLIC = "The election record is published together with the results."
TALLY_NOT_YET = "The encrypted totals are published once the election is closed."

_HEX = re.compile(r"[0-9a-f]*")

BoardView = Callable[[HttpRequest, Election, EncryptedTally, QuerySet[Ballot]], HttpResponse]


class TrackerForm(forms.Form):
    """A whole tracker, typed or pasted: case and spaces (from a wrapped line) do not matter."""

    shortest = TRACKER_LENGTH
    tracker = forms.CharField(
        label="Tracker",
        max_length=200,
        help_text="The 64 characters (0-9 and a-f) shown on your receipt.",
        widget=forms.TextInput(
            attrs={"class": "mono", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def clean_tracker(self) -> str:
        value = "".join(self.cleaned_data["tracker"].split()).lower()
        if not _HEX.fullmatch(value):
            raise forms.ValidationError("A tracker has only the digits 0-9 and the letters a-f.")
        if not self.shortest <= len(value) <= TRACKER_LENGTH:
            raise forms.ValidationError(self.length_message(len(value)))
        return value

    def length_message(self, length: int) -> str:
        return f"A tracker has {TRACKER_LENGTH} characters; this has {length}."


class TrackerSearchForm(TrackerForm):
    """The board's search box: a whole tracker or its beginning."""

    shortest = SHORTEST_PREFIX
    tracker = forms.CharField(
        label="Find a ballot by its tracker",
        max_length=200,
        required=False,
        help_text=f"The whole tracker or its first {SHORTEST_PREFIX} characters or more.",
        widget=forms.SearchInput(
            attrs={"class": "mono", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def clean_tracker(self) -> str:
        if not self.cleaned_data["tracker"].strip():
            return ""
        return super().clean_tracker()

    def length_message(self, length: int) -> str:
        return (
            f"Enter between {SHORTEST_PREFIX} and {TRACKER_LENGTH} characters of the tracker; "
            f"this has {length}."
        )


@dataclass(frozen=True)
class BoardRow:
    sequence: int
    tracker: str
    cast_at: str
    chain_hash: str
    page: int


ROW_FIELDS = ("sequence", "tracker", "cast_at", "chain_hash")


def board_page_of(ballots: QuerySet[Ballot], sequence: int) -> int:
    """The page of the full board listing that shows ballot ``sequence``."""
    return ballots.filter(sequence__lt=sequence).count() // BALLOTS_PER_PAGE + 1


def board_entry_url(election: Election, ballots: QuerySet[Ballot], sequence: int) -> str:
    page = board_page_of(ballots, sequence)
    board_url = reverse("elections:board", kwargs={"slug": election.slug})
    return f"{board_url}?page={page}#ballot-{sequence}"


def _rows(
    values: Iterable[tuple[int, str, datetime, str]],
    ballots: QuerySet[Ballot],
    listing_page: int | None,
) -> list[BoardRow]:
    """Rows for display; without ``listing_page`` (a search) each looks its page up."""
    return [
        BoardRow(
            sequence,
            tracker,
            board.format_cast_at(cast_at),
            chain_hash,
            listing_page or board_page_of(ballots, sequence),
        )
        for sequence, tracker, cast_at, chain_hash in values
    ]


def with_board(view: BoardView) -> ElectionView:
    """Pass the view the running tally and the public ballots after the election.

    An election past its draft always has a board; one without is refused (409)
    rather than shown empty.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, election: Election) -> HttpResponse:
        try:
            tally, ballots = record.public_board(election)
        except services.ElectionError:
            return refusal(request, 409, NO_BOARD, as_json=False)
        return view(request, election, tally, ballots)

    return wrapped


@require_safe
@election_view(*BOARD_PHASES, refused=NO_BOARD)
@with_board
def board_page(
    request: HttpRequest, election: Election, tally: EncryptedTally, ballots: QuerySet[Ballot]
) -> HttpResponse:
    form = TrackerSearchForm(request.GET)
    searched = form.cleaned_data["tracker"] if form.is_valid() else ""
    if form.errors:
        listed = ballots.none()
    elif searched:
        # A range rather than LIKE, so the index on the tracker serves it on every database.
        listed = ballots.filter(tracker__gte=searched, tracker__lt=searched + "g")
    else:
        listed = ballots
    values = listed.order_by("sequence").values_list(*ROW_FIELDS)
    page = Paginator(values, BALLOTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "election": election,
        "head_hash": tally.head_hash,
        "ballot_count": ballots.count(),
        "form": form,
        "searched": searched,
        "page": page,
        # A search result links to the page of the full listing where the ballot sits.
        "rows": _rows(page.object_list, ballots, None if searched else page.number),
    }
    return render(request, "elections/board.html", context, status=400 if form.errors else 200)


@require_safe
@election_view(*BOARD_PHASES, refused=NO_BOARD)
@with_board
def check_receipt(
    request: HttpRequest, election: Election, tally: EncryptedTally, ballots: QuerySet[Ballot]
) -> HttpResponse:
    form = TrackerForm(request.GET or None)
    context: dict[str, Any] = {"election": election, "form": form}
    if not form.is_bound:
        return render(request, "elections/check.html", context)
    if not form.is_valid():
        return render(request, "elections/check.html", context, status=400)
    tracker = form.cleaned_data["tracker"]
    found = _rows(ballots.filter(tracker=tracker).values_list(*ROW_FIELDS), ballots, None)
    context.update(tracker=tracker, found=found[0] if found else None)
    return render(request, "elections/check.html", context)


@require_safe
@never_cache
@election_view(*BOARD_PHASES, refused=NO_BOARD, as_json=True)
@with_board
def check_tracker_json(
    request: HttpRequest, election: Election, tally: EncryptedTally, ballots: QuerySet[Ballot]
) -> HttpResponse:
    """Where a tracker is on the board, as JSON: what the booth compares after a cast."""
    form = TrackerForm(request.GET)
    if not form.is_valid():
        return refusal(request, 400, "Give a tracker: 64 hexadecimal digits.", as_json=True)
    tracker = form.cleaned_data["tracker"]
    found = _rows(ballots.filter(tracker=tracker).values_list(*ROW_FIELDS), ballots, None)
    if not found:
        return JsonResponse({"tracker": tracker, "found": False})
    row = found[0]
    return JsonResponse(
        {
            "tracker": tracker,
            "found": True,
            "sequence": row.sequence,
            "cast_at": row.cast_at,
            "chain_hash": row.chain_hash,
        }
    )


def _attachment(chunks: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def streamed(view: Callable[..., HttpResponseBase]) -> ElectionView:
    """Let ``election_view`` wrap a streaming view.

    Its types name ``HttpResponse``, but it returns the view's response as it
    is, so a ``StreamingHttpResponse`` passes through unchanged.
    """
    return cast(ElectionView, view)


@require_safe
@never_cache
@election_view(*BOARD_PHASES, refused=NO_BOARD, as_json=True)
@streamed
def board_download(request: HttpRequest, election: Election) -> HttpResponseBase:
    try:
        tally, ballots = record.public_board(election)
    except services.ElectionError:
        return refusal(request, 409, NO_BOARD, as_json=True)
    header = {
        "id": str(election.id),
        "slug": election.slug,
        "title": election.title,
        "status": election.status,
        "ballot_count": int_to_hex(ballots.count()),
    }
    chain = {"head": tally.head_hash, "closing": election.closing_hash or None}
    chunks = record.render_board(header, chain, record.board_entries(ballots))
    return _attachment(chunks, f"{election.slug}-board.json")


@require_safe
@election_view(Status.PUBLISHED, refused=RECORD_NOT_PUBLIC, as_json=True)
@streamed
def record_download(request: HttpRequest, election: Election) -> HttpResponseBase:
    try:
        chunks = record.stream_record(election)
    except services.ElectionError as error:
        return refusal(request, error.status_code, str(error), as_json=True)
    return _attachment(chunks, f"{election.slug}-record.json")


@require_safe
@never_cache
@election_view(Status.CLOSED, Status.PUBLISHED, refused=TALLY_NOT_YET, as_json=True)
def tally_download(request: HttpRequest, election: Election) -> HttpResponse:
    """The encrypted totals the trustees decrypt (``tally.json``)."""
    try:
        document = services.tally_document(election)
    except services.ElectionError as error:
        return refusal(request, error.status_code, str(error), as_json=True)
    response = HttpResponse(document, content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(
        True, f"{election.slug}-tally.json"
    )
    return response
