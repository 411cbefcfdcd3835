"""Benchmark: indicator figures from the rollups vs. the naive GROUP BY over the cases table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/civicgrid .venv/bin/python bench/bench_metrics.py

Needs PostgreSQL (skips with a message otherwise). It creates its own database next to the one
in DATABASE_URL (`<name>_bench_metrics`, dropped first; BENCH_KEEP=1 keeps it afterwards) and:

1. builds a district of 12 subdistricts, 96 communities and 288 management grids through the
   geo services, with departments, categories and staff;
2. generates BENCH_CASES cases (default 10,000,000: a year of a large district) straight into
   the tables with PostgreSQL generate_series, in two sessions side by side -- not through the
   services, which would take days -- with the rows the indicators read: lead assignments,
   return, extension and 12345 decision events, feedback. Other timeline rows (report, take
   ...) are not generated;
3. builds the rollups with the product's own `rebuild_rollups` code, while a third session
   builds the cases tables' indexes again and vacuums them;
4. starts a real task worker (`manage.py db_worker`, polling every BENCH_WORKER_INTERVAL
   seconds, 1 as deployed), waits until it runs, then starts a process that runs case actions
   through the services (report, accept, dispatch, take, handle, return, extend, verify, close,
   rate, reject) at BENCH_ACTIONS_PER_S, and meanwhile measures p50/p95 over BENCH_REQUESTS
   HTTP requests per endpoint through the API (django.test.Client, JSON), next to the naive
   queries over the cases table (the core GROUP BY and the whole figure set);
5. stops the actions, waits for the worker to catch up, reports how far the rollups lagged
   behind each action, and checks that every figure equals the naive one exactly;
6. writes the results into docs/benchmarks.md (its own section; BENCH_DOCS=0 leaves it alone,
   for trial runs) and var/bench_metrics_last.json.

At 10,000,000 cases it takes about 20 minutes on two cores; BENCH_CASES=200000 is a quick trial.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pathlib
import re
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

N_SUB, N_COMM, N_GRID = 12, 8, 3  # subdistricts, communities per subdistrict, grids per community
DEPTS = [
    ("CG", "城管"),
    ("SCJG", "市场监管"),
    ("XF", "消防"),
    ("SRLH", "市容绿化"),
    ("WY", "物业"),
    ("ZF", "综合执法"),
]
MAJORS = [("01", "市容环境"), ("02", "设施管理"), ("03", "街面秩序")]
MINORS_PER_MAJOR = 4
SOURCES = [
    ("patrol", 0.45),
    ("hotline", 0.70),
    ("resident", 0.85),
    ("device", 0.93),
    ("opinion", 0.95),
    ("api", 1.0),
]
T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {text}", flush=True)


def bench_url(url: str) -> tuple[str, str, str]:
    """(the bench database's URL, the maintenance URL, the bench database's name)."""
    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "civicgrid") + "_bench_metrics"
    return (
        urlunsplit(parts._replace(path="/" + name)),
        urlunsplit(parts._replace(path="/postgres")),
        name,
    )


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "civicgrid.settings.base"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


# -- the world ---------------------------------------------------------------------------------


def build_world() -> dict[str, Any]:
    from civicgrid.accounts.models import Department, Role, User
    from civicgrid.cases.models import Category, CategoryKind, HourType, SlaPolicy, Urgency
    from civicgrid.geo.models import GridKind, RegionLevel
    from civicgrid.geo.services import (
        GridSpec,
        generation_activate,
        generation_import,
        region_create,
    )

    district = region_create(code="310199", name="基准区", level=RegionLevel.DISTRICT)
    subs, specs, size = [], [], 0.006
    for s in range(N_SUB):
        sub = region_create(
            code=f"310199{s + 1:03d}",
            name=f"第{s + 1}街道",
            level=RegionLevel.SUBDISTRICT,
            parent=district,
        )
        subs.append(sub)
        for c in range(N_COMM):
            comm = region_create(
                code=f"{sub.code}{c + 1:03d}",
                name=f"{sub.name}{c + 1}社区",
                level=RegionLevel.COMMUNITY,
                parent=sub,
            )
            for g in range(N_GRID):
                x = (
                    121.30
                    + ((s % 4) * N_COMM // 2 * N_GRID + (c % (N_COMM // 2)) * N_GRID + g) * size
                )
                y = 31.10 + ((s // 4) * 2 + c // (N_COMM // 2)) * size
                ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
                specs.append(
                    GridSpec(
                        code=f"{comm.code}{g + 1:03d}",
                        kind=GridKind.MANAGEMENT,
                        region_code=comm.code,
                        geometry={"type": "Polygon", "coordinates": [ring]},
                        name=f"{comm.name}{g + 1}号网格",
                    )
                )
    generation_activate(generation=generation_import(label="bench", grids=specs))
    depts = [Department.objects.create(code=c, name=n) for c, n in DEPTS]
    minors = []
    for i, (code, name) in enumerate(MAJORS):
        major = Category.objects.create(code=code, name=name, kind=CategoryKind.EVENT)
        for j in range(MINORS_PER_MAJOR):
            minors.append(
                Category.objects.create(
                    code=f"{code}{j + 1:02d}",
                    name=f"{name}{j + 1}",
                    kind=CategoryKind.EVENT,
                    parent=major,
                    default_department=depts[(i * MINORS_PER_MAJOR + j) % len(depts)],
                )
            )
    for urgency, hours in ((Urgency.NORMAL, 24), (Urgency.URGENT, 4), (Urgency.CRITICAL, 1)):
        SlaPolicy.objects.create(urgency=urgency, hours=hours, hour_type=HourType.CALENDAR)
    s1_grids = [g.code for g in specs if g.region_code.startswith(subs[0].code)]

    def user(name: str, role: str, regions=(), grids=(), dept=None) -> User:
        u = User.objects.create_user(
            username=name,
            password="bench-" + name,
            role=role,
            department=dept,
            grid_codes=list(grids),
        )
        u.regions.set(regions)
        return u

    user("ops", Role.OPS_CENTER, regions=[district])
    user("operator", Role.OPERATOR, regions=[district])
    user("dispatcher", Role.DISPATCHER, regions=[subs[0]])
    user("inspector", Role.INSPECTOR, grids=s1_grids)
    for d in depts:
        user(f"handler_{d.code}", Role.DEPARTMENT_HANDLER, dept=d)
    return {"district": district, "subs": subs, "s1_grids": s1_grids}


# -- the cases, generated in SQL -----------------------------------------------------------------

# One row per case: its random draws, place and category, the times it would reach each step,
# and from those the state it has reached by now and the columns of its row. Each loading
# session generates its own range of ids into its own table ({table}).
GEN_SQL = """
CREATE UNLOGGED TABLE {table} AS
WITH b AS (
  SELECT g AS id,
    %(t0)s::timestamptz + make_interval(secs => (g - 1) * %(span)s::float8 / %(n)s) AS rep,
    floor(random() * %(ngrids)s)::int AS gi, random() AS src_u, floor(random() * %(ncats)s)::int AS ci,
    random() AS fate_u, 300 + random() * 3300 AS d_acc, 1800 + random() * 7200 AS d_dis,
    CASE WHEN random() < 0.85 THEN 3600 * (1 + random() * 22) ELSE 3600 * (24 + random() * 48) END AS d_hnd,
    600 + random() * 72000 AS d_ver, 300 + random() * 3300 AS d_cls,
    random() AS ret_u, random() AS ext_u, random() AS rew_u, random() AS fb_u, random() AS sat_u
  FROM generate_series(%(lo)s, %(hi)s) g
), t AS (
  SELECT b.*, gr.id AS grid_id, gr.region_id, gr.path AS region_path, gr.lon, gr.lat,
    cat.id AS category_id, cat.dept_id, cat.other_dept_id,
    CASE WHEN src_u < 0.45 THEN 'patrol' WHEN src_u < 0.70 THEN 'hotline' WHEN src_u < 0.85 THEN 'resident'
         WHEN src_u < 0.93 THEN 'device' WHEN src_u < 0.95 THEN 'opinion' ELSE 'api' END AS source,
    CASE WHEN fate_u < 0.04 THEN 'rejected' WHEN fate_u < 0.05 AND b.id > 1 THEN 'merged'
         WHEN fate_u < 0.20 AND src_u < 0.45 THEN 'self'
         WHEN fate_u >= 0.995 THEN 'stuck' ELSE 'loop' END AS fate,
    rep + make_interval(secs => d_acc) AS t_acc,
    rep + make_interval(secs => d_acc + d_dis) AS t_dis,
    rep + make_interval(secs => d_acc + d_dis + d_hnd) AS t_hnd,
    rep + make_interval(secs => d_acc + d_dis + d_hnd + d_ver) AS t_ver,
    rep + make_interval(secs => d_acc + d_dis + d_hnd + d_ver + d_cls) AS t_cls
  FROM b JOIN bench_grids gr ON gr.i = b.gi JOIN bench_cats cat ON cat.i = b.ci
), s AS (
  SELECT t.*,
    CASE WHEN fate = 'self' THEN 'closed'
         WHEN t_acc > %(now)s THEN 'reported'
         WHEN fate = 'rejected' THEN 'rejected'
         WHEN fate = 'merged' THEN 'merged'
         WHEN t_dis > %(now)s THEN 'accepted'
         WHEN fate = 'stuck' OR t_hnd > %(now)s THEN 'in_progress'
         WHEN t_ver > %(now)s THEN 'handled'
         WHEN t_cls > %(now)s THEN 'verified'
         ELSE 'closed' END AS state,
    (ext_u < 0.05 AND fate IN ('loop', 'stuck') AND t_dis + interval '1 hour' <= %(now)s) AS extended
  FROM t
), f AS (
  SELECT s.*,
    CASE WHEN state IN ('reported', 'rejected') THEN NULL WHEN fate = 'self' THEN rep ELSE t_acc END AS accepted_at,
    CASE WHEN state IN ('in_progress', 'handled', 'verified', 'closed') AND fate <> 'self' THEN t_dis END AS dispatched_at,
    CASE WHEN fate = 'self' THEN rep WHEN state IN ('handled', 'verified', 'closed') THEN t_hnd END AS handled_at,
    CASE WHEN fate = 'self' THEN rep WHEN state IN ('verified', 'closed') THEN t_ver END AS verified_at,
    CASE WHEN fate = 'self' THEN rep WHEN state = 'closed' THEN t_cls END AS closed_at
  FROM s
)
SELECT f.*,
  COALESCE(dispatched_at, rep) + interval '24 hours'
    + CASE WHEN extended THEN interval '12 hours' ELSE interval '0' END AS deadline
