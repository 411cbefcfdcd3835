from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from civicgrid.cases import services as cs
from civicgrid.core import clock
from civicgrid.core.testing import INSIDE

DAY1 = dt.date(2025, 3, 3)  # a Monday


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Local time on day 1, 2, 3 ... of the scenario."""
    d = DAY1 + dt.timedelta(days=day - 1)
    return timezone.make_aware(dt.datetime(d.year, d.month, d.day, hour, minute))


@pytest.fixture
def act(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Run a service at a given local time, then its committed events' tasks (as a worker would)."""

    def run(when: dt.datetime, fn: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True), clock.frozen(when):
            return fn(**kwargs)

    return run


def report(act, world, when, grid="G1", user="resident", **kw):
    lon, lat = INSIDE[grid]
    return act(
        when,
        cs.case_create,
        actor=world.user(user),
        category=kw.pop("category", "0101"),
        description="测试",
        lon=lon,
        lat=lat,
        **kw,
    ).case


@pytest.fixture
def scenario(world, act):
    """A mix of every action over three days, in three grids and two subdistricts."""
    u = world.user
    d = world.departments
    cases = {}
    # c1: the whole loop in G1, rated 5; reopened on day 2 and dispatched again.
    c1 = cases["c1"] = report(act, world, at(1, 9))
    act(at(1, 9, 10), cs.case_accept, case=c1, actor=u("dispatcher"))
    act(at(1, 9, 20), cs.case_dispatch, case=c1, lead=d["CG"], actor=u("dispatcher"))
    act(at(1, 10), cs.case_take, case=c1, actor=u("handler"))
    act(at(1, 11), cs.case_report_handled, case=c1, actor=u("handler"), note="ok")
    act(at(1, 12), cs.case_verify, case=c1, actor=u("inspector"), ok=True)
    act(at(1, 13), cs.case_close, case=c1, actor=u("dispatcher"))
    act(at(1, 14), cs.case_feedback, case=c1, actor=u("resident"), satisfaction=5)
    # c2: a 12345 call in G1: dispatched to the fire service, returned, sent to CG,
    # verification fails once, closed on day 2, rated 2.
    c2 = cases["c2"] = report(act, world, at(1, 8), user="operator", source="hotline")
    act(at(1, 8, 30), cs.case_accept, case=c2, actor=u("operator"))
    act(at(1, 9), cs.case_dispatch, case=c2, lead=d["XF"], actor=u("dispatcher"))
    act(at(1, 9, 30), cs.case_return, case=c2, actor=u("handler_fire"), reason="not ours")
    act(at(1, 10), cs.case_dispatch, case=c2, lead=d["CG"], actor=u("dispatcher"))
    act(at(1, 11), cs.case_take, case=c2, actor=u("handler"))
    act(at(1, 12), cs.case_report_handled, case=c2, actor=u("handler"), note="done")
    act(at(1, 15), cs.case_verify, case=c2, actor=u("inspector"), ok=False, note="still there")
    act(at(2, 9), cs.case_report_handled, case=c2, actor=u("handler"), note="done again")
    act(at(2, 10), cs.case_verify, case=c2, actor=u("inspector"), ok=True)
    act(at(2, 11), cs.case_close, case=c2, actor=u("operator"))
    act(at(2, 12), cs.case_feedback, case=c2, actor=u("operator"), satisfaction=2)
    # c3: rejected in G2.
    c3 = cases["c3"] = report(act, world, at(1, 10), grid="G2")
    act(at(1, 10, 5), cs.case_reject, case=c3, actor=u("dispatcher"), reason="dup")
    # c4: a 12345 call in G3 (the other subdistrict), answered within 23 h, extended, overdue.
    c4 = cases["c4"] = report(act, world, at(1, 16), grid="G3", user="operator", source="hotline")
    act(at(2, 15), cs.case_accept, case=c4, actor=u("dispatcher2"))
    act(at(2, 17, 5), cs.case_dispatch, case=c4, lead=d["CG"], actor=u("dispatcher2"))
    act(at(2, 18), cs.case_take, case=c4, actor=u("handler"))
    c4.refresh_from_db()
    act(
        at(2, 18, 30),
        cs.case_extend,
        case=c4,
        actor=u("dispatcher2"),
        until=c4.deadline + dt.timedelta(hours=2),
        reason="rain",
    )
    # c5: reported in G1, transferred to G3 and accepted there.
    c5 = cases["c5"] = report(act, world, at(2, 9), category="0102")
    act(at(2, 9, 30), cs.case_transfer, case=c5, actor=u("dispatcher"), grid_code="G3", reason="x")
    act(at(2, 10), cs.case_accept, case=c5, actor=u("dispatcher2"))
    # c6: fixed on the spot by the inspector.
    c6 = cases["c6"] = report(act, world, at(2, 11), user="inspector")
    act(at(2, 11, 10), cs.case_self_handle, case=c6, actor=u("inspector"), note="fixed")
    # c7 merged into c8; c8 stays reported.
    c8 = cases["c8"] = report(act, world, at(3, 9), user="resident2")
    c7 = cases["c7"] = report(act, world, at(3, 9, 5))
    act(at(3, 9, 30), cs.case_merge, case=c7, into=c8, actor=u("dispatcher"))
    # c1 is reopened on day 3 and dispatched to CG again.
    act(at(3, 10), cs.case_reopen, case=c1, actor=u("dispatcher"), reason="back again")
    act(at(3, 10, 30), cs.case_dispatch, case=c1, lead=d["CG"], actor=u("dispatcher"))
    # The deadline sweep on day 6 flags what is late (c4 and c1).
    act(at(6, 12), cs.case_sweep_deadlines)
    return cases
