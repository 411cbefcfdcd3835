"""Reads of cases, always scoped to what the user may see first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Role, User
from civicgrid.core.errors import NotFound

from .models import Case, CaseAssignment, CaseSupport

NOTHING = Q(pk__in=[])
# A case row names its grids and region; their polygons are large JSON documents that no list
# or detail shows. Loading them with every case cost most of a case list's time (issue 6).
HEAVY_RELATED = ("management_grid__geometry", "unit_grid__geometry", "region__boundary")


def _area_q(user: User) -> Q:
    q = NOTHING
    for path in user.regions.values_list("path", flat=True):
        q |= Q(region_path__startswith=path)
    if user.grid_codes:
        q |= Q(management_grid__code__in=user.grid_codes)
    return q


def case_scope_q(user: User) -> Q:
    """The cases a user may see. Never skipped, never optional."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.is_superuser or user.role == Role.ADMIN:
        return Q()
    if user.role == Role.RESIDENT:
        supported = CaseSupport.objects.filter(case=OuterRef("pk"), user=user)
        return Q(reporter=user) | Q(Exists(supported))
    if user.role == Role.DEPARTMENT_HANDLER:
        assigned = CaseAssignment.objects.filter(
            case=OuterRef("pk"), department_id=user.department_id or 0, active=True
        )
        q = Q(Exists(assigned))
        # A department team for part of the district sees only its part.
        if user.regions.exists() or user.grid_codes:
            q &= _area_q(user)
        return q
    return _area_q(user)


@dataclass(frozen=True)
class CaseFilters:
    state: list[str] | None = None
    category: str | None = None  # code of a minor or major class
    grid: str | None = None  # management grid code
    region: str | None = None  # region code: the region and everything below it
    department: str | None = None  # department code, active assignments
    overdue: bool | None = None
    source: str | None = None
    reported_from: dt.datetime | None = None
    reported_to: dt.datetime | None = None
    q: str | None = None  # free text: number, description, address
    escalation_level: str | None = None

    def apply(self, qs: QuerySet[Case]) -> QuerySet[Case]:
        if self.state:
            qs = qs.filter(state__in=self.state)
        if self.category:
            qs = qs.filter(
                Q(category__code=self.category) | Q(category__parent__code=self.category)
            )
        if self.grid:
            qs = qs.filter(management_grid__code=self.grid)
        if self.region:
            from civicgrid.geo.models import Region

            path = Region.objects.filter(code=self.region).values_list("path", flat=True).first()
            qs = qs.filter(region_path__startswith=path) if path else qs.none()
        if self.department:
            qs = qs.filter(
                Exists(
                    CaseAssignment.objects.filter(
                        case=OuterRef("pk"), department__code=self.department, active=True
                    )
                )
            )
        if self.overdue is not None:
            qs = qs.filter(overdue=self.overdue)
        if self.source:
            qs = qs.filter(source=self.source)
        if self.reported_from:
            qs = qs.filter(reported_at__gte=self.reported_from)
        if self.reported_to:
            qs = qs.filter(reported_at__lt=self.reported_to)
        if self.escalation_level:
            qs = qs.filter(escalation_level=self.escalation_level)
        if self.q:
            text = self.q.strip()
            qs = qs.filter(
                Q(number__icontains=text)
                | Q(description__icontains=text)
                | Q(address__icontains=text)
            )
        return qs


def case_list_visible_to(*, user: User, filters: CaseFilters | None = None) -> QuerySet[Case]:
    qs = Case.objects.filter(case_scope_q(user))
    if filters is not None:
        qs = filters.apply(qs)
    return (
        qs.select_related("category", "management_grid", "unit_grid", "region")
        .defer(*HEAVY_RELATED)
        .order_by("-reported_at", "-id")
    )


def case_get_visible_to(*, user: User, number: str) -> Case:
    case = case_list_visible_to(user=user).filter(number=number).first()
    if case is None:
        raise NotFound(_("No case %(number)s.") % {"number": number}, field="number")
    return case


def case_get_public(*, number: str) -> Case:
    """A case as anyone may track it by number (public data only is rendered from it)."""
    case = (
        Case.objects.select_related("category", "management_grid", "region")
        .defer("management_grid__geometry", "region__boundary")
        .filter(number=number)
        .first()
    )
    if case is None:
        raise NotFound(_("No case %(number)s.") % {"number": number}, field="number")
    return case
