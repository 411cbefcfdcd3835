"""Build every contribution and rollup row again from the cases, in set-based SQL.

For a new deployment, after a change to an indicator's definition or window, or after a
bulk import that bypassed the services. Incremental updates wait while it runs.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min

from civicgrid.cases.models import Case
from civicgrid.core import clock

from .counters import COUNTERS
from .models import ALL_TIME, CaseContribution, Dim, Rollup, RollupState, Span
from .services import _state_lock, ancestors
from .truth import OUT_COLUMNS, Filter, contributions_sql, execute

log = logging.getLogger(__name__)

CHUNK = 500_000  # cases per INSERT ... SELECT


def _month(column: str) -> str:
    """The first of the column's month, by date arithmetic (no time zone involved)."""
    if connection.vendor == "postgresql":
        return f"({column} - CAST(date_part('day', {column}) AS integer) + 1)"
    return f"date({column}, 'start of month')"


def _exec(sql: str, params: list | tuple = ()) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, list(params))
        return cur.rowcount


def _contributions(progress: Callable[[str], None]) -> int:
    table = CaseContribution._meta.db_table
    cols = ", ".join(connection.ops.quote_name(c) for c in OUT_COLUMNS)
    bounds = Case.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return 0
    total = 0
    for lo in range(bounds["lo"], bounds["hi"] + 1, CHUNK):
        sql, params = contributions_sql(Filter(id_range=(lo, lo + CHUNK - 1)))
        with connection.cursor() as cur:
            execute(cur, f"INSERT INTO {table} ({cols}) {sql}", params)
            total += cur.rowcount
        progress(f"contributions: cases {lo}..{lo + CHUNK - 1}, {total} rows")
    return total


@contextlib.contextmanager
def _indexes_afterwards(table: str, *, primary: bool = False) -> Iterator[None]:
    """PostgreSQL: drop the table's secondary indexes (and with `primary` its primary key),
    fill it, index it once at the end.

    Only for a first build: dropping an index locks the table against readers until commit,
    which is nothing to an empty table and minutes to a live one.
    """
    with connection.cursor() as cur:
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = ANY(%s)",
            [table, ["u", "p"] if primary else ["u"]],
        )
        constraints = cur.fetchall()
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint"
            " WHERE conrelid = %s::regclass)",
            [table, table],
        )
        indexes = cur.fetchall()
        for name, _d in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _d in indexes:
            cur.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cur:
        for _name, definition in indexes:
            cur.execute(definition)
        for name, definition in constraints:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


# Working tables of a rebuild. On PostgreSQL unlogged (not temporary) tables, so that the
# big aggregations can run in parallel workers; they live only inside the rebuild's transaction.
WORK = ("grid", "gridmap", "parent", "region", "month")


def _work(name: str) -> str:
    return f"metrics_rebuild_{name}"


def _create_as(name: str, select: str, params: list | tuple = ()) -> int:
    kind = "UNLOGGED" if connection.vendor == "postgresql" else "TEMPORARY"
    rows = _exec(f"CREATE {kind} TABLE {_work(name)} AS {select}", params)
    if connection.vendor == "postgresql":
        _exec(f"ANALYZE {_work(name)}")
    return rows


