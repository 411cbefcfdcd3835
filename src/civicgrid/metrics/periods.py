"""Periods: today, this month, this year or any range of days, cut into rollup rows.

A range is answered from month rows for its whole months and day rows for the rest; days
before the first or after the last day that holds any data count for nothing, so whole
months at the edges of the data can be taken whole; and when the rows outside the range are
fewer, the range is the all-time row minus them. A place's figures for any range thus cost a
few dozen rows at most, and the usual ones (today, this month, everything so far) one or two.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core import clock
from civicgrid.core.errors import ValidationFailed

from .models import ALL_TIME, Span

MAX_DAYS = 3 * 366 + 1
PERIODS = ("today", "yesterday", "month", "last_month", "year", "last30", "range")


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def rows(self, data: tuple[dt.date, dt.date] | None) -> list[tuple[str, dt.date, int]]:
        """(span, period, sign) of rollup rows whose signed sum is exactly this range's.

        `data` is the first and last day that hold any rows (None: there are none).
        """
        if data is None:
            return []
        start, end = data
        direct = _cover(self.first, self.last, start, end)
        if self.first <= start and self.last >= end:
            return [(Span.ALL, ALL_TIME, 1)]
        outside = [
            *_cover(start, self.first - dt.timedelta(days=1), start, end),
            *_cover(self.last + dt.timedelta(days=1), end, start, end),
        ]
        if len(outside) + 1 < len(direct):
            return [(Span.ALL, ALL_TIME, 1), *((s, p, -1) for s, p, _sign in outside)]
        return direct


def _cover(
    first: dt.date, last: dt.date, start: dt.date, end: dt.date
) -> list[tuple[str, dt.date, int]]:
    """Day and month rows adding up to [first, last], given data only in [start, end]."""
    lo, hi = max(first, start), min(last, end)
    out: list[tuple[str, dt.date, int]] = []
    day = lo
    while day <= hi:
        month_start = day.replace(day=1)
        month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        # The month row may stand in if the month's days outside the range hold nothing.
        before_empty = month_start >= first or start >= first or end < month_start
        after_empty = month_end <= last or end <= last or start > month_end
        if day in (month_start, lo) and before_empty and after_empty:
            out.append((Span.MONTH, month_start, 1))
            day = month_end + dt.timedelta(days=1)
        else:
            out.append((Span.DAY, day, 1))
            day += dt.timedelta(days=1)
    return out


def today() -> dt.date:
    return timezone.localdate(clock.now())


def period_from(
    name: str | None = "month", date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Period:
    """Resolve the API's period parameters; a bad one is a 422 naming the field."""
    now = today()
    name = name or ("range" if date_from or date_to else "month")
    if name == "range" or date_from or date_to:
        if date_from is None or date_to is None:
            raise ValidationFailed(
                _("Give both date_from and date_to for a range."),
                field="date_from" if date_from is None else "date_to",
            )
        if date_to < date_from:
            raise ValidationFailed(_("date_to is before date_from."), field="date_to")
        if (date_to - date_from).days + 1 > MAX_DAYS:
            raise ValidationFailed(
                _("A range may span at most %(n)d days.") % {"n": MAX_DAYS}, field="date_to"
            )
        return Period(date_from, date_to)
    if name == "today":
        return Period(now, now)
    if name == "yesterday":
        day = now - dt.timedelta(days=1)
        return Period(day, day)
    if name == "month":
        return Period(now.replace(day=1), now)
    if name == "last_month":
        last = now.replace(day=1) - dt.timedelta(days=1)
        return Period(last.replace(day=1), last)
    if name == "year":
        return Period(now.replace(month=1, day=1), now)
    if name == "last30":
        return Period(now - dt.timedelta(days=29), now)
    raise ValidationFailed(
        _("Unknown period '%(p)s'; use one of %(all)s.") % {"p": name, "all": ", ".join(PERIODS)},
        field="period",
    )
