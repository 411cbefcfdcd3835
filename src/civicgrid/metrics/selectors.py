"""Reads of the figures, always within the caller's jurisdiction, always from rollup rows.

The jurisdiction is the one `cases.selectors.case_scope_q` uses: the user's regions (and
everything below them) and their grid codes; administrators see every district.

A request here is a handful of short indexed queries written in SQL (see `sums`): the
caller's regions, the place asked for, and one query over the rollup rows per figure set.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Department, Role, User
from civicgrid.core.errors import NotAllowed, NotFound
from civicgrid.geo.models import GenerationStatus, Grid, GridKind, Region

from .counters import Counts, add, is_zero, zero
from .indicators import HOTLINE, compute
from .models import ALL_TIME, Dim, Span
from .periods import Period
from .services import grid_node
from .sums import ASK, TABLE, day_sums, in_list, sums

METRICS_ROLES = frozenset({Role.OPS_CENTER, Role.ADMIN, Role.STATION_HEAD, Role.DISPATCHER})
RANK_BY = ("grid", "community", "subdistrict", "department")

_REGION = Region._meta.db_table
_GRID = Grid._meta.db_table
_DEPARTMENT = Department._meta.db_table
_USER_REGIONS = User.regions.through._meta.db_table
_USER_COL = User.regions.field.m2m_column_name()
_REGION_COL = User.regions.field.m2m_reverse_name()


def _fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, list(params))
        return cur.fetchall()


def may_see_metrics(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.role in METRICS_ROLES)
    )


@dataclass
class Scope:
    """A set of rollup nodes whose rows never overlap: region paths, then grids outside them."""

    region_paths: list[str] = field(default_factory=list)
    grid_nodes: list[str] = field(default_factory=list)

    @property
    def nodes(self) -> list[str]:
        return self.region_paths + self.grid_nodes

    def covers(self, node: str) -> bool:
        return node in self.grid_nodes or any(node.startswith(p) for p in self.region_paths)

    def nodes_sql(self) -> tuple[str, list[Any]]:
        """Rollup rows of exactly these nodes."""
        return in_list("node", self.nodes)

    def under_sql(self) -> tuple[str, list[Any]]:
        """Rollup rows of this scope and of everything below it (prefix matches, indexed)."""
        parts: list[str] = []
        params: list[Any] = []
        if self.grid_nodes:
            sql, params = in_list("node", self.grid_nodes)
            parts.append(sql)
        for path in self.region_paths:
            parts.append("node LIKE %s ESCAPE '\\'")
            params.append(_like_prefix(path))
        return ("(" + " OR ".join(parts) + ")" if parts else "1 = 0"), params


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _minimal(paths: list[str]) -> list[str]:
    kept: list[str] = []
    for p in sorted(set(paths)):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return kept


def _grid_nodes(codes: list[str]) -> list[str]:
    """The rollup nodes of management grids by code: one per region the code was drawn in."""
    if not codes:
        return []
    where, params = in_list("g.code", codes)
    rows = _fetch(
        f'SELECT r.path, g.code FROM "{_GRID}" g JOIN "{_REGION}" r ON r.id = g.region_id'
        f" WHERE {where} AND g.kind = %s",
        [*params, GridKind.MANAGEMENT],
    )
    return sorted({grid_node(path, code) for path, code in rows})


def metrics_scope(*, user: User) -> Scope:
    """The caller's jurisdiction as rollup nodes; 403 for roles that do not score anyone."""
    if not may_see_metrics(user):
        raise NotAllowed(_("Your role may not see performance figures."))
    if user.is_superuser or user.role == Role.ADMIN:
        paths = [r[0] for r in _fetch(f'SELECT path FROM "{_REGION}" WHERE parent_id IS NULL')]
        return Scope(region_paths=_minimal(paths))
    rows = _fetch(
        f'SELECT r.path FROM "{_REGION}" r JOIN "{_USER_REGIONS}" ur'
        f" ON ur.{_REGION_COL} = r.id WHERE ur.{_USER_COL} = %s",
        [user.pk],
    )
    scope = Scope(region_paths=_minimal([r[0] for r in rows]))
    scope.grid_nodes = [n for n in _grid_nodes(list(user.grid_codes or [])) if not scope.covers(n)]
    return scope


@dataclass
class Target:
    kind: str  # "jurisdiction", "region" or "grid"
    code: str
    name: str
    level: str
    scope: Scope  # the target itself, as nodes
    within: Scope | None = None  # the caller's jurisdiction it was found in