FROM f
"""

CASES_SQL = """
INSERT INTO cases_case (id, number, state, source, category_id, urgency, description, address, lon, lat,
  management_grid_id, unit_grid_id, region_id, region_path, escalation_level, reporter_id, reporter_name,
  reporter_phone, tracking_token, external_id, extra, reported_at, accepted_at, dispatched_at, handled_at,
  verified_at, closed_at, updated_at, deadline, sla_hours, sla_hour_type, overdue, near_due, overdue_since,
  suspended_from, suspended_at, merged_into_id, supporters_count, reopen_count, rework_count, version)
SELECT id, 'B' || lpad(id::text, 10, '0'), state, source, category_id, 'normal', 'bench', '', lon, lat,
  grid_id, NULL, region_id, region_path, 'grid', NULL, '', '', md5(id::text)::uuid, '', '{}'::jsonb,
  rep, accepted_at, dispatched_at, handled_at, verified_at, closed_at,
  COALESCE(closed_at, verified_at, handled_at, dispatched_at, accepted_at, rep), deadline, 24, 'calendar',
  state NOT IN ('closed', 'rejected', 'merged') AND deadline < %(now)s, false, NULL, '', NULL,
  CASE WHEN state = 'merged' THEN id - 1 END, 0, 0,
  CASE WHEN rew_u < 0.05 AND state IN ('verified', 'closed') AND fate = 'loop' THEN 1 ELSE 0 END, 0
FROM {table}
"""

# Lead assignments (a returned case has two: the department that returned it, then the right one),
# return, extension and 12345 decision events, and feedback on a third of the closed cases.
ROWS_SQL = [
    """INSERT INTO cases_caseassignment (case_id, department_id, role, active, assigned_at, taken_at, taken_by_id)
       SELECT id, other_dept_id, 'lead', false, dispatched_at - make_interval(secs => d_dis / 2), NULL, NULL
       FROM {table} WHERE dispatched_at IS NOT NULL AND ret_u < 0.03""",
    """INSERT INTO cases_caseevent (case_id, action, from_state, to_state, actor_id, actor_role, at, note, data, public)
       SELECT id, 'return', 'dispatched', 'returned', NULL, 'department_handler',
              dispatched_at - make_interval(secs => d_dis / 4), 'bench', '{}'::jsonb, true
       FROM {table} WHERE dispatched_at IS NOT NULL AND ret_u < 0.03""",
    """INSERT INTO cases_caseassignment (case_id, department_id, role, active, assigned_at, taken_at, taken_by_id)
       SELECT id, dept_id, 'lead', state <> 'closed', dispatched_at, NULL, NULL
       FROM {table} WHERE dispatched_at IS NOT NULL""",
    """INSERT INTO cases_caseevent (case_id, action, from_state, to_state, actor_id, actor_role, at, note, data, public)
       SELECT id, 'extend', 'in_progress', 'in_progress', NULL, 'dispatcher', dispatched_at + interval '1 hour',
              'bench', '{}'::jsonb, true
       FROM {table} WHERE extended""",
    """INSERT INTO cases_caseevent (case_id, action, from_state, to_state, actor_id, actor_role, at, note, data, public)
       SELECT id, CASE WHEN state = 'rejected' THEN 'reject' ELSE 'accept' END, 'reported',
              CASE WHEN state = 'rejected' THEN 'rejected' ELSE 'accepted' END, NULL, 'operator', t_acc,
              '', '{}'::jsonb, true
       FROM {table} WHERE source = 'hotline' AND (state = 'rejected' OR accepted_at IS NOT NULL)""",
    """INSERT INTO cases_feedback (case_id, user_id, satisfaction, text, created_at)
       SELECT id, NULL, CASE WHEN sat_u < 0.6 THEN 5 WHEN sat_u < 0.8 THEN 4 WHEN sat_u < 0.9 THEN 3
                             WHEN sat_u < 0.95 THEN 2 ELSE 1 END, '', closed_at + interval '2 hours'
       FROM {table} WHERE state = 'closed' AND fb_u < 0.3 AND closed_at + interval '2 hours' <= %(now)s""",
]
LOADED = ("cases_case", "cases_caseassignment", "cases_caseevent", "cases_feedback")


def _exec(cur: Any, sql: str, params: dict | None = None) -> float:
    started = time.monotonic()
    cur.execute(sql, params or {})
    return time.monotonic() - started


NAIVE_WORK_MEM = "256MB"
# A throwaway database: skip foreign-key triggers while loading rows we know are consistent.
LOAD_SETTINGS = (
    "session_replication_role = replica",
    "synchronous_commit = off",
    "work_mem = '256MB'",
    "maintenance_work_mem = '1GB'",
    "jit = off",
)


def _connect() -> Any:
    """A connection of its own to the bench database (for work beside Django's connection)."""
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"],
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
    )


