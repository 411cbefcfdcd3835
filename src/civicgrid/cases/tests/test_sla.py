"""Deadlines in working hours honour Chinese holidays and the weekend days worked in their place."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from civicgrid.cases import sla
from civicgrid.cases.models import HourType, SlaPolicy, Urgency

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=0, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=SH)


def test_calendar_hours_are_plain_hours():
    assert sla.add_hours(at(2025, 10, 1, 10), 4, HourType.CALENDAR) == at(2025, 10, 1, 14)


def test_working_hours_skip_the_night_and_the_weekend():
    # Friday 2025-03-14 16:00 + 3 working hours (09:00-17:00): 1 h on Friday, 2 h on Monday.
    assert sla.add_working_hours(at(2025, 3, 14, 16), 3) == at(2025, 3, 17, 11)


def test_working_hours_skip_the_national_day_holiday():
    # 2025-10-01..08 are holidays; 2025-09-28 (Sunday) and 2025-10-11 (Saturday) are worked.
    assert not sla.is_workday(dt.date(2025, 10, 3))
    assert sla.is_workday(dt.date(2025, 9, 28))
    assert sla.is_workday(dt.date(2025, 10, 11))
    # Tuesday 2025-09-30 16:00 + 2 h: 1 h that day, then the next working day is 2025-10-09.
    assert sla.add_working_hours(at(2025, 9, 30, 16), 2) == at(2025, 10, 9, 10)


def test_a_weekend_day_worked_in_lieu_counts():
    # Saturday 2025-09-27 is a normal weekend; Sunday 2025-09-28 is worked in lieu.
    assert sla.add_working_hours(at(2025, 9, 27, 10), 1) == at(2025, 9, 28, 10)


def test_a_start_before_opening_time_begins_at_opening():
    assert sla.add_working_hours(at(2025, 3, 12, 6), 1) == at(2025, 3, 12, 10)


def test_working_hours_between_is_the_inverse():
    start = at(2025, 9, 30, 16)
    end = sla.add_working_hours(start, 10)
    assert sla.working_hours_between(start, end) == pytest.approx(10)


def test_a_year_without_holiday_data_falls_back_to_weekdays():
    assert sla.is_workday(dt.date(2099, 1, 1)) is True  # a Thursday
    assert sla.is_workday(dt.date(2099, 1, 3)) is False  # a Saturday


def test_the_most_specific_policy_wins(world):
    garbage, major = world.categories["garbage"], world.categories["major"]
    assert sla.policy_for(garbage, Urgency.NORMAL).category_id is None
    SlaPolicy.objects.create(
        category=major, urgency=Urgency.NORMAL, hours=16, hour_type=HourType.WORKING
    )
    assert sla.policy_for(garbage, Urgency.NORMAL).hours == 16
    SlaPolicy.objects.create(
        category=garbage, urgency=Urgency.NORMAL, hours=8, hour_type=HourType.WORKING
    )
    assert sla.policy_for(garbage, Urgency.NORMAL).hours == 8


def test_no_policy_at_all_is_a_lookup_error(db):
    from civicgrid.cases.models import Category

    cat = Category.objects.create(code="99", name="x", kind="event")
    with pytest.raises(sla.NoSlaPolicy):
        sla.policy_for(cat, Urgency.NORMAL)
