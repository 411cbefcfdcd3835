"""Rollups equal the naive GROUP BY over cases, after every kind of action, on both databases."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils.module_loading import import_string

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.core import clock, scheduler
from civicgrid.metrics.models import CaseContribution, Rollup
from civicgrid.metrics.periods import Period
from civicgrid.metrics.rebuild import rollup_rebuild
from civicgrid.metrics.reconcile import rollup_reconcile
from civicgrid.metrics.selectors import figures, metrics_target, ranking
from civicgrid.metrics.services import rollup_apply_event
from civicgrid.metrics.sums import extent
from civicgrid.metrics.tasks import reconcile_rollups

from .conftest import DAY1, at, report
from .naive import naive, naive_now

DAYS = [
    Period(DAY1, DAY1),
    Period(DAY1 + dt.timedelta(days=1), DAY1 + dt.timedelta(days=1)),
    Period(DAY1 + dt.timedelta(days=2), DAY1 + dt.timedelta(days=2)),
    Period(DAY1, DAY1 + dt.timedelta(days=6)),
    Period(dt.date(2025, 3, 1), dt.date(2025, 3, 31)),  # a whole month: the month row
    Period(dt.date(2025, 2, 20), dt.date(2025, 4, 10)),  # days + a month + days
]


def _figures(world, user, period, **where):
    with clock.frozen(at(7, 12)):
        return figures(target=metrics_target(user=world.user(user), **where), period=period)


@pytest.mark.parametrize("period", DAYS, ids=lambda p: f"{p.first}-{p.last}")
def test_rollup_figures_equal_the_naive_group_by_everywhere(world, scenario, period):
    cases = Case.objects.all()
    where = {
        ("ops", ()): cases,
        ("dispatcher", ()): cases.filter(region_path__startswith=world.regions["S1"].path),
        ("dispatcher2", ()): cases.filter(region_path__startswith=world.regions["S2"].path),
        ("ops", ("grid", "G1")): cases.filter(management_grid__code="G1"),
        ("ops", ("grid", "G3")): cases.filter(management_grid__code="G3"),
        ("ops", ("region", "310104001002")): cases.filter(management_grid__code="G2"),
    }
    for (user, target), qs in where.items():
        got = _figures(world, user, period, **dict([target] if target else []))
        assert got["counters"] == naive(qs, period.first, period.last), (user, target)
        assert got["hotline"]["counters"] == naive(
            qs.filter(source="hotline"), period.first, period.last
        )
        assert got["now"] == naive_now(qs)


def test_ranges_read_as_all_time_less_the_days_outside_equal_the_naive_group_by(
    world, scenario, act
):
    # One more case on day 12: the data now spans twelve days, so most ranges inside it are
    # answered as the all-time row less the few days outside, or as many day rows summed.
    report(act, world, at(12, 9), grid="G3")
    span = (DAY1, DAY1 + dt.timedelta(days=11))
    ranges = [
        Period(span[0] + dt.timedelta(days=1), span[1]),  # all time less day 1
        Period(span[0], span[1] - dt.timedelta(days=1)),  # all time less day 12
        Period(span[0], span[0] + dt.timedelta(days=1)),  # two day rows
        Period(span[0] + dt.timedelta(days=1), span[0] + dt.timedelta(days=5)),  # five
    ]
    plans = [[(s, sign) for s, _p, sign in p.rows(extent())] for p in ranges]
    assert plans == [
        [("a", 1), ("d", -1)],
        [("a", 1), ("d", -1)],
        [("d", 1)] * 2,
        [("d", 1)] * 5,
    ]
    cases = Case.objects.all()
    for period in ranges:
        got = _figures(world, "ops", period)
        assert got["counters"] == naive(cases, period.first, period.last), period
        assert got["now"] == naive_now(cases)
        with clock.frozen(at(12, 12)):
            target = metrics_target(user=world.user("ops"))
            rows = {r["code"]: r for r in ranking(target=target, by="grid", period=period)}
        for code in ("G1", "G2", "G3"):
            expected = naive(cases.filter(management_grid__code=code), period.first, period.last)
            assert rows.get(code, {}).get("counters", dict.fromkeys(expected, 0)) == expected


def test_the_scenario_reads_as_intended(world, scenario):
    """Spot checks in words, so a wrong naive helper cannot hide a wrong definition."""
    week = _figures(world, "ops", DAYS[3])
    c = week["counters"]
    assert c["reported"] == 8 and c["rejected"] == 1
    assert c["dispatches"] == 5 and c["returns"] == 1  # c1 twice, c2 twice, c4 once
    # c1 keeps its 5 although reopened: the latest feedback counts; c2 was rated 2.
    assert c["verify_failures"] == 1 and c["rated"] == 2 and c["satisfied"] == 1
    assert week["indicators"]["dispatch_accuracy"] == 0.8
    assert week["hotline"]["counters"]["responded"] == 2  # c2 at once, c4 within 24 h
    # c5 moved to G3 with everything it counted.
    g3 = _figures(world, "ops", DAYS[3], grid="G3")["counters"]
    assert g3["reported"] == 2 and g3["accepted"] == 2


def test_rankings_equal_the_naive_group_by(world, scenario):
    period = DAYS[3]
    with clock.frozen(at(7, 12)):
        target = metrics_target(user=world.user("ops"))
        grids = {r["code"]: r for r in ranking(target=target, by="grid", period=period)}
        subs = {r["code"]: r for r in ranking(target=target, by="subdistrict", period=period)}
        depts = {r["code"]: r for r in ranking(target=target, by="department", period=period)}
    for code in ("G1", "G2", "G3"):
        qs = Case.objects.filter(management_grid__code=code)
        assert grids[code]["counters"] == naive(qs, period.first, period.last)
    for key in ("S1", "S2"):
        r = world.regions[key]
        qs = Case.objects.filter(region_path__startswith=r.path)
        assert subs[r.code]["counters"] == naive(qs, period.first, period.last)
    for code in ("CG", "XF"):
        dept = world.departments[code].pk
        assert depts[code]["counters"] == naive(
            Case.objects.all(), period.first, period.last, department=dept
        )
    assert depts["XF"]["counters"]["returns"] == 1 and depts["CG"]["counters"]["returns"] == 0


def test_processing_the_same_event_twice_counts_once(world, scenario):
    before = list(Rollup.objects.order_by("pk").values())
    contributions = list(CaseContribution.objects.order_by("case_id", "day").values())
    for event_id in CaseEvent.objects.values_list("pk", flat=True):
        rollup_apply_event(event_id=event_id)
        rollup_apply_event(event_id=event_id)
    assert list(Rollup.objects.order_by("pk").values()) == before
    assert list(CaseContribution.objects.order_by("case_id", "day").values()) == contributions


def test_rebuild_gives_the_same_rollups_as_the_incremental_updates(world, scenario):
    def snapshot():
        return {
            (r["span"], r["period"], r["node"], r["dim"], r["key"]): {
                k: v
                for k, v in r.items()
                if k not in ("id", "span", "period", "node", "dim", "key")
            }
            for r in Rollup.objects.values()
            if any(
                v
                for k, v in r.items()
                if k not in ("id", "span", "period", "node", "level", "dim", "key")
            )
        }

    incremental = snapshot()
    stats = rollup_rebuild()
    assert stats["contributions"] == CaseContribution.objects.count() > 0
    assert snapshot() == incremental


def test_reconcile_repairs_a_change_made_without_an_event(world, scenario):
    c4 = scenario["c4"]
    period = DAYS[3]
    assert _figures(world, "ops", period)["now"]["overdue"] == 3  # c1, c4 and c8
    # As the deadline sweep does when a deadline moves: the flag changes, no event is written.
    Case.objects.filter(pk=c4.pk).update(overdue=False)
    assert _figures(world, "ops", period)["now"]["overdue"] == 3  # stale until reconciled
    with clock.frozen(at(7, 12)):
        result = rollup_reconcile()
    assert result.cases_fixed == 1 and result.rows_fixed == 0
    got = _figures(world, "ops", period)
    assert got["now"] == naive_now(Case.objects.all()) == {"open": 4, "overdue": 2}
    assert got["counters"] == naive(Case.objects.all(), period.first, period.last)
    with clock.frozen(at(7, 12)):
        assert rollup_reconcile().cases_fixed == 0


def test_reconcile_repairs_rollup_rows_that_drifted(world, scenario):
    period = DAYS[3]
    expected = _figures(world, "ops", period)
    row = Rollup.objects.filter(span="d", period=DAY1, node=world.regions["D"].path, dim="").get()
    Rollup.objects.filter(pk=row.pk).update(reported=row.reported + 5)
    with clock.frozen(at(3, 12)):
        result = rollup_reconcile(hours=72)
    assert result.rows_fixed == 1
    assert _figures(world, "ops", period) == expected


@pytest.mark.parametrize("span", ["m", "a"])
def test_reconcile_repairs_month_and_all_time_rows_on_their_own(world, scenario, span):
    period = DAYS[4]
    expected = _figures(world, "ops", period)
    row = Rollup.objects.filter(span=span, node=world.regions["S1"].path, dim="").first()
    Rollup.objects.filter(pk=row.pk).update(closed=row.closed + 3, open=row.open - 1)
    with clock.frozen(at(3, 12)):
        assert rollup_reconcile(hours=72).rows_fixed == 1
    assert _figures(world, "ops", period) == expected
    assert Rollup.objects.get(pk=row.pk).closed == row.closed


def test_the_commands_rebuild_and_reconcile(world, scenario):
    out = io.StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert str(CaseContribution.objects.count()) in out.getvalue()
    period = DAYS[3]
    assert _figures(world, "ops", period)["counters"] == naive(
        Case.objects.all(), period.first, period.last
    )
    out = io.StringIO()
    with clock.frozen(at(7, 12)):
        call_command("rebuild_rollups", "--reconcile", "--hours", "200", stdout=out)
    assert out.getvalue().strip()


def test_the_reconcile_job_is_scheduled():
    jobs = {j.name: j for j in scheduler.jobs()}
    assert jobs["reconcile_rollups"].task_path == "civicgrid.metrics.tasks.reconcile_rollups"
    assert import_string(jobs["reconcile_rollups"].task_path) is reconcile_rollups