def metrics_target(
    *,
    user: User,
    region: str | None = None,
    grid: str | None = None,
    scope: Scope | None = None,
) -> Target:
    """The caller's whole jurisdiction, or one region or grid inside it (404 outside).

    `scope` is the caller's, when the caller has just looked it up (`metrics_scope`)."""
    scope = scope or metrics_scope(user=user)
    if grid:
        nodes = [n for n in _grid_nodes([grid]) if scope.covers(n)]
        if not nodes:
            raise NotFound(
                _("No grid %(code)s in your jurisdiction.") % {"code": grid}, field="grid"
            )
        name = _grid_names([grid])[grid]
        return Target("grid", grid, name, "grid", Scope(grid_nodes=nodes), scope)
    if region:
        target = region_target(code=region, within=scope)
        if target is None:
            raise NotFound(
                _("No region %(code)s in your jurisdiction.") % {"code": region}, field="region"
            )
        return target
    return Target("jurisdiction", "", _("My jurisdiction"), "", scope, scope)


def region_target(*, within: Scope, code: str = "", path: str = "") -> Target | None:
    """The region with this code (or path) as a target, if it is inside `within`."""
    column, value = ("code", code) if code else ("path", path)
    rows = _fetch(f'SELECT path, code, name, level FROM "{_REGION}" WHERE "{column}" = %s', [value])
    if not rows or not within.covers(rows[0][0]):
        return None
    path, code, name, level = rows[0]
    return Target("region", code, name, level, Scope(region_paths=[path]), within)


def _present(counts: Counts) -> dict[str, Any]:
    return {"counters": counts, "indicators": compute(counts)}


def figures(*, target: Target, period: Period, data: Any = ASK) -> dict[str, Any]:
    """Counters and indicators for the period, the 12345 trio, and what is open now.

    One query: the period's total and hotline rows, and the all-time total row (open now);
    and one for the days that hold data, unless the caller has it (`data`, `sums.extent()`).
    """
    where, params = target.scope.nodes_sql()
    by_dim, now = sums(
        f'{where} AND (dim = %s OR (dim = %s AND "key" = %s))',
        [*params, Dim.TOTAL, Dim.SOURCE, "hotline"],
        period,
        ("dim",),
        now=True,
        data=data,
    )
    total, hotline, open_now = by_dim[Dim.TOTAL], by_dim[Dim.SOURCE], now[Dim.TOTAL]
    return {
        "target": {"kind": target.kind, "code": target.code, "name": target.name},
        "period": {"first": period.first, "last": period.last},
        **_present(total),
        "hotline": {"counters": hotline, "indicators": compute(hotline, HOTLINE)},
        "now": {"open": open_now["open"], "overdue": open_now["overdue"]},
    }


def _grid_code(node: str) -> str:
    return node.rsplit("g:", 1)[1].rstrip("/")


_names: dict[str, Any] = {"at": 0.0, "names": {}}
NAMES_SECONDS = 60.0


def _grid_names(codes: list[str]) -> dict[str, str]:
    """Grid names, from the active generation first, else from the newest one with the code.

    Kept for a minute per process: names change with a new generation, rarely, and looking
    up hundreds of codes on every ranking would cost more than the ranking.
    """
    if time.monotonic() - _names["at"] > NAMES_SECONDS or not set(codes) <= set(_names["names"]):
        rows = (
            Grid.objects.filter(kind=GridKind.MANAGEMENT)
            .order_by("generation__activated_at")
            .values_list("code", "name", "generation__status")
        )
        names: dict[str, str] = {}
        for code, name, status in rows:
            if status == GenerationStatus.ACTIVE or code not in names:
                names[code] = name or code
        _names.update(at=time.monotonic(), names=names)
    return {c: _names["names"].get(c, c) for c in codes}


def _labels(by: str, keys: list[Any]) -> dict[Any, tuple[str, str]]:
    """(code, name) of each ranked row's key."""
    if by == "grid":
        names = _grid_names(keys)
        return {k: (k, names.get(k, k)) for k in keys}
    if by == "department":
        where, params = in_list("id", [int(k) for k in keys])
        rows = _fetch(f'SELECT id, code, name FROM "{_DEPARTMENT}" WHERE {where}', params)
        return {str(pk): (code, name) for pk, code, name in rows}
    where, params = in_list("path", keys)
    rows = _fetch(f'SELECT path, code, name FROM "{_REGION}" WHERE {where}', params)
    return {path: (code, name) for path, code, name in rows}


def _value(row: dict[str, Any], sort: str) -> float | None:
    value = row["indicators"].get(sort, row["counters"].get(sort))
    return None if value is None else float(value)


