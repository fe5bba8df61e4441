"""How every page shows a moment: one filter, so times read the same everywhere.

``{{ moment|local_time }}`` gives ``<time datetime="2026-12-07T14:05:00Z">7 December
2026, 14:05 UTC</time>``: the moment in the current time zone (``TIME_ZONE`` unless a
request activates another), with the zone named so nobody has to guess it, and the
exact instant in UTC for machines. ``|local_time:"seconds"`` is for the times of
ballots (receipt, board, receipt check), which a voter compares to the second: its
``datetime`` is then the board's own spelling, to the millisecond.
"""

from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import pgettext_lazy

register = template.Library()

# Django date formats, month names in the active language; each language orders the
# parts its own way ("7 December 2026, 14:05", "7. Dezember 2026, 14:05").
SHOWN = {
    "minutes": pgettext_lazy("date and time format", "j F Y, H:i"),
    "seconds": pgettext_lazy("date and time format", "j F Y, H:i:s"),
}


@register.filter
def local_time(value: datetime | str | None, precision: str = "minutes") -> SafeString | str:
    """``value`` (an aware datetime, or an ISO 8601 string) as a ``<time>`` element.

    A naive datetime is taken to be in the default time zone, as Django does. An
    empty value gives ``""``; a string that is not a date and time is shown as it is
    rather than hidden, so a page never loses what it was given.
    """
    if precision not in SHOWN:
        raise template.TemplateSyntaxError(
            f"local_time takes 'minutes' or 'seconds', not {precision!r}."
        )
    if value is None or value == "":
        return ""
    moment = _parsed(value) if isinstance(value, str) else value
    if moment is None:
        return str(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    local = timezone.localtime(moment)
    shown = f"{date_format(local, str(SHOWN[precision]))} {local.tzname()}"
    return format_html('<time datetime="{}">{}</time>', iso_utc(moment, precision), shown)


def _parsed(value: str) -> datetime | None:
    try:
        return parse_datetime(value)
    except ValueError:  # well formed but impossible, such as a 31st of April
        return None


def iso_utc(moment: datetime, precision: str) -> str:
    """The instant in UTC, ``Z``-suffixed; to the millisecond for ``seconds`` precision."""
    utc = moment.astimezone(UTC)
    if precision == "seconds":
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


@register.filter
def in_minutes(value: timedelta | None) -> int:
    """A duration in whole minutes, rounded up (a pause of 90 seconds is "2 minutes")."""
    if value is None:
        return 0
    return -(-int(value.total_seconds()) // 60)
