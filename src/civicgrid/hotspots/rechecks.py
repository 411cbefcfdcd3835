"""Re-inspection (复诊): plans made from a hot spot, their patrol tasks, results and misses."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Role, User
from civicgrid.audit.services import audit_record
from civicgrid.cases.models import Source, Upload
from civicgrid.core import clock
from civicgrid.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed

from .models import (
    MAX_WEEKS,
    Frequency,
    Hotspot,
    HotspotStatus,
    PlanStatus,
    RecheckPlan,
    RecheckTask,
    TaskStatus,
)

PLANNERS = frozenset({Role.STATION_HEAD, Role.DISPATCHER})


def _today() -> dt.date:
    return timezone.localdate(clock.now())


def _covers_grid(user: User, hotspot: Hotspot) -> bool:
    if hotspot.grid.code in (user.grid_codes or []):
        return True
    return any(
        hotspot.region_path.startswith(p) for p in user.regions.values_list("path", flat=True)
    )


def _inspectors(users: Sequence[User], hotspot: Hotspot) -> list[User]:
    unique = list({u.pk: u for u in users}.values())
    if not unique:
        raise ValidationFailed(_("Name at least one inspector."), field="inspectors")
    for user in unique:
        if user.role != Role.INSPECTOR or not user.is_active:
            raise ValidationFailed(
                _("%(u)s is not an active grid inspector.") % {"u": user}, field="inspectors"
            )
        if not _covers_grid(user, hotspot):
            raise ValidationFailed(
                _("%(u)s does not patrol grid %(g)s.") % {"u": user, "g": hotspot.grid.code},
                field="inspectors",
            )
    return unique


def due_dates(*, frequency: str, weeks: int, starts_on: dt.date) -> list[dt.date]:
    """Daily: every day for `weeks` weeks; weekly: the same weekday once a week."""
    count, step = (weeks * 7, 1) if frequency == Frequency.DAILY else (weeks, 7)
    return [starts_on + dt.timedelta(days=i * step) for i in range(count)]


def recheck_plan_create(
    *,
    hotspot: Hotspot,
    frequency: str,
    weeks: int,
    inspectors: Sequence[User],
    actor: User,
    starts_on: dt.date | None = None,
    note: str = "",
) -> RecheckPlan:
    """Turn a hot spot into recurring patrol tasks, shared by the inspectors in turn (a rota)."""
    from .selectors import hotspot_list_visible_to

    if actor.role not in PLANNERS:
        raise NotAllowed(_("Only a station head or a dispatcher may plan re-inspections."))
    if not hotspot_list_visible_to(user=actor).filter(pk=hotspot.pk).exists():
        raise NotFound(_("No hot spot %(id)s.") % {"id": hotspot.pk}, field="hotspot")
    if frequency not in Frequency.values:
        raise ValidationFailed(
            _("Frequency is daily or weekly, not '%(f)s'.") % {"f": frequency}, field="frequency"
        )
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise ValidationFailed(
            _("Weeks is a whole number from 1 to %(n)d.") % {"n": MAX_WEEKS}, field="weeks"
        )
    today = _today()
    starts_on = starts_on or today
    if starts_on < today:
        raise ValidationFailed(_("A plan cannot start in the past."), field="starts_on")
    rota = _inspectors(inspectors, hotspot)
    dates = due_dates(frequency=frequency, weeks=weeks, starts_on=starts_on)
    try:
        with transaction.atomic():
            spot = Hotspot.objects.select_for_update().select_related("grid").get(pk=hotspot.pk)
            if spot.status != HotspotStatus.ACTIVE:
                raise Conflict(
                    _("This hot spot has faded; there is nothing to re-inspect."), field="hotspot"
                )
            if spot.plans.filter(status=PlanStatus.ACTIVE).exists():
                raise Conflict(_("This hot spot already has an active plan."), field="hotspot")
            plan = RecheckPlan.objects.create(
                hotspot=spot,
                frequency=frequency,
                weeks=weeks,
                starts_on=dates[0],
                ends_on=dates[-1],
                note=note.strip(),
                grid=spot.grid,
                region_path=spot.region_path,
                created_by=actor,
                created_at=clock.now(),
            )
            plan.inspectors.set(rota)
            RecheckTask.objects.bulk_create(
                [
                    RecheckTask(plan=plan, due_on=day, inspector=rota[i % len(rota)])
                    for i, day in enumerate(dates)
                ]
            )
            audit_record(
                actor=actor,
                action="recheck_plan.create",
                obj=plan,
                after={
                    "hotspot": spot.pk,
                    "frequency": frequency,
                    "weeks": weeks,
                    "starts_on": dates[0].isoformat(),
                    "inspectors": [u.username for u in rota],
                },
            )
    except IntegrityError:  # a second planner won the race for the hot spot's one active plan
        raise Conflict(_("This hot spot already has an active plan."), field="hotspot") from None
    return plan


def _photos(ids: Sequence[uuid.UUID | str]) -> list[Upload]:
    wanted = {str(i) for i in ids}
    found = list(Upload.objects.filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise ValidationFailed(_("Unknown upload id."), field="photos")
    return found


def recheck_task_record(
    *,
    task: RecheckTask,
    ok: bool,
    note: str,
    actor: User,
    photos: Sequence[uuid.UUID | str] = (),
    lon: float | None = None,
    lat: float | None = None,
) -> RecheckTask:
    """The inspector's result. A failed check files a new patrol case at the hot spot."""
    from civicgrid.cases.services import case_create

    if not isinstance(ok, bool):
        raise ValidationFailed(_("Say whether the place was fine (true or false)."), field="ok")
    note = (note or "").strip()
    if not ok and not note:
        raise ValidationFailed(_("Say what problem you found."), field="note")
    with transaction.atomic():
        task = (
            RecheckTask.objects.select_for_update()
            .select_related("plan__hotspot__category", "plan__hotspot__grid")
            .get(pk=task.pk)
        )
        if task.inspector_id != actor.pk:
            raise NotAllowed(_("Only the inspector this task is assigned to may record it."))
        if task.status != TaskStatus.PENDING:
            raise Conflict(
                _("This task is already %(s)s.") % {"s": task.get_status_display()}, field="status"
            )
        if task.due_on > _today():
            raise Conflict(
                _("This task is due on %(d)s; record it then.") % {"d": task.due_on},
                field="due_on",
            )
        uploads = _photos(photos)
        hotspot = task.plan.hotspot
        case = None
        if not ok:
            case = case_create(
                actor=actor,
                category=hotspot.category,
                description=note,
                lon=hotspot.lon if lon is None else lon,
                lat=hotspot.lat if lat is None else lat,
                source=Source.PATROL,
                photos=[u.pk for u in uploads],
                extra={"recheck_task": task.pk, "hotspot": hotspot.pk},
            ).case
        task.status, task.ok, task.result_note = TaskStatus.DONE, ok, note
        task.recorded_at, task.case = clock.now(), case
        task.save(update_fields=["status", "ok", "result_note", "recorded_at", "case"])
        task.photos.set(uploads)
        audit_record(
            actor=actor,
            action="recheck_task.record",
            obj=task,
            after={"ok": ok, "case": case.number if case else None},
        )
        _complete_finished_plans([task.plan_id])
    return task