def ranking(
    *, target: Target, by: str, period: Period, sort: str = "closure_rate", descending: bool = True
) -> list[dict[str, Any]]:
    """Grids, communities, subdistricts or departments of the target, ranked by an indicator."""
    totals: dict[Any, Counts]
    if by == "department":
        where, params = target.scope.nodes_sql()
        totals, _now = sums(
            f'{where} AND dim = %s AND "key" <> %s',
            [*params, Dim.DEPARTMENT, "0"],
            period,
            ("key",),
        )
    else:
        where, params = target.scope.under_sql()
        totals, _now = sums(
            f"{where} AND level = %s AND dim = %s", [*params, by, Dim.TOTAL], period, ("node",)
        )
        if by == "grid":  # one grid drawn again in a new generation is still one grid
            merged: dict[Any, Counts] = {}
            for node, counts in totals.items():
                code = _grid_code(node)
                if code in merged:
                    add(merged[code], counts)
                else:
                    merged[code] = counts
            totals = merged
    # A place with nothing in the period is left out, however the period was added up.
    # (The counts hold exactly the COUNTERS: any() of their values is `not is_zero`.)
    found = {k: c for k, c in totals.items() if any(c.values())}
    labels = _labels(by, list(found))
    rows: list[dict[str, Any]] = [
        {
            "code": labels.get(k, (str(k), str(k)))[0],
            "name": labels.get(k, ("", str(k)))[1],
            "counters": c,
            "indicators": compute(c),
        }
        for k, c in found.items()
    ]
    # Ties: more cases first, then by code; a place without the figure comes last.
    sign = -1 if descending else 1

    def order(row: dict[str, Any]) -> tuple[bool, float, int, str]:
        v = _value(row, sort)
        return (
            v is None,
            0.0 if v is None else sign * v,
            -row["counters"]["reported"],
            row["code"],
        )

    rows.sort(key=order)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def trend(*, target: Target, last: dt.date, days: int = 30) -> list[dict[str, Any]]:
    """Day by day: what was reported, accepted and closed, for the last `days` days."""
    first = last - dt.timedelta(days=days - 1)
    where, params = target.scope.nodes_sql()
    by_day = day_sums(f"{where} AND dim = %s", [*params, Dim.TOTAL], first, last)
    out = []
    for i in range(days):
        day = first + dt.timedelta(days=i)
        c = by_day.get(day) or zero()
        out.append(
            {
                "day": day,
                "reported": c["reported"],
                "accepted": c["accepted"],
                "closures": c["closures"],
                "open": c["open"],
            }
        )
    return out


def breakdown(*, target: Target, period: Period, dim: str, data: Any = ASK) -> list[dict[str, Any]]:
    """The period's figures per category or per source."""
    from civicgrid.cases.models import Category, Source

    code = {"category": Dim.CATEGORY, "source": Dim.SOURCE}[dim]
    where, params = target.scope.nodes_sql()
    by_key, _now = sums(f"{where} AND dim = %s", [*params, code], period, ("key",), data=data)
    found = {k: c for k, c in by_key.items() if not is_zero(c)}
    if dim == "category":
        where, params = in_list("id", [int(k) for k in found])
        rows = _fetch(
            f'SELECT id, code, name, name_en FROM "{Category._meta.db_table}" WHERE {where}',
            params,
        )
        names = {str(pk): (c, n, en) for pk, c, n, en in rows}
    else:
        names = {k: (k, str(Source(k).label) if k in Source.values else k, "") for k in found}
    out = [
        {"key": names.get(k, (k, k, ""))[0], "name": names.get(k, (k, k, ""))[1], **_present(c)}
        for k, c in found.items()
    ]
    out.sort(key=lambda r: (-r["counters"]["reported"], r["key"]))
    return out


def grids_now(*, target: Target) -> dict[str, dict[str, int]]:
    """Open and overdue cases per grid code, now (for the map)."""
    where, params = target.scope.under_sql()
    rows = _fetch(
        f'SELECT node, "open", overdue FROM "{TABLE}" WHERE {where}'
        " AND span = %s AND period = %s AND level = %s AND dim = %s",
        [*params, Span.ALL, connection.ops.adapt_datefield_value(ALL_TIME), "grid", Dim.TOTAL],
    )
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"open": 0, "overdue": 0})
    for node, open_, overdue in rows:
        cell = out[_grid_code(node)]
        cell["open"] += open_
        cell["overdue"] += overdue
    return dict(out)


def children(*, target: Target, period: Period, data: Any = ASK) -> list[dict[str, Any]]:
    """The regions one level below the target, with the period's figures and open cases now."""
    if target.kind == "grid":
        return []
    where, params = in_list("p.path", target.scope.region_paths)
    kids = _fetch(
        f'SELECT r.path, r.code, r.name, r.level FROM "{_REGION}" r'
        f' JOIN "{_REGION}" p ON p.id = r.parent_id WHERE {where} ORDER BY r.code',
        params,
    )
    if not kids:
        return []
    where, params = in_list("node", [k[0] for k in kids])
    by_node, now = sums(f"{where} AND dim = %s", [*params, Dim.TOTAL], period, ("node",), now=True)
    return [
        {
            "code": code,
            "name": name,
            "level": level,
            **_present(by_node.get(path) or zero()),
            "now": {
                "open": (now.get(path) or zero())["open"],
                "overdue": (now.get(path) or zero())["overdue"],
            },
        }
        for path, code, name, level in kids
    ]