def _index_table(definition: str) -> str:
    return re.search(r" ON (?:ONLY )?(?:public\.)?(\w+) ", definition)[1]


def _in_parallel(jobs: list[Any]) -> list[Any]:
    """Run the callables in threads (each with its own connection); re-raise the first error."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]


def load_cases(n: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Generate the cases and their rows, two sessions side by side (one per core), with the
    secondary indexes dropped; returns the timings and the indexes to build again."""
    from django.db import connection
    from django.utils import timezone

    from civicgrid.accounts.models import Department
    from civicgrid.cases.models import Category
    from civicgrid.geo.models import Grid

    now = timezone.now()
    t0 = now - dt.timedelta(days=365)
    with connection.cursor() as cur:
        grids = list(
            Grid.objects.order_by("code").values_list(
                "id", "region_id", "region__path", "min_lon", "min_lat", "max_lon", "max_lat"
            )
        )
        cur.execute(
            "CREATE UNLOGGED TABLE bench_grids (i int, id bigint, region_id bigint, path varchar(255), lon float8, lat float8)"
        )
        cur.executemany(
            "INSERT INTO bench_grids VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (i, g, r, p, (x0 + x1) / 2, (y0 + y1) / 2)
                for i, (g, r, p, x0, y0, x1, y1) in enumerate(grids)
            ],
        )
        depts = list(Department.objects.order_by("code").values_list("id", flat=True))
        cats = list(
            Category.objects.filter(parent__isnull=False)
            .order_by("code")
            .values_list("id", "default_department_id")
        )
        cur.execute(
            "CREATE UNLOGGED TABLE bench_cats (i int, id bigint, dept_id bigint, other_dept_id bigint)"
        )
        cur.executemany(
            "INSERT INTO bench_cats VALUES (%s, %s, %s, %s)",
            [(i, c, d, depts[(depts.index(d) + 1) % len(depts)]) for i, (c, d) in enumerate(cats)],
        )
        # Drop the secondary indexes and unique constraints, load, then build them again.
        cur.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'u' AND conrelid::regclass::text = ANY(%(t)s)",
            {"t": list(LOADED)},
        )
        constraints = cur.fetchall()
        for table, name, _d in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%(t)s)"
            " AND indexname NOT LIKE '%%pkey'",
            {"t": list(LOADED)},
        )
        indexes = cur.fetchall()
        for name, _d in indexes:
            cur.execute(f'DROP INDEX "{name}"')
    params = {
        "t0": t0,
        "span": 365 * 86400,
        "n": n,
        "ngrids": len(grids),
        "ncats": len(cats),
        "now": now,
    }

    def part(i: int, lo: int, hi: int) -> dict[str, float]:
        table = f"bench_case_{i}"
        done: dict[str, float] = {}
        with _connect() as conn, conn.cursor() as cur:
            for setting in LOAD_SETTINGS:
                cur.execute(f"SET {setting}")
            p = {**params, "lo": lo, "hi": hi}
            done["draws"] = _exec(cur, GEN_SQL.replace("{table}", table), p)
            done["cases"] = _exec(cur, CASES_SQL.replace("{table}", table), p)
            done["assignments, events, feedback"] = sum(
                _exec(cur, sql.replace("{table}", table), p) for sql in ROWS_SQL
            )
            cur.execute(f"DROP TABLE {table}")
        return done

    half = n // 2
    parts = _in_parallel([lambda: part(0, 1, half), lambda: part(1, half + 1, n)])
    timings = {k: max(p[k] for p in parts) for k in parts[0]}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('cases_case', 'id'), (SELECT max(id) FROM cases_case))"
        )
        cur.execute("DROP TABLE bench_grids, bench_cats")
        for setting in LOAD_SETTINGS[1:]:
            cur.execute(f"SET {setting}")
        # The rebuild looks up a case's assignments, events and feedback by case: their
        # indexes first (the smaller tables); the cases table's are built beside the rebuild.
        started = time.monotonic()
        side = {table for table in LOADED if table != "cases_case"}
        for _name, definition in [i for i in indexes if _index_table(i[1]) in side]:
            cur.execute(definition)
        indexes = [i for i in indexes if _index_table(i[1]) not in side]
        for table, name, definition in [c for c in constraints if c[0] in side]:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        constraints = [c for c in constraints if c[0] not in side]
        # Statistics now, for the rollup rebuild that reads these tables next.
        for table in LOADED:
            cur.execute(f"ANALYZE {table}")
        timings["indexes of the assignments, events and feedback, and analyze"] = (
            time.monotonic() - started
        )
        # Back to the server's settings on this connection (the rebuild sets its own).
        cur.execute("RESET ALL")
    # The naive one-grid query gets the index it needs.
    indexes.append(
        (
            "bench_case_grid_reported",
            "CREATE INDEX bench_case_grid_reported ON cases_case (management_grid_id, reported_at)",
        )
    )
    return timings, {"indexes": indexes, "constraints": constraints}


