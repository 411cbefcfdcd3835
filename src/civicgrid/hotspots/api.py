"""Hot spot and re-inspection endpoints (/api/hotspots): parse, call a service, render."""

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from civicgrid.accounts.auth import staff_user
from civicgrid.accounts.models import User
from civicgrid.core import clock
from civicgrid.core.errors import ValidationFailed

from . import services
from .models import Hotspot, RecheckPlan, RecheckTask, TaskStatus
from .schemas import (
    GeoJson,
    HotspotDetailOut,
    HotspotFilterIn,
    HotspotOut,
    PlanDetailOut,
    PlanIn,
    PlanOut,
    RecordIn,
    TaskFilterIn,
    TaskOut,
)
from .selectors import (
    HotspotFilters,
    hotspot_cases_visible_to,
    hotspot_get_visible_to,
    hotspot_list_visible_to,
    recheck_plan_get_visible_to,
    recheck_plan_list_visible_to,
    recheck_task_get_visible_to,
    recheck_task_list_visible_to,
)

router = Router(tags=["hotspots"])


def _category(c: Any) -> dict[str, str]:
    return {"code": c.code, "name": c.name, "name_en": c.name_en or c.name}


def hotspot_dict(spot: Hotspot) -> dict[str, Any]:
    return {
        "id": spot.pk,
        "category": _category(spot.category),
        "lon": spot.lon,
        "lat": spot.lat,
        "radius_m": spot.radius_m,
        "case_count": spot.case_count,
        "first_seen": spot.first_seen,
        "last_seen": spot.last_seen,
        "grid": spot.grid.code,
        "region": spot.region.code,
        "status": spot.status,
        "detected_at": spot.detected_at,
        "refreshed_at": spot.refreshed_at,
        "active_plan": getattr(spot, "active_plan_id", None),
    }


def task_dict(task: RecheckTask) -> dict[str, Any]:
    spot = task.plan.hotspot
    return {
        "id": task.pk,
        "plan": task.plan_id,
        "hotspot": spot.pk,
        "category": _category(spot.category),
        "lon": spot.lon,
        "lat": spot.lat,
        "grid": task.plan.grid.code,
        "due_on": task.due_on,
        "inspector": task.inspector.username,
        "status": task.status,
        "ok": task.ok,
        "result_note": task.result_note,
        "case": task.case.number if task.case else None,
        "recorded_at": task.recorded_at,
        "missed_at": task.missed_at,
    }


def plan_dict(plan: RecheckPlan, *, tasks: Iterable[RecheckTask] | None = None) -> dict[str, Any]:
    counts = dict.fromkeys(TaskStatus.values, 0)
    for row in plan.tasks.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    out = {
        "id": plan.pk,
        "hotspot": plan.hotspot_id,
        "category": _category(plan.hotspot.category),
        "grid": plan.grid.code,
        "frequency": plan.frequency,
        "weeks": plan.weeks,
        "starts_on": plan.starts_on,
        "ends_on": plan.ends_on,
        "status": plan.status,
        "inspectors": sorted(u.username for u in plan.inspectors.all()),
        "note": plan.note,
        "created_by": plan.created_by.username if plan.created_by else None,
        "created_at": plan.created_at,
        "counts": counts,
    }
    if tasks is not None:
        out["tasks"] = [task_dict(t) for t in tasks]
    return out


class _Rendered:
    """Lets the paginator slice the queryset, then renders only that page."""

    def __init__(self, qs: Any, render: Callable[[Any], dict[str, Any]]) -> None:
        self.qs, self.render = qs, render

    def __len__(self) -> int:
        return self.qs.count()

    def count(self) -> int:
        return self.qs.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [self.render(row) for row in self.qs[item]]


def _hotspots(request: HttpRequest, filters: HotspotFilterIn) -> Any:
    return hotspot_list_visible_to(
        user=staff_user(request), filters=HotspotFilters(**filters.dict())
    )


@router.get("", response=list[HotspotOut], summary="Hot spots in the caller's jurisdiction")
@paginate(LimitOffsetPagination)
def list_hotspots(request: HttpRequest, filters: Query[HotspotFilterIn]) -> Any:
    return _Rendered(_hotspots(request, filters), hotspot_dict)


