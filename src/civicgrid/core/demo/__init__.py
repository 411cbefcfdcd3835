"""A realistic demo: a district shaped like Shanghai's 徐汇区, its grids, people and 60 days of cases.

Everything is written through the product's own services (regions, grid generations, the
taxonomy, every case action) with the clock set back to when each step happened, so the demo
shows what real use leaves behind. A fixed seed gives the same demo every time.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from civicgrid.accounts.models import Role, User
from civicgrid.cases.models import Case, Category
from civicgrid.cases.services import (
    case_sweep_deadlines,
    category_upsert_many,
    sla_policy_upsert_many,
)
from civicgrid.cases.services.taxonomy import DATA_DIR, category_rows_from_document, read_json
from civicgrid.geo.models import Grid, Region

from . import texts
from .history import Planner
from .layout import SIZES, build_layout, import_layout
from .people import PASSWORD, create_cast
from .replay import Replay

DEFAULT_SEED = 20240601


@dataclass
class DemoResult:
    size: str
    regions: int
    management_grids: int
    unit_grids: int
    cases: int
    states: Counter[str]
    overdue: int
    hotline_token: str
    seconds: float
    failures: list[str] = field(default_factory=list)


def demo_exists() -> bool:
    return Region.objects.filter(code=texts.DISTRICT[0]).exists()


def database_has_places_or_cases() -> bool:
    """The demo builds a whole world; it will not mix itself into an existing one."""
    return Region.objects.exists() or Grid.objects.exists() or Case.objects.exists()


def build_demo(
    *, size: str = "full", seed: int = DEFAULT_SEED, now: dt.datetime | None = None
) -> DemoResult:
    started = time.monotonic()
    spec = SIZES[size]
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    rng = random.Random(seed)
    # One transaction: a failure leaves the database as it was, not half a demo.
    with transaction.atomic():
        layout = build_layout(spec, rng)
        import_layout(layout)
        cast = create_cast(layout, rng)
        category_upsert_many(
            rows=category_rows_from_document(read_json(DATA_DIR / "categories.json"))
        )
        sla_policy_upsert_many(rows=read_json(DATA_DIR / "sla_policies.json")["policies"])
        departments = {
            c.code: c.default_department.code
            for c in Category.objects.filter(parent__isnull=False).select_related(
                "default_department"
            )
            if c.default_department is not None
        }
        plans = Planner(layout, departments, rng, now).plan(spec.cases)
        Replay(layout, cast, rng).run(plans, until=now)
        case_sweep_deadlines(now=now)
    cases = Case.objects.all()
    return DemoResult(
        size=size,
        regions=Region.objects.count(),
        management_grids=len(layout.grids),
        unit_grids=sum(len(g.cells) for g in layout.grids),
        cases=cases.count(),
        states=Counter(cases.values_list("state", flat=True)),
        overdue=cases.filter(overdue=True).count(),
        hotline_token=cast.hotline_token,
        seconds=time.monotonic() - started,
        failures=[p.failed for p in plans if p.failed],
    )


ROLE_ORDER = [
    Role.ADMIN,
    Role.OPS_CENTER,
    Role.OPERATOR,
    Role.DISPATCHER,
    Role.STATION_HEAD,
    Role.INSPECTOR,
    Role.DEPARTMENT_HANDLER,
    Role.RESIDENT,
]


def login_rows() -> list[tuple[str, str, str, str]]:
    """(username, role, who and where) of every account, in role order."""
    users = list(User.objects.prefetch_related("regions").select_related("department"))
    users.sort(key=lambda u: (ROLE_ORDER.index(Role(u.role)), u.username))
    rows = []
    for u in users:
        where = ", ".join(r.name for r in u.regions.all())
        if u.grid_codes:
            where = ", ".join(u.grid_codes[:2]) + ("…" if len(u.grid_codes) > 2 else "")
        if u.department:
            where = u.department.name
        rows.append((u.username, str(u.get_role_display()), u.display_name, where))
    return rows


__all__ = [
    "DEFAULT_SEED",
    "PASSWORD",
    "SIZES",
    "DemoResult",
    "build_demo",
    "database_has_places_or_cases",
    "demo_exists",
    "login_rows",
]