class Indexer:
    """Builds the dropped indexes again and vacuums the loaded tables in a session of its own,
    while the rollup rebuild (which only reads these tables) runs on the other core.

    A unique constraint is built as its unique index here; attaching it to the table needs an
    exclusive lock, so `finish` does that once the rebuild has committed.
    """

    def __init__(self, dropped: dict[str, Any]) -> None:
        import threading

        self.dropped = dropped
        self.timings: dict[str, float] = {}
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            with _connect() as conn, conn.cursor() as cur:
                # One process: the rebuild's one-process INSERT ... SELECT has the other core.
                for setting in (*LOAD_SETTINGS[1:], "max_parallel_maintenance_workers = 0"):
                    cur.execute(f"SET {setting}")
                started = time.monotonic()
                for _name, definition in self.dropped["indexes"]:
                    cur.execute(definition)
                for table, name, definition in self.dropped["constraints"]:
                    columns = re.fullmatch(r"UNIQUE (\(.*\))", definition)
                    if columns:
                        cur.execute(f'CREATE UNIQUE INDEX "{name}" ON {table} {columns[1]}')
                self.timings["indexes (beside the rebuild)"] = time.monotonic() - started
                started = time.monotonic()
                for table in LOADED:
                    cur.execute(f"VACUUM ANALYZE {table}")
                self.timings["vacuum analyze"] = time.monotonic() - started
        except BaseException as exc:  # re-raised by finish()
            self.error = exc

    def finish(self) -> dict[str, float]:
        from django.db import connection

        self.thread.join()
        if self.error is not None:
            raise self.error
        with connection.cursor() as cur:
            for table, name, definition in self.dropped["constraints"]:
                if re.fullmatch(r"UNIQUE (\(.*\))", definition):
                    cur.execute(
                        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{name}"'
                    )
                else:
                    cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        return self.timings


# -- the naive queries: straight over the cases table, written apart from metrics.truth ---------

# What the issue calls the naive query: one GROUP BY over the cases table (the counters that
# live on the case row). Timed next to the API.
NAIVE_CORE = """
SELECT {group} AS g, count(*) AS reported,
  count(*) FILTER (WHERE c.accepted_at IS NOT NULL AND c.state <> 'merged') AS accepted,
  count(*) FILTER (WHERE c.state = 'rejected') AS rejected,
  count(*) FILTER (WHERE c.dispatched_at IS NOT NULL) AS dispatched,
  count(*) FILTER (WHERE c.handled_at >= c.dispatched_at) AS handled,
  count(*) FILTER (WHERE c.handled_at >= c.dispatched_at
                   AND (c.deadline IS NULL OR c.handled_at <= c.deadline)) AS handled_on_time,
  COALESCE(sum(floor(extract(epoch FROM c.handled_at)) - floor(extract(epoch FROM c.dispatched_at)))
           FILTER (WHERE c.handled_at >= c.dispatched_at), 0)::bigint AS handling_seconds,
  count(*) FILTER (WHERE c.verified_at IS NOT NULL AND c.dispatched_at IS NOT NULL) AS verified,
  count(*) FILTER (WHERE c.verified_at IS NOT NULL AND c.dispatched_at IS NOT NULL AND c.handled_at IS NOT NULL
    AND floor(extract(epoch FROM c.verified_at)) - floor(extract(epoch FROM c.handled_at)) <= %(verify_s)s)
    AS verified_on_time,
  COALESCE(sum(c.rework_count), 0) AS verify_failures,
  count(*) FILTER (WHERE c.closed_at IS NOT NULL) AS closed,
  count(*) FILTER (WHERE c.closed_at IS NOT NULL AND (c.deadline IS NULL OR c.closed_at <= c.deadline))
    AS closed_on_time,
  count(*) FILTER (WHERE c.state NOT IN ('closed', 'rejected', 'merged')) AS open,
  count(*) FILTER (WHERE c.state NOT IN ('closed', 'rejected', 'merged') AND c.overdue) AS overdue
  {more}
FROM cases_case c {joins}
WHERE c.reported_at >= %(start)s AND c.reported_at < %(end)s AND {scope}
GROUP BY 1
"""

# The rest of the counters, from the case's other rows, joined per case.
NAIVE_JOINS = """
LEFT JOIN (SELECT case_id, count(*) AS n FROM cases_caseassignment WHERE role = 'lead'
           AND case_id IN {pc} GROUP BY case_id) nd ON nd.case_id = c.id
LEFT JOIN (SELECT case_id, count(*) AS n FROM cases_caseevent WHERE action = 'return'
           AND case_id IN {pc} GROUP BY case_id) nr ON nr.case_id = c.id
LEFT JOIN (SELECT DISTINCT case_id FROM cases_caseevent WHERE action = 'extend'
           AND case_id IN {pc}) ext ON ext.case_id = c.id
LEFT JOIN (SELECT DISTINCT ON (case_id) case_id, satisfaction FROM cases_feedback
           WHERE case_id IN {pc} ORDER BY case_id, id DESC) fb ON fb.case_id = c.id
LEFT JOIN (SELECT case_id, min(at) AS first_at FROM cases_caseevent
           WHERE action IN ('accept', 'reject', 'self_handle', 'merge') AND case_id IN {pc}
           GROUP BY case_id) r ON r.case_id = c.id
{lead}
"""
PERIOD_CASES = (
    "(SELECT c.id FROM cases_case c WHERE c.reported_at >= %(start)s AND c.reported_at < %(end)s"
    " AND {scope})"
)
NAIVE_MORE = """,
  COALESCE(sum(nd.n), 0) AS dispatches, COALESCE(sum(nr.n), 0) AS returns,
  count(*) FILTER (WHERE c.dispatched_at IS NOT NULL AND ext.case_id IS NOT NULL) AS extended,
  count(fb.case_id) AS rated, count(*) FILTER (WHERE fb.satisfaction >= 4) AS satisfied,
  COALESCE(sum(fb.satisfaction), 0) AS satisfaction_points,
  count(*) FILTER (WHERE c.source = 'hotline' AND floor(extract(epoch FROM r.first_at))
    - floor(extract(epoch FROM c.reported_at)) <= %(response_s)s) AS responded
"""
NAIVE_CLOSURES = """
SELECT {group} AS g, count(*) AS closures FROM cases_case c {joins}
WHERE c.closed_at >= %(start)s AND c.closed_at < %(end)s AND {scope} GROUP BY 1
"""
# By department: dispatches to it, returns by the department that was lead then, the rest by
# the case's lead department (its latest lead assignment).
NAIVE_DEPT_DISPATCHES = """
SELECT a.department_id AS g, count(*) AS dispatches FROM cases_caseassignment a
JOIN cases_case c ON c.id = a.case_id
WHERE a.role = 'lead' AND c.reported_at >= %(start)s AND c.reported_at < %(end)s GROUP BY 1
"""
NAIVE_DEPT_RETURNS = """
SELECT (SELECT a.department_id FROM cases_caseassignment a WHERE a.case_id = e.case_id AND a.role = 'lead'
        AND a.assigned_at <= e.at ORDER BY a.assigned_at DESC, a.id DESC LIMIT 1) AS g, count(*) AS returns
FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id
WHERE e.action = 'return' AND c.reported_at >= %(start)s AND c.reported_at < %(end)s GROUP BY 1
"""
LEAD_JOIN = """LEFT JOIN (SELECT DISTINCT ON (case_id) case_id, department_id FROM cases_caseassignment
  WHERE role = 'lead' AND case_id IN {pc} ORDER BY case_id, id DESC) lead ON lead.case_id = c.id"""