@router.get("/geojson", response=GeoJson, summary="Hot spots as GeoJSON points for the map")
def hotspots_geojson(request: HttpRequest, filters: Query[HotspotFilterIn]) -> GeoJson:
    if filters.status is None:
        filters.status = "active"
    features = []
    for spot in _hotspots(request, filters)[:5000]:
        props = hotspot_dict(spot)
        props.pop("lon"), props.pop("lat")
        props["category_code"] = spot.category.code
        props["category"] = spot.category.name
        props["category_en"] = spot.category.name_en or spot.category.name
        for key in ("first_seen", "last_seen", "detected_at", "refreshed_at"):
            props[key] = props[key].isoformat()
        features.append(
            {
                "type": "Feature",
                "id": spot.pk,
                "geometry": {"type": "Point", "coordinates": [spot.lon, spot.lat]},
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


@router.get("/plans", response=list[PlanOut], summary="Re-inspection plans the caller may see")
@paginate(LimitOffsetPagination)
def list_plans(request: HttpRequest) -> Any:
    return _Rendered(recheck_plan_list_visible_to(user=staff_user(request)), plan_dict)


@router.get("/plans/{int:plan_id}", response=PlanDetailOut)
def get_plan(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    user = staff_user(request)
    plan = recheck_plan_get_visible_to(user=user, plan_id=plan_id)
    return plan_dict(plan, tasks=recheck_task_list_visible_to(user=user, plan_id=plan.pk))


@router.get("/tasks/today", response=list[TaskOut], summary="My re-inspection tasks due today")
def my_tasks_today(request: HttpRequest) -> list[dict[str, Any]]:
    user = staff_user(request)
    today = timezone.localdate(clock.now())
    return [task_dict(t) for t in recheck_task_list_visible_to(user=user, due_on=today, mine=True)]


@router.get("/tasks", response=list[TaskOut], summary="Re-inspection tasks the caller may see")
@paginate(LimitOffsetPagination)
def list_tasks(request: HttpRequest, filters: Query[TaskFilterIn]) -> Any:
    qs = recheck_task_list_visible_to(
        user=staff_user(request),
        due_on=filters.due_on,
        status=filters.status,
        plan_id=filters.plan,
        mine=filters.mine,
    )
    return _Rendered(qs, task_dict)


@router.post("/tasks/{int:task_id}/record", response=TaskOut, summary="Record a result")
def record_task(request: HttpRequest, task_id: int, payload: RecordIn) -> dict[str, Any]:
    user = staff_user(request)
    task = recheck_task_get_visible_to(user=user, task_id=task_id)
    services.recheck_task_record(
        task=task,
        ok=payload.ok,
        note=payload.note,
        actor=user,
        photos=payload.photos,
        lon=payload.lon,
        lat=payload.lat,
    )
    return task_dict(recheck_task_get_visible_to(user=user, task_id=task_id))


@router.get("/{int:hotspot_id}", response=HotspotDetailOut, summary="A hot spot and its cases")
def get_hotspot(request: HttpRequest, hotspot_id: int) -> dict[str, Any]:
    user = staff_user(request)
    spot = hotspot_get_visible_to(user=user, hotspot_id=hotspot_id)
    cases = hotspot_cases_visible_to(user=user, hotspot=spot).order_by("reported_at", "id")
    return {
        **hotspot_dict(spot),
        "cases": [
            {
                "number": c.number,
                "state": c.state,
                "reported_at": c.reported_at,
                "lon": c.lon,
                "lat": c.lat,
                "address": c.address,
                "description": c.description,
                "overdue": c.overdue,
            }
            for c in cases
        ],
    }


@router.post("/{int:hotspot_id}/plans", response={201: PlanDetailOut}, summary="Plan re-inspection")
def create_plan(request: HttpRequest, hotspot_id: int, payload: PlanIn) -> Status:
    user = staff_user(request)
    spot = hotspot_get_visible_to(user=user, hotspot_id=hotspot_id)
    names = list(dict.fromkeys(payload.inspectors))
    inspectors = list(User.objects.filter(username__in=names))
    missing = set(names) - {u.username for u in inspectors}
    if missing:
        raise ValidationFailed(
            _("Unknown inspector(s): %(names)s.") % {"names": ", ".join(sorted(missing))},
            field="inspectors",
        )
    plan = services.recheck_plan_create(
        hotspot=spot,
        frequency=payload.frequency,
        weeks=payload.weeks,
        inspectors=sorted(inspectors, key=lambda u: names.index(u.username)),
        actor=user,
        starts_on=payload.starts_on,
        note=payload.note,
    )
    plan = recheck_plan_get_visible_to(user=user, plan_id=plan.pk)
    tasks = recheck_task_list_visible_to(user=user, plan_id=plan.pk)
    return Status(201, plan_dict(plan, tasks=tasks))
