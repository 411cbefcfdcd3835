"""Handling deadlines from SLA policies, in calendar hours or Chinese working hours.

Working hours count only the working window (settings WORKDAY_START/END, local time) of
working days; the `chinesecalendar` package knows the public holidays and the weekend days
worked in their place. For a year it does not know yet, weekends are the only days off.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings

from .models import Category, HourType, SlaPolicy

log = logging.getLogger(__name__)


class NoSlaPolicy(LookupError):
    pass


def policy_for(category: Category, urgency: str) -> SlaPolicy:
    """The most specific policy: the minor class, then its major class, then the default."""
    candidates = [category.pk, category.parent_id, None]
    policies = {
        p.category_id: p
        for p in SlaPolicy.objects.filter(urgency=urgency).filter(
            category_id__in=[c for c in candidates if c is not None]
        )
        | SlaPolicy.objects.filter(urgency=urgency, category__isnull=True)
    }
    for key in candidates:
        if key in policies:
            return policies[key]
    raise NoSlaPolicy(f"No SLA policy for {category.code} / {urgency}")


@lru_cache(maxsize=4096)
def is_workday(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        log.warning("No holiday data for %s; counting weekdays as working days", day.year)
        return day.weekday() < 5


def _window() -> tuple[dt.time, dt.time]:
    start = dt.time.fromisoformat(str(settings.CIVICGRID["WORKDAY_START"]))
    end = dt.time.fromisoformat(str(settings.CIVICGRID["WORKDAY_END"]))
    return start, end


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """`start` plus `hours` of working time, in the deployment's time zone."""
    tz = ZoneInfo(settings.TIME_ZONE)
    local = start.astimezone(tz)
    open_t, close_t = _window()
    remaining = dt.timedelta(hours=hours)
    day = local.date()
    cursor = local
    for _ in range(3660):  # ten years of days: a policy longer than that is a typo
        if is_workday(day):
            day_open = dt.datetime.combine(day, open_t, tz)
            day_close = dt.datetime.combine(day, close_t, tz)
            begin = max(cursor, day_open)
            if begin < day_close:
                available = day_close - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += dt.timedelta(days=1)
        cursor = dt.datetime.combine(day, dt.time(0), tz)
    raise ValueError("SLA deadline is more than ten years away")


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """Working hours from `start` to `end` (0 when end is not after start)."""
    if end <= start:
        return 0.0
    tz = ZoneInfo(settings.TIME_ZONE)
    open_t, close_t = _window()
    a, b = start.astimezone(tz), end.astimezone(tz)
    total = dt.timedelta()
    day = a.date()
    while day <= b.date():
        if is_workday(day):
            lo = max(a, dt.datetime.combine(day, open_t, tz))
            hi = min(b, dt.datetime.combine(day, close_t, tz))
            if hi > lo:
                total += hi - lo
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600


def deadline_for(
    *, category: Category, urgency: str, start: dt.datetime
) -> tuple[dt.datetime, SlaPolicy]:
    policy = policy_for(category, urgency)
    return add_hours(start, policy.hours, policy.hour_type), policy


def add_hours(start: dt.datetime, hours: float, hour_type: str) -> dt.datetime:
    if hour_type == HourType.WORKING:
        return add_working_hours(start, hours)
    return start + dt.timedelta(hours=hours)