CLOSED_CASES = (
    "(SELECT c.id FROM cases_case c WHERE c.closed_at >= %(start)s AND c.closed_at < %(end)s"
    " AND {scope})"
)
GROUPS = {
    None: "0",
    "grid": "c.management_grid_id",
    "subdistrict": "substring(c.region_path from '^/[0-9]+/[0-9]+/')",
    "department": "COALESCE(lead.department_id, 0)",
}


def _rows(sql: str, params: dict[str, Any]) -> dict[Any, dict[str, int]]:
    from django.db import connection

    with connection.cursor() as cur:
        # As much memory for hashes and sorts as the rebuild has, so the baseline is not starved
        # (set each time: Django opens a new connection now and then).
        cur.execute(f"SET work_mem = '{NAIVE_WORK_MEM}'")
        cur.execute(sql, params)
        names = [c.name for c in cur.description][1:]
        return {
            row[0]: dict(zip(names, (int(v or 0) for v in row[1:]), strict=True)) for row in cur
        }


def naive(
    period: Any, scope: str = "TRUE", *, by: str | None = None, full: bool = True
) -> dict[Any, dict[str, int]] | dict[str, int]:
    """The figures of the cases reported in the period, by GROUP BY over the cases table.

    `full=False` is the core query alone (timed); `by` groups by grid id, subdistrict path
    or lead department id (else: one set of figures).
    """
    from django.utils import timezone

    from civicgrid.metrics.truth import response_window_seconds, verify_window_seconds

    params = {
        "start": timezone.make_aware(dt.datetime.combine(period.first, dt.time())),
        "end": timezone.make_aware(
            dt.datetime.combine(period.last + dt.timedelta(days=1), dt.time())
        ),
        "verify_s": verify_window_seconds(),
        "response_s": response_window_seconds(),
    }
    group = GROUPS[by]
    pc = PERIOD_CASES.format(scope=scope)
    lead = LEAD_JOIN.format(pc=pc) if by == "department" else ""
    if not full:
        out = _rows(NAIVE_CORE.format(group=group, more="", joins=lead, scope=scope), params)
    else:
        joins = NAIVE_JOINS.format(pc=pc, lead=lead)
        out = _rows(
            NAIVE_CORE.format(group=group, more=NAIVE_MORE, joins=joins, scope=scope), params
        )
        closed_lead = LEAD_JOIN.format(pc=CLOSED_CASES.format(scope=scope)) if lead else ""
        sql = NAIVE_CLOSURES.format(group=group, joins=closed_lead, scope=scope)
        for g, row in _rows(sql, params).items():
            out.setdefault(g, {}).update(row)
        if by == "department":
            for row in out.values():
                row["dispatches"] = row["returns"] = 0
            for sql in (NAIVE_DEPT_DISPATCHES, NAIVE_DEPT_RETURNS):
                for g, row in _rows(sql, params).items():
                    out.setdefault(g or 0, {}).update(row)
        from civicgrid.metrics.counters import COUNTERS

        out = {g: {c: row.get(c, 0) for c in COUNTERS} for g, row in out.items()}
    if by is None:
        return out.get(0, {})
    return out


# -- case actions through the services, in their own process -------------------------------------


def actions_main(stop_file: str, out_file: str) -> int:
    """Run actions at BENCH_ACTIONS_PER_S until the stop file appears; write what was done."""
    import json
    import random

    from civicgrid.accounts.models import User
    from civicgrid.cases import services as cs
    from civicgrid.cases.models import Case, CaseAssignment
    from civicgrid.core.errors import DomainError
    from civicgrid.geo.models import Grid

    rng = random.Random(7)
    rate = float(os.environ.get("BENCH_ACTIONS_PER_S", "5"))
    users = {u.username: u for u in User.objects.select_related("department")}
    dispatcher, inspector, operator = users["dispatcher"], users["inspector"], users["operator"]
    handlers = {u.department_id: u for u in users.values() if u.department_id}
    s1 = list(
        Grid.objects.filter(code__in=inspector.grid_codes).values_list(
            "min_lon", "min_lat", "max_lon", "max_lat"
        )
    )
    depts = list(handlers)
    # Old generated cases take part too, so days long past change while we measure.
    pool = list(
        Case.objects.filter(
            management_grid__code__in=inspector.grid_codes,
            state__in=["reported", "accepted", "in_progress", "handled", "verified"],
        )
        .order_by("?")
        .values_list("pk", flat=True)[:300]
    )
    done: dict[str, int] = {}
    refused = 0
    started = time.monotonic()
    count = 0

    def lead_handler(case: Case) -> User:
        a = CaseAssignment.objects.filter(case=case, role="lead", active=True).first()
        return handlers[a.department_id] if a else handlers[depts[0]]

    while not os.path.exists(stop_file):
        count += 1
        delay = started + count / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            if len(pool) < 50 or rng.random() < 0.2:
                x0, y0, x1, y1 = rng.choice(s1)
                hotline = rng.random() < 0.4
                case = cs.case_create(
                    actor=operator if hotline else inspector,
                    source="hotline" if hotline else "patrol",
                    category=f"0{rng.randint(1, 3)}0{rng.randint(1, 4)}",
                    description="bench",
                    lon=rng.uniform(x0, x1),
                    lat=rng.uniform(y0, y1),
                ).case
                pool.append(case.pk)
                action = "report"
            else:
                case = Case.objects.select_related("category").get(pk=rng.choice(pool))
                action = case.state
                if case.state == "reported":
                    if rng.random() < 0.05:
                        cs.case_reject(case=case, actor=dispatcher, reason="bench")
                    else:
                        cs.case_accept(case=case, actor=dispatcher)
                elif case.state in ("accepted", "returned"):
                    wrong = rng.random() < 0.05
                    lead = rng.choice(depts) if wrong else case.category.default_department_id
                    cs.case_dispatch(case=case, lead=handlers[lead].department, actor=dispatcher)
                elif case.state == "dispatched":
                    h = lead_handler(case)
                    if h.department_id != case.category.default_department_id:
                        cs.case_return(case=case, actor=h, reason="not ours")
                    else:
                        cs.case_take(case=case, actor=h)
                elif case.state in ("in_progress", "rework"):
                    if rng.random() < 0.05 and case.deadline:
                        cs.case_extend(
                            case=case,
                            actor=dispatcher,
                            reason="bench",
                            until=max(case.deadline, dt.datetime.now(dt.UTC))
                            + dt.timedelta(hours=6),
                        )
                        action = "extend"
                    else:
                        cs.case_report_handled(case=case, actor=lead_handler(case), note="bench")
                elif case.state == "handled":
                    ok = rng.random() > 0.1
                    cs.case_verify(case=case, actor=inspector, ok=ok, note="" if ok else "not yet")
                elif case.state == "verified":
                    cs.case_close(case=case, actor=dispatcher)
                elif case.state == "closed" and not case.feedback.exists():
                    cs.case_feedback(case=case, actor=operator, satisfaction=rng.randint(1, 5))
                    action = "feedback"
                else:
                    pool.remove(case.pk)
                    continue
            done[action] = done.get(action, 0) + 1
        except DomainError:
            refused += 1
    elapsed = time.monotonic() - started
    pathlib.Path(out_file).write_text(
        json.dumps({"actions": done, "refused": refused, "seconds": elapsed})
    )
    return 0


