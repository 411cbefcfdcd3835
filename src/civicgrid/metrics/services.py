"""Keeping the rollups current: recompute a case's contribution, add only the difference.

Idempotent by construction: the contribution is derived from the case's own rows, and the
stored one says what the rollups already hold; an event processed twice, late or out of
order finds nothing (or exactly the right thing) to add. A case's row is locked while its
contribution is replaced, so two workers on one case take turns and the later one sees the
other's writes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.geo.models import Region

from .counters import COUNTERS, Counts, add, is_zero, zero
from .models import ALL_TIME, CaseContribution, Dim, Rollup, Span
from .truth import DIMS, Filter, contributions_sql, execute

log = logging.getLogger(__name__)

BATCH = 200  # cases per transaction when many are refreshed (reconcile)

# (day, department) -> (dims, counts) for one case; dims = (region_path, grid_code, category, source)
Dims = tuple[str, str, int, str]
CaseRows = dict[tuple[dt.date, int], tuple[Dims, Counts]]
RowKey = tuple[str, dt.date, str, str, str]  # span, period, node, dim, key


def grid_node(region_path: str, grid_code: str) -> str:
    return f"{region_path}g:{grid_code}/"


def ancestors(paths: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """For each region path, its existing regions from the top down: [(path, level), ...]."""
    paths = set(paths)
    prefixes = {p[: i + 1] for p in paths for i, ch in enumerate(p) if ch == "/" and i > 0}
    levels = dict(Region.objects.filter(path__in=prefixes).values_list("path", "level"))
    return {
        p: [
            (pre, levels[pre])
            for pre in sorted(x for x in prefixes if p.startswith(x))
            if pre in levels
        ]
        for p in paths
    }


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def contributions_computed(case_ids: Sequence[int]) -> dict[int, CaseRows]:
    """The contributions the cases should have now, from their own rows."""
    sql, params = contributions_sql(Filter(ids=list(case_ids)))
    out: dict[int, CaseRows] = defaultdict(dict)
    with connection.cursor() as cur:
        execute(cur, sql, params)
        for row in cur.fetchall():
            case_id, day, department, *rest = row
            dims = (rest[0], rest[1], int(rest[2]), rest[3])
            counts = {
                name: int(v or 0) for name, v in zip(COUNTERS, rest[len(DIMS) :], strict=True)
            }
            out[case_id][(_as_date(day), int(department))] = (dims, counts)
    return out


def contributions_stored(case_ids: Sequence[int]) -> dict[int, CaseRows]:
    out: dict[int, CaseRows] = defaultdict(dict)
    rows = CaseContribution.objects.filter(case_id__in=case_ids).values_list(
        "case_id", "day", "department", *DIMS, *COUNTERS
    )
    for case_id, day, department, *rest in rows:
        dims = (rest[0], rest[1], rest[2], rest[3])
        out[case_id][(day, department)] = (
            dims,
            dict(zip(COUNTERS, rest[len(DIMS) :], strict=True)),
        )
    return out


def fan_out(
    rows: Iterable[tuple[dt.date, int, Dims, Counts, int]],
    levels: dict[str, list[tuple[str, str]]],
    *,
    spans: Sequence[str] = (Span.DAY, Span.MONTH, Span.ALL),
) -> dict[RowKey, tuple[str, Counts]]:
    """Each contribution row (times sign) added to every rollup row it belongs to."""
    out: dict[RowKey, tuple[str, Counts]] = {}
    for day, department, (path, grid_code, category, source), counts, sign in rows:
        periods: dict[str, dt.date] = {
            Span.DAY: day,
            Span.MONTH: day.replace(day=1),
            Span.ALL: ALL_TIME,
        }
        nodes = [(grid_node(path, grid_code), "grid"), *levels.get(path, [])]
        keys = [
            (Dim.TOTAL, ""),
            (Dim.CATEGORY, str(category)),
            (Dim.SOURCE, source),
            (Dim.DEPARTMENT, str(department)),
        ]
        for span in spans:
            for node, level in nodes:
                for dim, key in keys:
                    rk = (span, periods[span], node, dim, key)
                    if rk not in out:
                        out[rk] = (level, zero())
                    add(out[rk][1], counts, sign)
    return out


def _upsert(deltas: dict[RowKey, tuple[str, Counts]]) -> int:
    """Add the deltas to the rollup rows, creating them as needed; in key order (no deadlocks)."""
    rows = [(k, v) for k, v in sorted(deltas.items()) if not is_zero(v[1])]
    table = Rollup._meta.db_table
    cols = ["span", "period", "node", "level", "dim", "key", *COUNTERS]
    quoted = [connection.ops.quote_name(c) for c in cols]
    update = ", ".join(f"{q} = {table}.{q} + excluded.{q}" for q in quoted[6:])
    conflict = ", ".join(quoted[i] for i in (0, 1, 2, 4, 5))
    sql = (
        f"INSERT INTO {table} ({', '.join(quoted)}) VALUES ({', '.join(['%s'] * len(cols))})"
        f" ON CONFLICT ({conflict}) DO UPDATE SET {update}"
    )
    params: list[list[Any]] = [
        [span, period, node, level, dim, key, *(counts[c] for c in COUNTERS)]
        for (span, period, node, dim, key), (level, counts) in rows
    ]
    # One short statement, many rows: the driver parses it once and pipelines the rows.
    with connection.cursor() as cur:
        cur.executemany(sql, params)
    return len(rows)


LOCK_KEY = 0x6369766963_6D  # "civic" "m": the rollups' advisory lock on PostgreSQL


def _state_lock(*, exclusive: bool) -> None:
    """Rebuilds exclude incremental updates; incremental updates do not exclude each other."""
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time already
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cur:
        cur.execute(f"SELECT {fn}(%s)", [LOCK_KEY])


def _refresh_locked(case_ids: Sequence[int]) -> int:
    """Inside a transaction with the cases locked: bring their contributions up to date."""
    computed = contributions_computed(case_ids)
    stored = contributions_stored(case_ids)
    changed = [cid for cid in case_ids if computed.get(cid, {}) != stored.get(cid, {})]
    if not changed:
        return 0
    flat: list[tuple[dt.date, int, Dims, Counts, int]] = []
    for cid in changed:
        flat += [(d, dep, dims, c, -1) for (d, dep), (dims, c) in stored.get(cid, {}).items()]
        flat += [(d, dep, dims, c, 1) for (d, dep), (dims, c) in computed.get(cid, {}).items()]
    levels = ancestors(dims[0] for _d, _dep, dims, _c, _s in flat)
    _upsert(fan_out(flat, levels))
    CaseContribution.objects.filter(case_id__in=changed).delete()
    CaseContribution.objects.bulk_create(
        [
            CaseContribution(
                case_id=cid,
                day=day,
                department=dep,
                **dict(zip(DIMS, dims, strict=True)),
                **counts,
            )
            for cid in changed
            for (day, dep), (dims, counts) in computed.get(cid, {}).items()
        ]
    )
    return len(changed)


def rollup_refresh_cases(*, case_ids: Iterable[int]) -> int:
    """Recompute these cases' contributions and fix the rollups; returns how many changed."""
    ids = sorted(set(case_ids))
    changed = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        with transaction.atomic():
            _state_lock(exclusive=False)
            # Lock in id order; a case that no longer exists keeps no contribution.
            present = list(
                Case.objects.select_for_update()
                .filter(pk__in=batch)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            gone = sorted(set(batch) - set(present))
            changed += _refresh_locked(present + gone)
    return changed


def rollup_apply_event(*, event_id: int) -> None:
    """The case-event consumer (cases.tasks._consumers): bring the event's case up to date."""
    case_id = CaseEvent.objects.filter(pk=event_id).values_list("case_id", flat=True).first()
    if case_id is not None:
        rollup_refresh_cases(case_ids=[case_id])
