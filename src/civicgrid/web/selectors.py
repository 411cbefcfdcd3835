"""Reads the pages need on top of the cases app: grids on the map, categories, work queues.

Case lists always start from `case_list_visible_to`, so a page can never show more than the
API would; grids are scoped here the same way (region subtree or grid codes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import shapely
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.models import Role, User
from civicgrid.cases.models import OPEN_STATES, Case, Category, State
from civicgrid.cases.selectors import CaseFilters, case_list_visible_to
from civicgrid.geo.models import GenerationStatus, Grid, GridKind

ACTIVE_STATES: list[str] = sorted(str(s) for s in OPEN_STATES)


def category_name(category: Category) -> str:
    """The category's name in the page's language (Chinese names are the source data)."""
    if (get_language() or "").startswith("en") and category.name_en:
        return category.name_en
    return category.name


def category_tree() -> list[tuple[Category, list[Category]]]:
    """Active major classes with their active minor classes, in code order."""
    rows = list(Category.objects.filter(is_active=True).order_by("code"))
    majors = [c for c in rows if c.parent_id is None]
    return [(m, [c for c in rows if c.parent_id == m.pk]) for m in majors]


def category_search(text: str, *, limit: int = 8) -> list[Category]:
    """Minor classes whose code or name (Chinese or English) contains the text."""
    text = text.strip()
    if not text:
        return []
    return list(
        Category.objects.filter(is_active=True, parent__isnull=False)
        .filter(
            Q(code__startswith=text)
            | Q(name__icontains=text)
            | Q(name_en__icontains=text)
            | Q(parent__name__icontains=text)
            | Q(parent__name_en__icontains=text)
        )
        .select_related("parent")
        .order_by("code")[:limit]
    )


def _active_management_grids() -> QuerySet[Grid]:
    return Grid.objects.filter(
        generation__status=GenerationStatus.ACTIVE, kind=GridKind.MANAGEMENT
    ).select_related("region")


def management_grid_choices() -> list[tuple[str, str]]:
    """Every management grid, for the transfer form (a case may go to any grid)."""
    return [(g.code, f"{g.name or g.code} ({g.code})") for g in _active_management_grids()]


def grids_visible_to(*, user: User) -> QuerySet[Grid]:
    """Management grids of the user's jurisdiction: region subtree or grid codes.

    Administrators, and department handlers whose team works everywhere, see them all.
    """
    qs = _active_management_grids()
    if user.is_superuser or user.role in (Role.ADMIN,):
        return qs
    has_area = user.regions.exists() or bool(user.grid_codes)
    if user.role == Role.DEPARTMENT_HANDLER and not has_area:
        return qs
    q = Q(pk__in=[])
    for path in user.regions.values_list("path", flat=True):
        q |= Q(region__path__startswith=path)
    if user.grid_codes:
        q |= Q(code__in=user.grid_codes)
    return qs.filter(q)


def service_area_grids() -> QuerySet[Grid]:
    """Outlines shown to residents on the report map: where a report can be placed."""
    return _active_management_grids()


def _label_point(geometry: dict[str, Any]) -> tuple[float, float]:
    point = shapely.geometry.shape(geometry).representative_point()
    return round(point.x, 6), round(point.y, 6)


def grid_features(grids: Iterable[Grid], *, counts_for: User | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of grids, with open and overdue case counts for staff."""
    grids = list(grids)
    counts: dict[int, Any] = {}
    if counts_for is not None:
        rows = (
            case_list_visible_to(user=counts_for)
            .filter(state__in=ACTIVE_STATES, management_grid__in=grids)
            .order_by()
            .values("management_grid_id")
            .annotate(open=Count("id"), overdue=Count("id", filter=Q(overdue=True)))
        )
        counts = {r["management_grid_id"]: r for r in rows}
    features = []
    for g in grids:
        lon, lat = _label_point(g.geometry)
        c = counts.get(g.pk, {})
        features.append(
            {
                "type": "Feature",
                "id": g.pk,
                "geometry": g.geometry,
                "properties": {
                    "code": g.code,
                    "name": g.name or g.code,
                    "label_lon": lon,
                    "label_lat": lat,
                    "open": c.get("open", 0),
                    "overdue": c.get("overdue", 0),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def case_features(cases: Iterable[Case]) -> dict[str, Any]:
    """Cases as GeoJSON points for the maps (only what a list row would show)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": c.pk,
                "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                "properties": {
                    "number": c.number,
                    "state": c.state,
                    "state_label": str(c.get_state_display()),
                    "category": category_name(c.category),
                    "overdue": c.overdue,
                    "url": reverse("web:case", args=[c.number]),
                },
            }
            for c in cases
        ],
    }


def end_of_today() -> dt.datetime:
    local = timezone.localtime()
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)


def open_cases(*, user: User, filters: CaseFilters | None = None) -> QuerySet[Case]:
    qs = case_list_visible_to(user=user, filters=filters)
    return qs.filter(state__in=ACTIVE_STATES)


def due_today(*, user: User) -> QuerySet[Case]:
    """Open cases whose deadline falls before midnight tonight, the overdue ones first."""
    return open_cases(user=user).filter(deadline__lt=end_of_today()).order_by("deadline", "id")


@dataclass(frozen=True)
class Queue:
    key: str
    label: Any
    states: tuple[str, ...] = ()
    overdue: bool | None = None
    near_due: bool = False
    quick: str = ""  # a one-tap action offered on each row of this queue


DESK_QUEUES = [
    Queue("intake", _("Intake queue"), (State.REPORTED,), quick="accept"),
    Queue("dispatch", _("To dispatch"), (State.ACCEPTED, State.RETURNED)),
    Queue("working", _("Being handled"), (State.DISPATCHED, State.IN_PROGRESS, State.REWORK)),
    Queue("verify", _("To verify"), (State.HANDLED,)),
    Queue("close", _("To close"), (State.VERIFIED,), quick="close"),
    Queue("overdue", _("Overdue"), overdue=True),
    Queue("near_due", _("Near due"), near_due=True),
    Queue("suspended", _("Suspended"), (State.SUSPENDED,)),
]

DEPT_QUEUES = [
    Queue("take", _("To take"), (State.DISPATCHED, State.REWORK), quick="take"),
    Queue("doing", _("In progress"), (State.IN_PROGRESS,)),
    Queue("overdue", _("Overdue"), overdue=True),
    Queue("done", _("Reported handled"), (State.HANDLED, State.VERIFIED, State.CLOSED)),
]


def queue_cases(*, user: User, queue: Queue, filters: CaseFilters | None = None) -> QuerySet[Case]:
    qs = case_list_visible_to(user=user, filters=filters)
    if queue.states:
        qs = qs.filter(state__in=queue.states)
    if queue.overdue is not None:
        qs = qs.filter(state__in=ACTIVE_STATES, overdue=queue.overdue)
    if queue.near_due:
        qs = qs.filter(state__in=ACTIVE_STATES, near_due=True, overdue=False)
    if queue.overdue or queue.near_due:
        return qs.order_by("deadline", "id")
    return qs


def queue_counts(*, user: User, queues: list[Queue]) -> dict[str, int]:
    return {q.key: queue_cases(user=user, queue=q).count() for q in queues}
