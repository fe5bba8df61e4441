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
from functools import wraps
from typing import Any, cast

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
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
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import board, record, services
from .crypto.encoding import int_to_hex
from .decorators import ElectionView, election_view, refusal
from .models import Ballot, Election, Status

# The board exists from the opening on; a draft has none (and stays a 404).
BOARD_PHASES = (Status.OPEN, Status.CLOSED, Status.PUBLISHED)
BALLOTS_PER_PAGE = 100
TRACKER_LENGTH = 64
# Eight hex digits are 32 bits: short enough to read out, long enough to find one ballot.
SHORTEST_PREFIX = 8
NO_BOARD = gettext_lazy("This election has no ballot board yet.")
RECORD_NOT_PUBLIC = gettext_lazy("The election record is published together with the results.")
TALLY_NOT_YET = gettext_lazy("The encrypted totals are published once the election is closed.")

_HEX = re.compile(r"[0-9a-f]*")

BoardView = Callable[[HttpRequest, Election, "record.PublicBoard"], HttpResponse]


class TrackerForm(forms.Form):
    """A whole tracker, typed or pasted: case and spaces (from a wrapped line) do not matter."""

    shortest = TRACKER_LENGTH
    tracker = forms.CharField(
        label=gettext_lazy("Tracker"),
        max_length=200,
        help_text=gettext_lazy("The 64 characters (0-9 and a-f) shown on your receipt."),
        widget=forms.TextInput(
            attrs={"class": "mono", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def clean_tracker(self) -> str:
        value = "".join(self.cleaned_data["tracker"].split()).lower()
        if not _HEX.fullmatch(value):
            raise forms.ValidationError(
                gettext("A tracker has only the digits 0-9 and the letters a-f.")
            )
        if not self.shortest <= len(value) <= TRACKER_LENGTH:
            raise forms.ValidationError(self.length_message(len(value)))
        return value

    def length_message(self, length: int) -> str:
        return gettext("A tracker has %(length)d characters; this has %(given)d.") % {
            "length": TRACKER_LENGTH,
            "given": length,
        }


class TrackerSearchForm(TrackerForm):
    """The board's search box: a whole tracker or its beginning."""

    shortest = SHORTEST_PREFIX
    tracker = forms.CharField(
        label=gettext_lazy("Find a ballot by its tracker"),
        max_length=200,
        required=False,
        help_text=format_lazy(
            gettext_lazy("The whole tracker or its first {shortest} characters or more."),
            shortest=SHORTEST_PREFIX,
        ),
        widget=forms.SearchInput(
            attrs={"class": "mono", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def clean_tracker(self) -> str:
        if not self.cleaned_data["tracker"].strip():
            return ""
        return super().clean_tracker()

    def length_message(self, length: int) -> str:
        return gettext(
            "Enter between %(shortest)d and %(longest)d characters of the tracker; "
            "this has %(given)d."
        ) % {"shortest": SHORTEST_PREFIX, "longest": TRACKER_LENGTH, "given": length}


@dataclass(frozen=True)
class BoardRow:
    box: int
    sequence: int
    tracker: str
    cast_at: str
    chain_hash: str
    page: int
    # With several boxes a ballot is named by its box as well as its number.
    boxes: bool = False
    # Revoting: the number of the same voter's ballot that replaced this one.
    replaced_by: int | None = None

    @property
    def anchor(self) -> str:
        return f"ballot-{self.box}-{self.sequence}" if self.boxes else f"ballot-{self.sequence}"

    @property
    def label(self) -> str:
        return f"{self.box}.{self.sequence}" if self.boxes else str(self.sequence)


ROW_FIELDS = ("box", "sequence", "tracker", "cast_at", "chain_hash", "voter_id", "revision")


def board_page_of(ballots: QuerySet[Ballot], box: int, sequence: int) -> int:
    """The page of the full board listing (box by box, in order) that shows this ballot."""
    before = ballots.filter(Q(box__lt=box) | Q(box=box, sequence__lt=sequence)).count()
    return before // BALLOTS_PER_PAGE + 1


def board_entry_url(election: Election, ballot: Ballot) -> str:
    ballots = record.public_board(election).ballots
    page = board_page_of(ballots, ballot.box, ballot.sequence)
    board_url = reverse("elections:board", kwargs={"slug": election.slug})
    anchor = BoardRow(ballot.box, ballot.sequence, "", "", "", page, election.ballot_boxes > 1)
    return f"{board_url}?page={page}#{anchor.anchor}"


def _rows(
    values: Iterable[tuple[Any, ...]],
    public: record.PublicBoard,
    listing_page: int | None,
) -> list[BoardRow]:
    """Rows for display; without ``listing_page`` (a search) each looks its page up."""
    values = list(values)
    replacing = public.replacements({row[5] for row in values})
    multiple = len(public.tallies) > 1
    return [
        BoardRow(
            box,
            sequence,
            tracker,
            board.format_cast_at(cast_at),
            chain_hash,
            listing_page or board_page_of(public.ballots, box, sequence),
            multiple,
            replacing.get((voter, revision)),
        )
        for box, sequence, tracker, cast_at, chain_hash, voter, revision in values
    ]


def with_board(view: BoardView) -> ElectionView:
    """Pass the view the public board (running tallies and ballots) of the election.

    An election past its draft always has a board; one without is refused (409)
    rather than shown empty.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, election: Election) -> HttpResponse:
        try:
            public = record.public_board(election)
        except services.ElectionError:
            return refusal(request, 409, NO_BOARD, as_json=False)
        return view(request, election, public)

    return wrapped


@require_safe
@election_view(*BOARD_PHASES, refused=NO_BOARD)
@with_board
def board_page(
    request: HttpRequest, election: Election, public: record.PublicBoard
) -> HttpResponse:
    form = TrackerSearchForm(request.GET)
    searched = form.cleaned_data["tracker"] if form.is_valid() else ""
    ballots = public.ballots
    if form.errors:
        listed = ballots.none()
    elif searched:
        # A range rather than LIKE, so the index on the tracker serves it on every database.
        listed = ballots.filter(tracker__gte=searched, tracker__lt=searched + "g")
    else:
        listed = ballots
    values = listed.order_by("box", "sequence").values_list(*ROW_FIELDS)
    page = Paginator(values, BALLOTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "election": election,
        "head_hash": public.head,
        "box_heads": public.tallies if len(public.tallies) > 1 else [],
        "ballot_count": ballots.count(),
        "form": form,
        "searched": searched,
        "page": page,
        # A search result links to the page of the full listing where the ballot sits.
        "rows": _rows(page.object_list, public, None if searched else page.number),
    }
    return render(request, "elections/board.html", context, status=400 if form.errors else 200)


@require_safe
@election_view(*BOARD_PHASES, refused=NO_BOARD)
@with_board
def check_receipt(
    request: HttpRequest, election: Election, public: record.PublicBoard
) -> HttpResponse:
    form = TrackerForm(request.GET or None)
    context: dict[str, Any] = {"election": election, "form": form}
    if not form.is_bound:
        return render(request, "elections/check.html", context)
    if not form.is_valid():
        return render(request, "elections/check.html", context, status=400)
    tracker = form.cleaned_data["tracker"]
    found = _found(public, tracker)
    context.update(tracker=tracker, found=found)
    return render(request, "elections/check.html", context)


def _found(public: record.PublicBoard, tracker: str) -> BoardRow | None:
    values = public.ballots.filter(tracker=tracker).values_list(*ROW_FIELDS)
    rows = _rows(values, public, None)
    return rows[0] if rows else None


@require_safe
@never_cache
@election_view(*BOARD_PHASES, refused=NO_BOARD, as_json=True)
@with_board
def check_tracker_json(
    request: HttpRequest, election: Election, public: record.PublicBoard
) -> HttpResponse:
    """Where a tracker is on the board, as JSON: what the booth compares after a cast."""
    form = TrackerForm(request.GET)
    if not form.is_valid():
        message = gettext("Give a tracker: 64 hexadecimal digits.")
        return refusal(request, 400, message, as_json=True)
    tracker = form.cleaned_data["tracker"]
    row = _found(public, tracker)
    if row is None:
        return JsonResponse({"tracker": tracker, "found": False})
    return JsonResponse(
        {
            "tracker": tracker,
            "found": True,
            "box": row.box,
            "sequence": row.sequence,
            "cast_at": row.cast_at,
            "chain_hash": row.chain_hash,
            "replaced_by": row.replaced_by,
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
        public = record.public_board(election)
    except services.ElectionError:
        return refusal(request, 409, NO_BOARD, as_json=True)
    header = {
        "id": str(election.id),
        "slug": election.slug,
        "title": election.title,
        "status": election.status,
        "ballot_count": int_to_hex(public.ballots.count()),
    }
    chain = {"head": public.head, "closing": election.closing_hash or None}
    chunks = record.render_board(header, chain, record.board_entries(public))
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
