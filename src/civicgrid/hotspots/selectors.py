"""Reads of hot spots and re-inspection, scoped to the user's jurisdiction first, like cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Role, User
from civicgrid.cases.models import Case, CaseAssignment
from civicgrid.cases.selectors import case_list_visible_to
from civicgrid.core.errors import NotFound, ValidationFailed
from civicgrid.geo.models import Region

from .models import Hotspot, HotspotStatus, PlanStatus, RecheckPlan, RecheckTask

NOTHING = Q(pk__in=[])


def _area_q(user: User, *, path: str = "region_path", grid: str = "grid__code") -> Q:
    q = NOTHING
    for prefix in user.regions.values_list("path", flat=True):
        q |= Q(**{f"{path}__startswith": prefix})
    if user.grid_codes:
        q |= Q(**{f"{grid}__in": user.grid_codes})
    return q


def _everything(user: User) -> bool:
    return user.is_superuser or user.role == Role.ADMIN


def hotspot_scope_q(user: User) -> Q:
    """Staff see the hot spots of their area; a department sees those with a case of its own."""
    if not user.is_authenticated or not user.is_active or user.role == Role.RESIDENT:
        return NOTHING
    if _everything(user):
        return Q()
    if user.role == Role.DEPARTMENT_HANDLER:
        if user.department_id is None:
            return NOTHING
        assigned = CaseAssignment.objects.filter(
            department_id=user.department_id,
            active=True,
            case__hotspots=OuterRef("pk"),
        )
        q = Q(Exists(assigned))
        if user.regions.exists() or user.grid_codes:
            q &= _area_q(user)
        return q
    return _area_q(user)


@dataclass(frozen=True)
class HotspotFilters:
    status: str | None = None
    category: str | None = None  # code of a minor or major class
    grid: str | None = None
    region: str | None = None

    def apply(self, qs: QuerySet[Hotspot]) -> QuerySet[Hotspot]:
        if self.status:
            if self.status not in HotspotStatus.values:
                raise ValidationFailed(
                    _("Unknown hot spot status '%(s)s'.") % {"s": self.status}, field="status"
                )
            qs = qs.filter(status=self.status)
        if self.category:
            qs = qs.filter(
                Q(category__code=self.category) | Q(category__parent__code=self.category)
            )
        if self.grid:
            qs = qs.filter(grid__code=self.grid)
        if self.region:
            path = Region.objects.filter(code=self.region).values_list("path", flat=True).first()
            qs = qs.filter(region_path__startswith=path) if path else qs.none()
        return qs


def hotspot_list_visible_to(
    *, user: User, filters: HotspotFilters | None = None
) -> QuerySet[Hotspot]:
    qs = Hotspot.objects.filter(hotspot_scope_q(user))
    if filters is not None:
        qs = filters.apply(qs)
    active_plan = RecheckPlan.objects.filter(hotspot=OuterRef("pk"), status=PlanStatus.ACTIVE)
    qs = qs.annotate(active_plan_id=Subquery(active_plan.values("pk")[:1]))
    return qs.select_related("category", "grid", "region").order_by(
        "-case_count", "-last_seen", "id"
    )


def hotspot_get_visible_to(*, user: User, hotspot_id: int) -> Hotspot:
    spot = hotspot_list_visible_to(user=user).filter(pk=hotspot_id).first()
    if spot is None:
        raise NotFound(_("No hot spot %(id)s.") % {"id": hotspot_id}, field="hotspot")
    return spot


def hotspot_cases_visible_to(*, user: User, hotspot: Hotspot) -> QuerySet[Case]:
    """The hot spot's cases that the user may also see on their own."""
    return case_list_visible_to(user=user).filter(hotspots=hotspot)


def recheck_plan_scope_q(user: User) -> Q:
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if _everything(user):
        return Q()
    if user.role == Role.INSPECTOR:
        return Q(inspectors=user)
    if user.role in (Role.DISPATCHER, Role.STATION_HEAD, Role.OPS_CENTER, Role.OPERATOR):
        return _area_q(user)
    return NOTHING


def recheck_plan_list_visible_to(*, user: User) -> QuerySet[RecheckPlan]:
    ids = RecheckPlan.objects.filter(recheck_plan_scope_q(user)).values("pk")
    return (
        RecheckPlan.objects.filter(pk__in=ids)
        .select_related("hotspot__category", "grid", "created_by")
        .prefetch_related("inspectors")
        .order_by("-created_at", "-id")
    )


def recheck_plan_get_visible_to(*, user: User, plan_id: int) -> RecheckPlan:
    plan = recheck_plan_list_visible_to(user=user).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("No re-inspection plan %(id)s.") % {"id": plan_id}, field="plan")
    return plan


def recheck_task_list_visible_to(
    *,
    user: User,
    due_on: dt.date | None = None,
    status: str | None = None,
    plan_id: int | None = None,
    mine: bool = False,
) -> QuerySet[RecheckTask]:
    """Inspectors see their own tasks only; command staff see the tasks of their area's plans."""
    if user.role == Role.INSPECTOR and not _everything(user):
        qs = RecheckTask.objects.filter(inspector=user)
    else:
        qs = RecheckTask.objects.filter(
            plan__in=recheck_plan_list_visible_to(user=user).values("pk")
        )
    if mine:
        qs = qs.filter(inspector=user)
    if due_on is not None:
        qs = qs.filter(due_on=due_on)
    if status:
        qs = qs.filter(status=status)
    if plan_id is not None:
        qs = qs.filter(plan_id=plan_id)
    return qs.select_related("plan__hotspot__category", "plan__grid", "inspector", "case").order_by(
        "due_on", "id"
    )


def recheck_task_get_visible_to(*, user: User, task_id: int) -> RecheckTask:
    task = recheck_task_list_visible_to(user=user).filter(pk=task_id).first()
    if task is None:
        raise NotFound(_("No re-inspection task %(id)s.") % {"id": task_id}, field="task")
    return task
