"""The periodic sweep flags overdue and near-due cases from their stored deadlines, once."""

from __future__ import annotations

import datetime as dt

from civicgrid.cases import services
from civicgrid.cases.models import Case, State
from civicgrid.core import clock, scheduler
from civicgrid.core.models import ScheduledRun
from civicgrid.core.testing import INSIDE


def urgent_case(world):
    lon, lat = INSIDE["G1"]
    case = services.case_create(
        actor=world.user("operator"),
        category="0101",
        description="d",
        lon=lon,
        lat=lat,
        urgency="urgent",
    ).case
    case = services.case_accept(case=case, actor=world.user("dispatcher"))
    return services.case_dispatch(
        case=case, lead=world.departments["CG"], actor=world.user("dispatcher")
    )


def test_dispatch_starts_the_clock_from_the_sla(world):
    case = urgent_case(world)
    assert case.deadline - case.dispatched_at == dt.timedelta(hours=4)


def test_sweep_flags_near_due_then_overdue_once(world):
    case = urgent_case(world)
    near = case.deadline - dt.timedelta(minutes=30)  # 12.5% of 4 h left
    result = services.case_sweep_deadlines(now=near)
    assert result.newly_near_due == [case.pk] and result.newly_overdue == []
    late = case.deadline + dt.timedelta(minutes=1)
    result = services.case_sweep_deadlines(now=late)
    assert result.newly_overdue == [case.pk]
    again = services.case_sweep_deadlines(now=late + dt.timedelta(minutes=5))
    assert again.newly_overdue == []
    case.refresh_from_db()
    assert case.overdue and case.overdue_since == case.deadline
    assert case.timeline.filter(action="mark_overdue").count() == 1


def test_extending_the_deadline_clears_overdue(world):
    case = urgent_case(world)
    late = case.deadline + dt.timedelta(minutes=1)
    services.case_sweep_deadlines(now=late)
    with clock.frozen(late):
        case = services.case_extend(
            case=Case.objects.get(pk=case.pk),
            actor=world.user("dispatcher"),
            until=late + dt.timedelta(days=1),
            reason="材料未到",
        )
    assert case.overdue is False
    public = services.case_sweep_deadlines(now=late + dt.timedelta(minutes=1))
    assert public.newly_overdue == []


def test_suspended_cases_are_not_overdue_and_resume_shifts_the_deadline(world):
    case = urgent_case(world)
    t0 = case.dispatched_at + dt.timedelta(hours=1)
    with clock.frozen(t0):
        case = services.case_suspend(case=case, actor=world.user("dispatcher"), reason="等待业主")
    assert (
        services.case_sweep_deadlines(now=case.deadline + dt.timedelta(hours=1)).newly_overdue == []
    )
    deadline = case.deadline
    with clock.frozen(t0 + dt.timedelta(hours=10)):
        case = services.case_resume(
            case=Case.objects.get(pk=case.pk), actor=world.user("dispatcher")
        )
    assert case.state == State.DISPATCHED
    assert case.deadline == deadline + dt.timedelta(hours=10)


def test_scheduler_started_twice_enqueues_each_slot_once(world):
    now = clock.now()
    enqueued: list[str] = []

    def fake_enqueue(job):
        enqueued.append(job.name)
        return "id"

    first = scheduler.tick(now=now, enqueue=fake_enqueue)
    second = scheduler.tick(now=now, enqueue=fake_enqueue)  # a second scheduler, same slot
    # Other apps add their own jobs (settings.CIVICGRID["EXTRA_JOBS"]); each runs once too.
    assert first == [j.name for j in scheduler.jobs()] and second == []
    assert first[0] == "sweep_deadlines" and enqueued == first
    assert ScheduledRun.objects.count() == len(first)
    later = scheduler.tick(now=now + dt.timedelta(seconds=61), enqueue=fake_enqueue)
    assert "sweep_deadlines" in later


def test_scheduler_tick_runs_the_real_task(world):
    case = urgent_case(world)
    Case.objects.filter(pk=case.pk).update(deadline=clock.now() - dt.timedelta(minutes=1))
    # The immediate backend runs each job inline in tests.
    assert "sweep_deadlines" in scheduler.tick()
    case.refresh_from_db()
    assert case.overdue is True