def _complete_finished_plans(plan_ids: Iterable[int]) -> None:
    finished = (
        RecheckPlan.objects.filter(pk__in=list(plan_ids), status=PlanStatus.ACTIVE)
        .exclude(tasks__status=TaskStatus.PENDING)
        .values_list("pk", flat=True)
    )
    RecheckPlan.objects.filter(pk__in=list(finished)).update(status=PlanStatus.COMPLETED)


def recheck_task_flag_missed(*, today: dt.date | None = None) -> list[int]:
    """The periodic job: a pending task past its due date becomes missed, once.

    The planner is told about each miss (once: the message's key is the task).
    """
    from civicgrid.notify.services import notify_user

    today = today or _today()
    now = clock.now()
    with transaction.atomic():
        ids = list(
            RecheckTask.objects.select_for_update(skip_locked=True)
            .filter(status=TaskStatus.PENDING, due_on__lt=today)
            .values_list("pk", flat=True)
        )
        RecheckTask.objects.filter(pk__in=ids, status=TaskStatus.PENDING).update(
            status=TaskStatus.MISSED, missed_at=now
        )
        missed = list(
            RecheckTask.objects.filter(pk__in=ids, missed_at=now).select_related(
                "plan__hotspot__category", "plan__hotspot__grid", "plan__created_by", "inspector"
            )
        )
        for task in missed:
            planner, spot = task.plan.created_by, task.plan.hotspot
            if planner is None or not planner.is_active:
                continue
            notify_user(
                user=planner,
                template="recheck_missed",
                context={
                    "due_on": task.due_on.isoformat(),
                    "inspector": str(task.inspector),
                    "category": spot.category.name,
                    "category_en": spot.category.name_en or spot.category.name,
                    "grid_name": spot.grid.name or spot.grid.code,
                    "case_count": spot.case_count,
                },
                idempotency_key=f"recheck-missed:{task.pk}",
            )
        _complete_finished_plans({t.plan_id for t in missed})
    return [t.pk for t in missed]