def _rollups(progress: Callable[[str], None]) -> int:
    """Every rollup row from the contributions, each grain added up from the one below it.

    The contributions are added up per grid and day for each dimension; each region's day
    rows from its grids and its child regions, the deepest regions first; months from days,
    all time from months. Each step reads the smallest grain that holds what it needs.
    """
    rollup = Rollup._meta.db_table
    contrib = CaseContribution._meta.db_table
    q = connection.ops.quote_name
    counters = ", ".join(q(c) for c in COUNTERS)
    sums = ", ".join(f"CAST(SUM({q(c)}) AS BIGINT) AS {q(c)}" for c in COUNTERS)
    insert = f"INSERT INTO {rollup} (span, period, node, level, dim, {q('key')}, {counters})"
    for name in WORK:
        _exec(f"DROP TABLE IF EXISTS {_work(name)}")
    # 1. The grids' day rows per dimension, straight from the contributions (each a parallel
    # aggregation on PostgreSQL); the totals from the categories' rows.
    keys = {
        Dim.CATEGORY: ("category", "CAST(category AS VARCHAR(32))"),
        Dim.SOURCE: ("source", "source"),
        Dim.DEPARTMENT: ("department", "CAST(department AS VARCHAR(32))"),
    }
    _create_as(
        "grid",
        " UNION ALL ".join(
            f"SELECT day, region_path, grid_code, CAST('{dim}' AS VARCHAR(1)) AS dim,"
            f" CAST({key} AS VARCHAR(32)) AS k, {sums} FROM {contrib}"
            f" GROUP BY day, region_path, grid_code, {column}"
            for dim, (column, key) in keys.items()
        ),
    )
    _exec(
        f"INSERT INTO {_work('grid')} SELECT day, region_path, grid_code, '{Dim.TOTAL}', '',"
        f" {sums} FROM {_work('grid')} WHERE dim = '{Dim.CATEGORY}'"
        " GROUP BY day, region_path, grid_code"
    )
    total = _exec(
        f"{insert} SELECT '{Span.DAY}', day, region_path || 'g:' || grid_code || '/', 'grid',"
        f" dim, k, {counters} FROM {_work('grid')}"
    )
    progress(f"day rows of the grids: {total} rows")
    # 2. The regions' day rows, deepest first: a region adds up the grids drawn directly in it
    # and its child regions. Only regions that exist get rows, as in `services.fan_out`.
    with connection.cursor() as cur:
        cur.execute(f"SELECT DISTINCT region_path FROM {_work('grid')}")
        chains = ancestors(r[0] for r in cur.fetchall())
    gridmap = {p: (chain[-1][0], len(chain) - 1) for p, chain in chains.items() if chain}
    parent: dict[str, tuple[str | None, str, int]] = {}
    for chain in chains.values():
        for depth, (path, level) in enumerate(chain):
            parent[path] = (chain[depth - 1][0] if depth else None, level, depth)
    _table("gridmap", "region_path VARCHAR(255), region VARCHAR(255), depth INTEGER", gridmap)
    _table(
        "parent", "path VARCHAR(255), parent VARCHAR(255), level VARCHAR(16), depth INTEGER", parent
    )
    _create_as(
        "region",
        f"SELECT day, CAST(region_path AS VARCHAR(300)) AS node, 0 AS depth, dim, k, {counters}"
        f" FROM {_work('grid')} WHERE 1 = 0",
    )
    for depth in range(max((d for _p, _l, d in parent.values()), default=-1), -1, -1):
        _exec(
            f"INSERT INTO {_work('region')} SELECT day, node, %s, dim, k, {sums} FROM ("
            f" SELECT t.day, m.region AS node, t.dim, t.k, {_prefixed('t', counters)}"
            f" FROM {_work('grid')} t JOIN {_work('gridmap')} m ON m.region_path = t.region_path"
            " WHERE m.depth = %s UNION ALL"
            f" SELECT r.day, p.parent, r.dim, r.k, {_prefixed('r', counters)}"
            f" FROM {_work('region')} r JOIN {_work('parent')} p ON p.path = r.node"
            " WHERE r.depth = %s AND p.parent IS NOT NULL"
            ") x GROUP BY day, node, dim, k",
            [depth, depth, depth + 1],
        )
    total += _exec(
        f"{insert} SELECT '{Span.DAY}', r.day, r.node, p.level, r.dim, r.k,"
        f" {_prefixed('r', counters)} FROM {_work('region')} r"
        f" JOIN {_work('parent')} p ON p.path = r.node"
    )
    progress(f"day rows of the regions: {total} rows in all")
    # 3. Months from the days, all time from the months.
    _create_as(
        "month",
        f"SELECT {_month('day')} AS period, node, level, dim, k, {sums} FROM ("
        f" SELECT day, region_path || 'g:' || grid_code || '/' AS node, 'grid' AS level, dim, k,"
        f" {counters} FROM {_work('grid')} UNION ALL"
        f" SELECT r.day, r.node, p.level, r.dim, r.k, {_prefixed('r', counters)}"
        f" FROM {_work('region')} r JOIN {_work('parent')} p ON p.path = r.node"
        f") x GROUP BY {_month('day')}, node, level, dim, k",
    )
    total += _exec(
        f"{insert} SELECT '{Span.MONTH}', period, node, level, dim, k, {counters}"
        f" FROM {_work('month')}"
    )
    total += _exec(
        f"{insert} SELECT '{Span.ALL}', %s, node, level, dim, k, {sums}"
        f" FROM {_work('month')} GROUP BY node, level, dim, k",
        [ALL_TIME],
    )
    progress(f"month and all-time rows: {total} rows in all")
    for name in WORK:
        _exec(f"DROP TABLE {_work(name)}")
    return total


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


def _table(name: str, columns: str, rows: dict[str, tuple[Any, ...]]) -> None:
    kind = "UNLOGGED" if connection.vendor == "postgresql" else "TEMPORARY"
    _exec(f"CREATE {kind} TABLE {_work(name)} ({columns})")
    if rows:
        marks = ", ".join(["%s"] * (1 + len(next(iter(rows.values())))))
        with connection.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {_work(name)} VALUES ({marks})",
                [[key, *values] for key, values in rows.items()],
            )


def rollup_rebuild(*, progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """Empty and rebuild the contributions and rollups in one transaction."""
    say = progress or log.info
    started = time.monotonic()
    with transaction.atomic():
        _state_lock(exclusive=True)
        postgres = connection.vendor == "postgresql"
        if postgres:
            # Big sorts and hashes in memory; no JIT, whose compiling costs seconds per
            # statement here and saves less.
            for setting in ("work_mem = '256MB'", "maintenance_work_mem = '512MB'", "jit = off"):
                _exec(f"SET LOCAL {setting}")
        first_build = not Rollup.objects.exists()
        first_contributions = not CaseContribution.objects.exists()
        _exec(f"DELETE FROM {Rollup._meta.db_table}")
        _exec(f"DELETE FROM {CaseContribution._meta.db_table}")
        if first_contributions and postgres:
            with _indexes_afterwards(CaseContribution._meta.db_table, primary=True):
                contributions = _contributions(say)
        else:
            contributions = _contributions(say)
        t1 = time.monotonic()
        if first_build and postgres:
            with _indexes_afterwards(Rollup._meta.db_table):
                rollups = _rollups(say)
        else:
            rollups = _rollups(say)
        if postgres:  # the planner's statistics of the new rows, before anyone reads them
            _exec(f"ANALYZE {Rollup._meta.db_table}, {CaseContribution._meta.db_table}")
        RollupState.objects.update_or_create(id=1, defaults={"rebuilt_at": clock.now()})
    done = time.monotonic()
    return {
        "contributions": contributions,
        "rollups": rollups,
        "contribution_seconds": round(t1 - started, 1),
        "rollup_seconds": round(done - t1, 1),
    }
