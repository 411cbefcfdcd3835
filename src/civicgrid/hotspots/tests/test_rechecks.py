"""Re-inspection plans: who may make them, the tasks they generate, results and misses."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError
from django.utils import timezone

from civicgrid.audit.models import AuditEntry
from civicgrid.cases.models import Case
from civicgrid.core import clock
from civicgrid.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from civicgrid.hotspots.models import (
    HotspotStatus,
    PlanStatus,
    RecheckPlan,
    RecheckTask,
    TaskStatus,
)
from civicgrid.hotspots.services import (
    recheck_plan_create,
    recheck_task_flag_missed,
    recheck_task_record,
)
from civicgrid.notify.models import Notification

TODAY = timezone.localdate()


def plan(world, hotspot, *, actor="head", frequency="daily", weeks=1, inspectors=None, **kw):
    return recheck_plan_create(
        hotspot=hotspot,
        frequency=frequency,
        weeks=weeks,
        inspectors=inspectors or [world.user("inspector")],
        actor=world.user(actor),
        **kw,
    )


def test_a_daily_plan_makes_one_task_a_day_shared_by_the_inspectors_in_turn(
    world, hotspot, inspector_b
):
    p = plan(world, hotspot, weeks=2, inspectors=[world.user("inspector"), inspector_b])
    tasks = list(p.tasks.order_by("due_on"))
    assert len(tasks) == 14 and p.status == PlanStatus.ACTIVE
    assert [t.due_on for t in tasks] == [TODAY + dt.timedelta(days=i) for i in range(14)]
    assert [t.inspector.username for t in tasks[:3]] == ["inspector", "inspector_b", "inspector"]
    assert (p.starts_on, p.ends_on) == (TODAY, TODAY + dt.timedelta(days=13))
    assert p.grid == hotspot.grid and p.created_by == world.user("head")
    assert AuditEntry.objects.filter(action="recheck_plan.create", object_id=str(p.pk)).exists()


def test_a_weekly_plan_makes_one_task_a_week(world, hotspot):
    start = TODAY + dt.timedelta(days=2)
    p = plan(world, hotspot, actor="dispatcher", frequency="weekly", weeks=3, starts_on=start)
    assert list(p.tasks.values_list("due_on", flat=True)) == [
        start,
        start + dt.timedelta(days=7),
        start + dt.timedelta(days=14),
    ]


@pytest.mark.parametrize("actor", ["inspector", "operator", "handler", "ops"])
def test_only_station_heads_and_dispatchers_may_plan(world, hotspot, actor):
    with pytest.raises(NotAllowed):
        plan(world, hotspot, actor=actor)
    assert not RecheckPlan.objects.exists()


def test_a_planner_of_another_jurisdiction_does_not_see_the_hot_spot(world, hotspot):
    for actor in ("head2", "dispatcher2"):
        with pytest.raises(NotFound):
            plan(world, hotspot, actor=actor)
    assert not RecheckPlan.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"frequency": "monthly"}, "frequency"),
        ({"weeks": 0}, "weeks"),
        ({"weeks": 53}, "weeks"),
        ({"starts_on": TODAY - dt.timedelta(days=1)}, "starts_on"),
        ({"inspectors": ["inspector3"]}, "inspectors"),  # patrols G3, not G1
        ({"inspectors": ["handler"]}, "inspectors"),  # not an inspector at all
    ],
)
def test_bad_plans_are_refused_by_field_and_write_nothing(world, hotspot, kwargs, field):
    if "inspectors" in kwargs:
        kwargs["inspectors"] = [world.user(u) for u in kwargs["inspectors"]]
    with pytest.raises(ValidationFailed) as exc:
        plan(world, hotspot, **kwargs)
    assert exc.value.field == field
    assert not RecheckPlan.objects.exists() and not RecheckTask.objects.exists()


def test_a_hot_spot_has_one_active_plan_and_a_faded_one_none(world, hotspot):
    plan(world, hotspot)
    with pytest.raises(Conflict):
        plan(world, hotspot, actor="dispatcher")
    with pytest.raises(IntegrityError):  # the database holds the rule too
        RecheckPlan.objects.create(
            hotspot=hotspot,
            frequency="daily",
            weeks=1,
            starts_on=TODAY,
            ends_on=TODAY,
            grid=hotspot.grid,
            region_path=hotspot.region_path,
            created_at=clock.now(),
        )


def test_a_faded_hot_spot_cannot_get_a_plan(world, hotspot):
    type(hotspot).objects.filter(pk=hotspot.pk).update(status=HotspotStatus.FADED)
    with pytest.raises(Conflict):
        plan(world, hotspot)


def test_the_inspector_records_a_good_result_once(world, hotspot):
    task = plan(world, hotspot).tasks.get(due_on=TODAY)
    task = recheck_task_record(task=task, ok=True, note="干净", actor=world.user("inspector"))
    assert (task.status, task.ok, task.case) == (TaskStatus.DONE, True, None)
    assert task.recorded_at is not None
    with pytest.raises(Conflict):
        recheck_task_record(task=task, ok=True, note="", actor=world.user("inspector"))


def test_a_failed_check_files_a_patrol_case_at_the_hot_spot(world, hotspot):
    task = plan(world, hotspot).tasks.get(due_on=TODAY)
    before = Case.objects.count()
    task = recheck_task_record(
        task=task, ok=False, note="又有垃圾堆放", actor=world.user("inspector")
    )
    assert Case.objects.count() == before + 1
    case = task.case
    assert (case.source, case.category_id, case.reporter) == (
        "patrol",
        hotspot.category_id,
        world.user("inspector"),
    )
    assert case.management_grid.code == "G1" and case.description == "又有垃圾堆放"
    assert case.extra == {"recheck_task": task.pk, "hotspot": hotspot.pk}
    assert AuditEntry.objects.filter(action="recheck_task.record", object_id=str(task.pk)).exists()


def test_a_failed_check_needs_a_note_and_writes_nothing_without_it(world, hotspot):
    task = plan(world, hotspot).tasks.get(due_on=TODAY)
    with pytest.raises(ValidationFailed) as exc:
        recheck_task_record(task=task, ok=False, note=" ", actor=world.user("inspector"))
    assert exc.value.field == "note"
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING and task.case is None


def test_only_the_assigned_inspector_records_and_not_before_the_day(world, hotspot, inspector_b):
    p = plan(world, hotspot, inspectors=[world.user("inspector"), inspector_b])
    today, tomorrow = p.tasks.order_by("due_on")[:2]
    for actor in (inspector_b, world.user("head")):
        with pytest.raises(NotAllowed):
            recheck_task_record(task=today, ok=True, note="", actor=actor)
    with pytest.raises(Conflict) as exc:
        recheck_task_record(task=tomorrow, ok=True, note="", actor=inspector_b)
    assert exc.value.field == "due_on"
    assert not RecheckTask.objects.exclude(status=TaskStatus.PENDING).exists()


def test_misses_are_flagged_once_and_the_planner_is_told_once(world, hotspot):
    p = plan(world, hotspot)
    first, second = p.tasks.order_by("due_on")[:2]
    day_after = TODAY + dt.timedelta(days=2)
    with clock.frozen(clock.now() + dt.timedelta(days=1)):
        recheck_task_record(task=second, ok=True, note="好", actor=world.user("inspector"))
    missed = recheck_task_flag_missed(today=day_after)
    assert missed == [first.pk]
    assert recheck_task_flag_missed(today=day_after) == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (TaskStatus.MISSED, TaskStatus.DONE)
    (n,) = Notification.objects.filter(template="recheck_missed")
    assert n.recipient == world.user("head") and n.context["due_on"] == TODAY.isoformat()
    with pytest.raises(Conflict):  # a miss is a miss: it cannot be filled in afterwards
        recheck_task_record(task=first, ok=True, note="", actor=world.user("inspector"))


def test_a_plan_is_completed_when_no_task_is_left_pending(world, hotspot):
    p = plan(world, hotspot, frequency="weekly", weeks=1)
    recheck_task_flag_missed(today=TODAY + dt.timedelta(days=1))
    p.refresh_from_db()
    assert p.status == PlanStatus.COMPLETED
    plan(world, hotspot)  # the hot spot may now get a new plan
