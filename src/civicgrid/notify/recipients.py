"""Who should hear about a case: found from roles, departments and jurisdictions.

"Nearest first": of the staff of a role whose jurisdiction covers the case, those who hold its
management grid by code come first; if there are none, those whose region is the lowest
ancestor of the case's region that has anyone of that role; and so on up to the district. A
dispatcher of a whole district therefore hears about a grid only when nobody closer would.
"""

from __future__ import annotations

from collections.abc import Iterable

from civicgrid.accounts.models import Role, User
from civicgrid.cases.models import Case
from civicgrid.geo.models import LEVEL_ORDER, Region


def _ancestor_ids(path: str) -> list[int]:
    """Region ids from the root down to the case's own region."""
    return [int(p) for p in path.strip("/").split("/") if p]


def _staff(role: str, *, department_ids: Iterable[int] | None = None) -> list[User]:
    qs = User.objects.filter(role=role, is_active=True).prefetch_related("regions")
    if department_ids is not None:
        qs = qs.filter(department_id__in=list(department_ids))
    return list(qs.order_by("id"))


def _region_ids(user: User) -> set[int]:
    return {r.pk for r in user.regions.all()}


def _covers(user: User, case: Case) -> bool:
    ancestors = set(_ancestor_ids(case.region_path))
    return bool(_region_ids(user) & ancestors) or case.management_grid.code in (
        user.grid_codes or []
    )


def nearest_staff(case: Case, role: str, *, from_level: str | None = None) -> list[User]:
    """Users of `role` closest to the case, starting at `from_level` (grid when None)."""
    users = _staff(role)
    if from_level is None:
        by_grid = [u for u in users if case.management_grid.code in (u.grid_codes or [])]
        if by_grid:
            return by_grid
    ancestors = _ancestor_ids(case.region_path)
    levels = dict(Region.objects.filter(pk__in=ancestors).values_list("pk", "level"))
    depth = {str(level): i for i, level in enumerate(LEVEL_ORDER)}
    start = depth.get(from_level or "", len(LEVEL_ORDER))
    for region_id in reversed(ancestors):  # lowest region first
        level = levels.get(region_id)
        if level is None or depth.get(level, len(LEVEL_ORDER)) > start:
            continue
        found = [u for u in users if region_id in _region_ids(u)]
        if found:
            return found
    return []


def department_handlers(case: Case, department_ids: Iterable[int]) -> list[User]:
    """Handlers of these departments; a team limited to part of the area only for its part."""
    return [
        u
        for u in _staff(Role.DEPARTMENT_HANDLER, department_ids=department_ids)
        if not (u.regions.all() or u.grid_codes) or _covers(u, case)
    ]