# -- measuring ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_api(client: Any, path: str, n: int) -> dict[str, float]:
    """n requests, one at a time, BENCH_API_GAP_MS apart (a steady client, not a flood that would
    starve the worker and the actions of the same two cores)."""
    gap = float(os.environ.get("BENCH_API_GAP_MS", "20")) / 1000
    times = []
    for _ in range(n):
        time.sleep(gap)
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "n": n}


def time_naive(n: int, *args: Any, **kwargs: Any) -> dict[str, float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        naive(*args, **kwargs)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "n": n}


def wait_for_worker(limit: float = 120.0) -> float:
    from django_tasks_db.models import DBTaskResult

    started = time.monotonic()
    while time.monotonic() - started < limit:
        if not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists():
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"the worker did not catch up within {limit}s")


def wait_until_worker_runs(limit: float = 300.0) -> float:
    """Enqueue a task that does nothing (an event that does not exist) and wait for it to run."""
    from django_tasks_db.models import DBTaskResult

    from civicgrid.cases.tasks import process_case_event

    started = time.monotonic()
    probe = process_case_event.enqueue(event_id=0)
    while time.monotonic() - started < limit:
        if DBTaskResult.objects.filter(pk=probe.id, status="SUCCESSFUL").exists():
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"the worker did not start within {limit}s")


def lag_stats(since: dt.datetime) -> dict[str, Any]:
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(
        task_path="civicgrid.cases.tasks.process_case_event", enqueued_at__gte=since
    ).values_list("status", "enqueued_at", "finished_at")
    lags = [(f - e).total_seconds() for s, e, f in rows if s == "SUCCESSFUL" and f]
    failed = sum(1 for s, _e, _f in rows if s != "SUCCESSFUL")
    if not lags:
        return {"events": 0, "failed": failed}
    return {
        "events": len(lags),
        "failed": failed,
        "p50": percentile(lags, 0.5),
        "p95": percentile(lags, 0.95),
        "max": max(lags),
    }


def compare(label: str, got: dict[str, int], want: dict[str, int], problems: list[str]) -> None:
    diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    if diff:
        problems.append(f"{label}: {diff}")


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(
            "bench_metrics: skipped: set DATABASE_URL to a PostgreSQL database "
            "(e.g. postgres://postgres@127.0.0.1:5432/civicgrid); it needs PostgreSQL."
        )
        return 0
    if sys.argv[1:] == ["--report"]:  # write docs/benchmarks.md again from the last run
        import json
        import types

        r = json.loads((ROOT / "var" / "bench_metrics_last.json").read_text())
        r["reconcile"] = types.SimpleNamespace(**r["reconcile"])
        write_report(r)
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "--actions":
        setup_django(url)
        return actions_main(sys.argv[2], sys.argv[3])
    os.environ["BENCH_LOAD_BEFORE"] = f"{os.getloadavg()[0]:.2f}"
    n = int(os.environ.get("BENCH_CASES", "10000000"))
    n_requests = int(os.environ.get("BENCH_REQUESTS", "200"))
    os.environ["BENCH_ORIGINAL_URL"] = url
    db_url, admin_url, db_name = bench_url(url)

    import psycopg

    reuse = os.environ.get("BENCH_REUSE") == "1"  # for working on the benchmark itself
    maintenance = re.sub(r"^postgres://", "postgresql://", admin_url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone()
        if not (reuse and exists):
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db_name}"')
    setup_django(db_url)
    if reuse and exists:
        from civicgrid.accounts.models import User
        from civicgrid.cases.models import Case
        from civicgrid.geo.models import Region

        n = Case.objects.count()
        world = {
            "subs": list(Region.objects.filter(level="subdistrict").order_by("code")),
            "s1_grids": User.objects.get(username="inspector").grid_codes,
        }
        say(f"reusing {db_name} with {n:,} cases")
        return measure(db_url, n, n_requests, world, {}, {})
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    say(f"database {db_name} migrated")
    world = build_world()
    say("district built: 12 subdistricts, 96 communities, 288 grids")
    load, dropped = load_cases(n)
    say(f"{n:,} cases generated: " + ", ".join(f"{k} {v:.0f}s" for k, v in load.items()))
    from civicgrid.metrics.rebuild import rollup_rebuild

    indexer = Indexer(dropped)
    indexer.start()
    say("indexes building beside the rollup rebuild")
    rebuild = rollup_rebuild(progress=lambda m: say("  " + m))
    say(f"rollups built: {rebuild}")
    load.update(indexer.finish())
    say("indexes built and tables vacuumed: " + ", ".join(f"{k} {v:.0f}s" for k, v in load.items()))
    return measure(db_url, n, n_requests, world, load, rebuild)


def measure(
    db_url: str,
    n: int,
    n_requests: int,
    world: dict[str, Any],
    load: dict[str, float],
    rebuild: dict[str, Any],
) -> int:
    import tempfile

    from django.utils import timezone

    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "civicgrid.settings.base",
    }
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    stop, out = tmp / "stop", tmp / "actions.json"
    worker_log = (tmp / "worker.log").open("w")  # open while the worker runs
    # As deployed (docs/deploy.md): `db_worker` polls every second when it has nothing to do.
    interval = os.environ.get("BENCH_WORKER_INTERVAL", "1")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", interval, "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=worker_log,
    )
    # A worker is a long-running process: the lag is measured from when it is up, not from
    # its start (loading Django on a busy machine took seconds, and was counted as lag).
    say(f"worker started in {wait_until_worker_runs():.1f} s")
    run_start = timezone.now()
    actor = subprocess.Popen(
        [sys.executable, __file__, "--actions", str(stop), str(out)], env=env, cwd=ROOT
    )
    say(f"worker and case actions running (logs in {tmp})")
    try:
        return _measure(tmp, stop, out, run_start, n, n_requests, world, load, rebuild)
    finally:
        stop.touch()
        for proc in (actor, worker):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)
        worker_log.close()


