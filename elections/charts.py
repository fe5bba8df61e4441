"""Geometry of the results bar chart, drawn as inline SVG by a template.

The chart is computed on the server so it needs no script (the CSP forbids
inline ones) and shows the same numbers as the table next to it. Bars are
scaled to the share of ballots, so a bar's length reads as a percentage.
"""

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 400
ROW_HEIGHT = 46
BAR_HEIGHT = 18
LABEL_HEIGHT = 18
# Room right of the bar tracks for the figures.
VALUE_SPACE = 120
TOP = 4


@dataclass(frozen=True)
class Bar:
    label: str
    votes: int
    percent: float
    label_y: int
    bar_y: int
    bar_width: float
    value_x: float
    value_y: int


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bar_height: int
    # The full length a bar would have at 100%, drawn behind each bar as its track.
    track_width: int
    bars: list[Bar]


def percent(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, 0 when there is nothing to divide."""
    return 100.0 * part / whole if whole else 0.0


def bar_chart(rows: Sequence[tuple[str, int]], *, ballots: int) -> BarChart:
    """Lay out one horizontal bar per ``(label, votes)`` row, in the given order."""
    usable = WIDTH - VALUE_SPACE
    bars = []
    for index, (label, votes) in enumerate(rows):
        share = percent(votes, ballots)
        top = TOP + index * ROW_HEIGHT
        width = round(usable * share / 100.0, 2)
        bars.append(
            Bar(
                label=label,
                votes=votes,
                percent=share,
                label_y=top + LABEL_HEIGHT - 4,
                bar_y=top + LABEL_HEIGHT,
                bar_width=width,
                value_x=usable + 6,
                value_y=top + LABEL_HEIGHT + BAR_HEIGHT - 4,
            )
        )
    return BarChart(
        width=WIDTH,
        height=TOP * 2 + ROW_HEIGHT * max(len(rows), 1),
        bar_height=BAR_HEIGHT,
        track_width=usable,
        bars=bars,
    )
