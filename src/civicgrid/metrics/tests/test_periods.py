"""Periods cut into rollup rows whose signed sum is exactly the range; indicators as defined."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from civicgrid.core.errors import ValidationFailed
from civicgrid.metrics.counters import COUNTERS
from civicgrid.metrics.indicators import HOTLINE, INDICATORS, compute
from civicgrid.metrics.models import Span
from civicgrid.metrics.periods import Period, period_from


def _signed_sum(rows, per_day):
    total = 0
    for span, start, sign in rows:
        if span == Span.DAY:
            days = [start]
        elif span == Span.MONTH:
            days = [d for d in per_day if (d.year, d.month) == (start.year, start.month)]
        else:
            days = list(per_day)
        total += sign * sum(per_day.get(d, 0) for d in days)
    return total


def test_every_range_adds_up_to_its_days_exactly():
    rng = random.Random(5)
    for _ in range(400):
        start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 400))
        end = start + dt.timedelta(days=rng.randint(0, 500))
        per_day = {
            start + dt.timedelta(days=i): rng.randint(0, 9) for i in range((end - start).days + 1)
        }
        first = dt.date(2023, 11, 1) + dt.timedelta(days=rng.randint(0, 1000))
        last = first + dt.timedelta(days=rng.randint(0, 600))
        rows = Period(first, last).rows((start, end))
        expected = sum(v for d, v in per_day.items() if first <= d <= last)
        assert _signed_sum(rows, per_day) == expected, (first, last, start, end)
        assert len(rows) <= 2 * 31 + 24 + 1


def test_the_usual_periods_cost_one_or_two_rows():
    data = (dt.date(2025, 1, 10), dt.date(2025, 11, 20))
    assert Period(dt.date(2025, 11, 1), dt.date(2025, 11, 20)).rows(data) == [
        (Span.MONTH, dt.date(2025, 11, 1), 1)
    ]
    assert Period(dt.date(2024, 11, 20), dt.date(2025, 11, 20)).rows(data) == [
        (Span.ALL, dt.date(1970, 1, 1), 1)
    ]
    assert Period(dt.date(2025, 1, 10), dt.date(2025, 11, 19)).rows(data) == [
        (Span.ALL, dt.date(1970, 1, 1), 1),
        (Span.DAY, dt.date(2025, 11, 20), -1),
    ]
    assert Period(dt.date(2025, 3, 1), dt.date(2025, 3, 1)).rows(None) == []


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("range", dt.date(2025, 3, 9), None), "date_to"),
        (("range", None, dt.date(2025, 3, 9)), "date_from"),
        ((None, dt.date(2025, 3, 9), dt.date(2025, 3, 1)), "date_to"),
        (("decade", None, None), "period"),
    ],
)
def test_bad_periods_name_the_field(args, field):
    with pytest.raises(ValidationFailed) as exc:
        period_from(*args)
    assert exc.value.field == field


def test_the_unrolled_indicators_compute_what_each_indicator_says():
    rng = random.Random(3)
    for _ in range(300):
        counts = {c: rng.choice([0, 0, 1, 2, 7, 1000, 123456]) for c in COUNTERS}
        for which in (INDICATORS, HOTLINE):
            assert compute(counts, which) == {i.name: i.compute(counts) for i in which}