def _measure(
    tmp: pathlib.Path,
    stop: pathlib.Path,
    out: pathlib.Path,
    run_start: dt.datetime,
    n: int,
    n_requests: int,
    world: dict[str, Any],
    load: dict[str, float],
    rebuild: dict[str, Any],
) -> int:
    import json

    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from civicgrid.accounts.models import ApiToken, Department, User
    from civicgrid.geo.models import Grid
    from civicgrid.metrics.counters import add, zero
    from civicgrid.metrics.periods import Period, period_from, today
    from civicgrid.metrics.reconcile import rollup_reconcile
    from civicgrid.metrics.selectors import figures, metrics_target, ranking

    # Systems call the API with a token; the screen's poll runs in a signed-in browser.
    def token_client(username: str) -> Client:
        key = ApiToken.new_key()
        ApiToken.objects.create(
            user=User.objects.get(username=username),
            name="bench",
            prefix=key[:8],
            key_hash=ApiToken.hash_key(key),
        )
        return Client(headers={"Authorization": f"Bearer {key}"})

    ops, disp, browser = token_client("ops"), token_client("dispatcher"), Client()
    browser.force_login(User.objects.get(username="ops"))
    sub, grid_code = world["subs"][0], world["s1_grids"][0]
    grid_id = Grid.objects.get(code=grid_code).pk
    month = period_from("month")
    year = Period(timezone.localdate(timezone.now() - dt.timedelta(days=365)), today())
    year_q = f"period=range&date_from={year.first}&date_to={year.last}"
    sub_scope = f"c.region_path LIKE '{sub.path}%%'"
    grid_scope = f"c.management_grid_id = {grid_id}"
    endpoints = [
        (
            "City-wide figures, this month",
            ops,
            "/api/metrics/figures?period=month",
            [("core", 3, month, "TRUE"), ("full", 1, month, "TRUE")],
        ),
        (
            "City-wide figures, the whole year",
            ops,
            f"/api/metrics/figures?{year_q}",
            [("core", 1, year, "TRUE")],
        ),
        (
            "A subdistrict's figures, this month",
            ops,
            f"/api/metrics/figures?region={sub.code}",
            [("core", 3, month, sub_scope), ("full", 1, month, sub_scope)],
        ),
        (
            "One grid's figures, this month",
            ops,
            f"/api/metrics/figures?grid={grid_code}",
            [("core", 10, month, grid_scope), ("full", 3, month, grid_scope)],
        ),
        (
            "One grid's figures, the whole year",
            ops,
            f"/api/metrics/figures?grid={grid_code}&{year_q}",
            [("core", 5, year, grid_scope)],
        ),
        ("Ranking of the 288 grids, this month", ops, "/api/metrics/rankings?by=grid", []),
        (
            "Ranking of the 288 grids, the whole year",
            ops,
            f"/api/metrics/rankings?by=grid&{year_q}",
            [],
        ),
        (
            "Ranking of the 12 subdistricts, this month",
            ops,
            "/api/metrics/rankings?by=subdistrict",
            [],
        ),
        (
            "Ranking of the 6 departments, this month",
            ops,
            "/api/metrics/rankings?by=department",
            [],
        ),
        (
            "A dispatcher's figures (their subdistrict), this month",
            disp,
            "/api/metrics/figures",
            [],
        ),
        ("The operations screen's poll (data.json)", browser, "/ops/screen/data.json", []),
    ]
    results = []
    for label, client, path, naives in endpoints:
        for _ in range(5):
            client.get(path)
        api = time_api(client, path, n_requests)
        row = {"label": label, "api": api, "naive": {}}
        for kind, runs, period, scope in naives:
            row["naive"][kind] = time_naive(runs, period, scope, full=kind == "full")
        results.append(row)
        say(
            f"{label}: p50 {api['p50']:.1f} ms, p95 {api['p95']:.1f} ms"
            + "".join(f"; naive {k} p50 {v['p50']:.0f} ms" for k, v in row["naive"].items())
        )
    stop.touch()
    for _ in range(1200):  # the actions process writes its summary as it stops
        if out.exists():
            break
        time.sleep(0.1)
    actions = json.loads(out.read_text())
    drain = wait_for_worker()
    lag = lag_stats(run_start)
    say(f"actions: {actions}; worker caught up {drain:.1f}s after the last action; lag {lag}")

    # Every figure equals the naive GROUP BY, now that the cases have stopped changing: the
    # naive figures of every grid for the month and for the year, and of every department for
    # the month (three grouped queries over the cases table; the city-wide and subdistrict
    # figures are their grids' added up, the cases of a grid being in exactly one of each).
    problems: list[str] = []
    started = time.monotonic()
    ops_user = User.objects.get(username="ops")
    district = metrics_target(user=ops_user)
    grids = dict(Grid.objects.values_list("pk", "code"))
    grid_path = dict(Grid.objects.values_list("code", "region__path"))
    path_of = {s.code: s.path for s in world["subs"]}
    checked = 0
    for label, period in (("month", month), ("year", year)):
        by_grid = {grids[g]: v for g, v in naive(period, by="grid").items()}
        city, by_sub = zero(), {path: zero() for path in path_of.values()}
        for code, counts in by_grid.items():
            add(city, counts)
            for path, sub_counts in by_sub.items():
                if grid_path[code].startswith(path):
                    add(sub_counts, counts)
        compare(
            f"city-wide {label}",
            figures(target=district, period=period)["counters"],
            city,
            problems,
        )
        grid_rows = ranking(target=district, by="grid", period=period)
        for row in grid_rows:
            compare(
                f"grid {row['code']} {label}",
                row["counters"],
                by_grid.pop(row["code"], {}),
                problems,
            )
        if any(any(v.values()) for v in by_grid.values()):
            problems.append(f"grids missing from the {label}'s ranking: {sorted(by_grid)}")
        checked += 1 + len(grid_rows)
        if label == "month":
            compare(
                "subdistrict month",
                figures(target=metrics_target(user=ops_user, region=sub.code), period=month)[
                    "counters"
                ],
                by_sub[sub.path],
                problems,
            )
            sub_rows = ranking(target=district, by="subdistrict", period=month)
            for row in sub_rows:
                compare(
                    f"subdistrict {row['code']}",
                    row["counters"],
                    by_sub[path_of[row["code"]]],
                    problems,
                )
            checked += 1 + len(sub_rows)
    dept_ids = dict(Department.objects.values_list("code", "pk"))
    by_dept = naive(month, by="department")
    dept_rows = ranking(target=district, by="department", period=month)
    for row in dept_rows:
        compare(
            f"department {row['code']}", row["counters"], by_dept[dept_ids[row["code"]]], problems
        )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE overdue) FROM cases_case WHERE state NOT IN ('closed', 'rejected', 'merged')"
        )
        open_now, overdue_now = cur.fetchone()
    compare(
        "open and overdue now",
        figures(target=district, period=month)["now"],
        {"open": open_now, "overdue": overdue_now},
        problems,
    )
    checked += len(dept_rows) + 1
    check_seconds = time.monotonic() - started
    say(
        f"exact comparison of {checked} figure sets with the naive GROUP BY: "
        + ("all equal" if not problems else f"{len(problems)} DIFFER")
        + f" ({check_seconds:.0f}s)"
    )
    for p in problems[:20]:
        say("  " + p)
    started = time.monotonic()
    reconcile = rollup_reconcile()
    reconcile_seconds = time.monotonic() - started
    say(f"reconcile job: {reconcile} in {reconcile_seconds:.1f}s")
    report = {
        "n": n,
        "n_requests": n_requests,
        "load": load,
        "rebuild": rebuild,
        "results": results,
        "actions": actions,
        "drain": drain,
        "lag": lag,
        "checked": checked,
        "problems": problems,
        "reconcile": reconcile,
        "reconcile_seconds": reconcile_seconds,
        "total": time.monotonic() - T0,
        "worker_interval": os.environ.get("BENCH_WORKER_INTERVAL", "1"),
    }
    report["load_before"] = float(os.environ.get("BENCH_LOAD_BEFORE", "0"))
    saved = dict(report, reconcile=dataclasses.asdict(reconcile))
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench_metrics_last.json").write_text(json.dumps(saved, default=str, indent=1))
    if os.environ.get("BENCH_DOCS", "1") == "1":  # BENCH_DOCS=0: a trial run, docs untouched
        write_report(report)
    if os.environ.get("BENCH_KEEP") != "1":
        connection.close()
        import psycopg

        _db, admin_url, db_name = bench_url(os.environ["BENCH_ORIGINAL_URL"])
        with psycopg.connect(
            re.sub(r"^postgres://", "postgresql://", admin_url), autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    return 1 if problems or reconcile.cases_fixed or reconcile.rows_fixed else 0


START, END = "<!-- bench_metrics:start -->", "<!-- bench_metrics:end -->"
TIMED = ("City-wide", "subdistrict", "One grid", "Ranking", "dispatcher")


def _ratio(row: dict[str, Any]) -> float | None:
    """The naive GROUP BY's p50 (the whole figure set where it was timed) ÷ the API's p95."""
    naive = row["naive"].get("full") or row["naive"].get("core")
    return naive["p50"] / row["api"]["p95"] if naive else None


def targets(r: dict[str, Any]) -> list[str]:
    rows = [row for row in r["results"] if any(t in row["label"] for t in TIMED)]
    worst = max(rows, key=lambda row: row["api"]["p95"])
    city = next(row for row in r["results"] if row["label"] == "City-wide figures, this month")
    ratio = _ratio(city) or 0.0
    lag = r["lag"].get("max", 0.0)
    checks = [
        (
            worst["api"]["p95"] < 20,
            f"p95 under 20 ms for every figure and ranking request "
            f"(worst: {worst['label']}, {worst['api']['p95']:.1f} ms)",
        ),
        (
            ratio >= 100,
            f"at least 100× faster than the naive city-wide GROUP BY (the naive query of the "
            f"whole figure set, p50 {city['naive']['full']['p50']:,.0f} ms, ÷ the API's p95 "
            f"for the same figures, {city['api']['p95']:.1f} ms: {ratio:,.0f}×)",
        ),
        (not r["problems"], "figures equal the naive ones exactly, after actions during the run"),
        (lag <= 5, f"rollups at most 5 s behind a case action (max {lag:.2f} s)"),
        (
            not (r["reconcile"].cases_fixed or r["reconcile"].rows_fixed),
            "no drift found by the reconcile job",
        ),
    ]
    return [f"- {'met' if ok else '**missed**'}: {text}" for ok, text in checks]


def write_report(r: dict[str, Any]) -> None:
    """Replace this benchmark's results block in docs/benchmarks.md (other sections stay)."""

    lines = [
        START,
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} CPU cores shared by PostgreSQL "
        f"(server defaults; work_mem {NAIVE_WORK_MEM} for the naive queries), the measuring process, a task worker and a process running case "
        f"actions; load average before the run: {r['load_before']:.1f} (other work on the "
        f"machine shares its cores). {r['n']:,} cases over 365 days in 288 grids; "
        f"{r['n_requests']} requests per endpoint, one at a time "
        f"{os.environ.get('BENCH_API_GAP_MS', '20')} ms apart, through django.test.Client (the "
        f"whole Django stack and middleware; token auth; the screen's poll with a session), "
        f"while case actions ran through the services at "
        f"{os.environ.get('BENCH_ACTIONS_PER_S', '5')}/s and the worker kept the rollups "
        f"current. Total run time {r['total'] / 60:.1f} min. The naive queries run over the "
        f"cases table: *core* is the one GROUP BY of the counters that live on the case row, "
        f"*full* the whole figure set (every counter, with the assignments, events and "
        f"feedback joined), which is what the API answers.",
        "",
        "| request | API p50 | API p95 | naive GROUP BY p50 | naive (full) ÷ API p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in r["results"]:
        naive_cells, ratio = [], ""
        for kind, t in row["naive"].items():
            naive_cells.append(f"{kind}: {t['p50']:,.0f} ms")
        if _ratio(row) is not None:
            ratio = f"{_ratio(row):,.0f}×"
        lines.append(
            f"| {row['label']} | {row['api']['p50']:.1f} ms | {row['api']['p95']:.1f} ms | "
            f"{'; '.join(naive_cells) or '–'} | {ratio or '–'} |"
        )
    lag = r["lag"]
    lines += [
        "",
        (
            "Generating the data: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in r["load"].items())
            + f" (two loading sessions side by side; the indexes were built again in a third "
            f"while the rollups were built). Building the rollups from scratch "
            f"(`rebuild_rollups`): {r['rebuild']['contributions']:,} contribution rows in "
            f"{r['rebuild']['contribution_seconds']:.0f} s, {r['rebuild']['rollups']:,} rollup rows "
            f"in {r['rebuild']['rollup_seconds']:.0f} s."
            if r["rebuild"]
            else "(A database generated by an earlier run was reused: BENCH_REUSE=1.)"
        ),
        "",
        f"Case actions during the measurement: {sum(r['actions']['actions'].values()):,} in "
        f"{r['actions']['seconds']:.0f} s ({', '.join(f'{k} {v}' for k, v in sorted(r['actions']['actions'].items()))}; "
        f"{r['actions']['refused']} refused by the rules). Rollups behind a committed action "
        f"(task enqueued → rollups committed, {lag.get('events', 0):,} events, {lag.get('failed', 0)} failed): "
        + (
            f"p50 {lag['p50']:.2f} s, p95 {lag['p95']:.2f} s, max {lag['max']:.2f} s. "
            if lag.get("events")
            else ""
        )
        + f"The worker (`db_worker --interval {r.get('worker_interval', '1')}`, started and "
        f"running before the first action) had caught up {r['drain']:.1f} s after the last action.",
        "",
        f"Exactness: {r['checked']} figure sets (city-wide month and year, every grid's month and "
        f"year, a subdistrict, every subdistrict and department of the month's rankings, open and "
        f"overdue now) compared with the naive queries (the whole figure set, grouped by grid or "
        f"department) after the actions: "
        + (
            "**all equal**."
            if not r["problems"]
            else f"**{len(r['problems'])} differ**: {r['problems'][:5]}"
        )
        + f" The reconcile job afterwards checked {r['reconcile'].cases_checked:,} cases and fixed "
        f"{r['reconcile'].cases_fixed} cases and {r['reconcile'].rows_fixed} rollup rows "
        f"({r['reconcile_seconds']:.1f} s).",
        "",
        "Targets (issue 5):",
        "",
        *targets(r),
        END,
    ]
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = "\n".join(lines)
    if START in text and END in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END) :]
    else:
        text = (
            text.rstrip("\n")
            + "\n\n## Indicators: rollups vs. the naive GROUP BY (bench/bench_metrics.py)\n\n"
            + block
            + "\n"
        )
    path.write_text(text)
    say(f"results written to {path}")


if __name__ == "__main__":
    sys.exit(main())
