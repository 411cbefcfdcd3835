"""What the operations screen shows for one place: figures, trends, breakdowns, places below.

Everything comes from the rollups through `selectors`, so the screen costs a handful of small
queries however many cases there are, and refreshes every few seconds.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.models import User
from civicgrid.core import clock
from civicgrid.geo.models import GenerationStatus, Grid, GridKind, Region

from . import selectors
from .indicators import HOTLINE, INDICATORS
from .periods import period_from
from .sums import extent


def screen_target(*, user: User, region: str | None, grid: str | None) -> selectors.Target:
    """The place asked for; by default the caller's jurisdiction, as a region when it is one."""
    scope = selectors.metrics_scope(user=user)
    if not region and not grid and len(scope.region_paths) == 1 and not scope.grid_nodes:
        target = selectors.region_target(path=scope.region_paths[0], within=scope)
        if target is not None:
            return target
    return selectors.metrics_target(user=user, region=region, grid=grid, scope=scope)


def breadcrumbs(*, user: User, target: selectors.Target) -> list[dict[str, str]]:
    """From the top of the caller's jurisdiction down to the target: the way back up."""
    if target.kind == "jurisdiction":
        return []
    scope = target.within or selectors.metrics_scope(user=user)
    path = (
        target.scope.region_paths[0]
        if target.kind == "region"
        else target.scope.grid_nodes[0].split("g:")[0]
    )
    prefixes = [path[: i + 1] for i, ch in enumerate(path) if ch == "/" and i > 0]
    rows = {
        path: (code, name)
        for path, code, name in Region.objects.filter(path__in=prefixes).values_list(
            "path", "code", "name"
        )
    }
    crumbs = [
        {"kind": "region", "code": rows[p][0], "name": rows[p][1]}
        for p in prefixes
        if p in rows and scope.covers(p)
    ]
    if target.kind == "grid":
        crumbs.append({"kind": "grid", "code": target.code, "name": target.name})
    return crumbs


def _rates(indicators: dict[str, Any], which: Any) -> list[dict[str, Any]]:
    return [
        {"name": i.name, "label": str(i.label), "value": indicators.get(i.name), "unit": i.unit}
        for i in which
    ]


def screen_data(*, user: User, target: selectors.Target) -> dict[str, Any]:
    """The whole screen as plain data: the page renders it, the poll sends it again."""
    data = extent()  # looked up once for every figure below
    today = selectors.figures(target=target, period=period_from("today"), data=data)
    month_period = period_from("month")
    month = selectors.figures(target=target, period=month_period, data=data)
    return {
        "target": {
            "kind": target.kind,
            "code": target.code,
            "name": target.name,
            "level": target.level,
        },
        "generated_at": timezone.localtime(clock.now()).strftime("%Y-%m-%d %H:%M:%S"),
        "today": today["counters"],
        "now": month["now"],
        "month": {
            "from": month_period.first.isoformat(),
            "to": month_period.last.isoformat(),
            "counters": month["counters"],
            "rates": _rates(month["indicators"], INDICATORS),
            "hotline": _rates(month["hotline"]["indicators"], HOTLINE),
            "hotline_reported": month["hotline"]["counters"]["reported"],
        },
        "trend": [
            {**p, "day": p["day"].isoformat()}
            for p in selectors.trend(target=target, last=month_period.last, days=30)
        ],
        "categories": [
            {"key": r["key"], "name": r["name"], "reported": r["counters"]["reported"]}
            for r in selectors.breakdown(
                target=target, period=month_period, dim="category", data=data
            )
        ],
        "sources": [
            {"key": r["key"], "name": r["name"], "reported": r["counters"]["reported"]}
            for r in selectors.breakdown(
                target=target, period=month_period, dim="source", data=data
            )
        ],
        "children": [
            {
                "code": c["code"],
                "name": c["name"],
                "reported": c["counters"]["reported"],
                "closure_rate": c["indicators"]["closure_rate"],
                "open": c["now"]["open"],
                "overdue": c["now"]["overdue"],
            }
            for c in selectors.children(target=target, period=month_period, data=data)
        ],
        "grids": selectors.grids_now(target=target),
        "devices": None,  # no devices module yet: the screen says so instead of showing zeros
    }


def grid_features(*, target: selectors.Target) -> dict[str, Any]:
    """Management grids of the active generation inside the target, with their region chain."""
    where = Q(code__in=[n.rsplit("g:", 1)[1].rstrip("/") for n in target.scope.grid_nodes])
    for path in target.scope.region_paths:
        where |= Q(region__path__startswith=path)
    grids = (
        Grid.objects.filter(
            where, generation__status=GenerationStatus.ACTIVE, kind=GridKind.MANAGEMENT
        )
        .order_by("code")
        .values_list("code", "name", "geometry", "region__path")
    )
    inside = [g for g in grids if target.scope.covers(f"{g[3]}g:{g[0]}/")]
    prefixes = {p[: i + 1] for *_x, p in inside for i, ch in enumerate(p) if ch == "/" and i > 0}
    codes = dict(Region.objects.filter(path__in=prefixes).values_list("path", "code"))
    now = selectors.grids_now(target=target)
    top = target.scope.region_paths[0] if target.kind == "region" else ""
    features = []
    for code, name, geometry, path in inside:
        chain = sorted(p for p in prefixes if path.startswith(p) and p in codes)
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "code": code,
                    "name": name or code,
                    "drill": _drill(target, top, chain, codes, code),
                    **now.get(code, {"open": 0, "overdue": 0}),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _drill(
    target: selectors.Target, top: str, chain: list[str], codes: dict[str, str], grid: str
) -> str:
    """The query string of the next level down when this grid is clicked (district →
    subdistrict → community → grid); empty on a grid's own screen."""
    if target.kind == "grid":
        return ""
    if target.kind == "jurisdiction":
        below = [p for p in chain if target.scope.covers(p)]
    else:
        below = [p for p in chain if p.startswith(top) and p != top]
    return f"region={codes[below[0]]}" if below else f"grid={grid}"


def labels() -> dict[str, str]:
    """Words the screen's script needs, in the page's language."""
    return {
        "reported": _("Reported"),
        "accepted": _("Accepted"),
        "closures": _("Closed"),
        "open": _("Open"),
        "overdue": _("Overdue"),
        "no_map": _("The map cannot be shown on this device."),
        "drill": _("Click to look closer"),
    }
