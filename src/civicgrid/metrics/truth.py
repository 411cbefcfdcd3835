"""Each case's contribution, computed from its own rows in one set-based query.

The same query serves one case (after each timeline event), the cases of the last days (the
reconcile job) and every case (`rebuild_rollups`), so there is one definition of every
counter, written here in SQL next to its name and in docs/indicators.md in words. It runs
on SQLite and PostgreSQL; the two differ only in the three small functions below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from civicgrid.cases.models import AssignmentRole, Source, State
from civicgrid.cases.workflow import Action

from .counters import COUNTERS, PER_DISPATCH

FINAL = (State.CLOSED, State.REJECTED, State.MERGED)
# What counts as the first response to a 12345 call: any decision on the report.
RESPONSE_ACTIONS = (Action.ACCEPT, Action.REJECT, Action.SELF_HANDLE, Action.MERGE)


def verify_window_seconds() -> int:
    """On-time verification: verified within this long after the handling was reported."""
    return int(settings.CIVICGRID.get("METRICS_VERIFY_HOURS", 24)) * 3600


def response_window_seconds() -> int:
    """12345 response: the first decision within this long after the call was filed."""
    return int(settings.CIVICGRID.get("METRICS_HOTLINE_RESPONSE_HOURS", 24)) * 3600


def _literal_list(values: Sequence[str]) -> str:
    # Code constants only (enum values), never user input.
    assert all(v.replace("_", "").isalnum() for v in values)
    return ", ".join(f"'{v}'" for v in values)


def _epoch(column: str) -> str:
    """Whole seconds since 1970 (floored): durations are compared in whole seconds."""
    if connection.vendor == "postgresql":
        return f"FLOOR(EXTRACT(EPOCH FROM {column}))::bigint"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _literal(value: Any) -> str:
    # Time zone names only ("Asia/Shanghai", "UTC"): checked, then quoted.
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9_/+\-]+", text):
        raise ValueError(f"unexpected time zone name {text!r}")
    return f"'{text}'"


def _local_day(column: str) -> tuple[str, list[Any]]:
    """The calendar day of a timestamp in the site's time zone (settings.TIME_ZONE).

    Written without parameters: the query then needs no parsing by the driver, which for a
    statement this long costs more than running it for one case.
    """
    sql, params = connection.ops.datetime_cast_date_sql(column, (), settings.TIME_ZONE)
    return sql.replace("%s", "{}").format(*(_literal(p) for p in params)), []


def execute(cursor: Any, sql: str, params: Sequence[Any]) -> None:
    """Run a statement from here: with no parameters, PostgreSQL gets the text as it is."""
    if connection.vendor == "postgresql" and not params:
        cursor.execute(sql)
    else:
        cursor.execute(sql, list(params))


@dataclass
class Filter:
    """Which cases: a list of ids, an id range, or every case."""

    ids: Sequence[int] | None = None
    id_range: tuple[int, int] | None = None  # inclusive

    def sql(self, column: str) -> tuple[str, list[Any]]:
        if self.ids is not None:
            if not self.ids:
                return "1 = 0", []
            # Whole numbers, written into the text (see _local_day).
            return f"{column} IN ({', '.join(str(int(i)) for i in self.ids)})", []
        if self.id_range is not None:
            lo, hi = self.id_range
            return f"{column} BETWEEN {int(lo)} AND {int(hi)}", []
        return "1 = 1", []


@dataclass
class _Sql:
    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, text: str, params: Sequence[Any] = ()) -> _Sql:
        self.parts.append(text)
        self.params.extend(params)
        return self

    def text(self) -> str:
        return "\n".join(self.parts)


def _case_counters(verify_s: int, response_s: int) -> dict[str, str]:
    """SQL for each per-case counter over the columns of the `f` row (see `contributions_sql`)."""
    handled = (
        "c.handled_at IS NOT NULL AND c.dispatched_at IS NOT NULL"
        " AND c.handled_at >= c.dispatched_at"
    )
    verified = "c.verified_at IS NOT NULL AND c.dispatched_at IS NOT NULL"
    is_open = f"c.state NOT IN ({_literal_list(FINAL)})"
    return {
        "reported": "1",
        "accepted": f"CASE WHEN c.accepted_at IS NOT NULL AND c.state <> '{State.MERGED}' THEN 1 ELSE 0 END",
        "rejected": f"CASE WHEN c.state = '{State.REJECTED}' THEN 1 ELSE 0 END",
        "dispatched": "CASE WHEN c.dispatched_at IS NOT NULL THEN 1 ELSE 0 END",
        "extended": "CASE WHEN c.dispatched_at IS NOT NULL AND ext.case_id IS NOT NULL THEN 1 ELSE 0 END",
        "handled": f"CASE WHEN {handled} THEN 1 ELSE 0 END",
        "handled_on_time": (
            f"CASE WHEN {handled} AND (c.deadline IS NULL OR c.handled_at <= c.deadline)"
            " THEN 1 ELSE 0 END"
        ),
        "handling_seconds": (
            f"CASE WHEN {handled} THEN {_epoch('c.handled_at')} - {_epoch('c.dispatched_at')}"
            " ELSE 0 END"
        ),
        "verified": f"CASE WHEN {verified} THEN 1 ELSE 0 END",
        "verified_on_time": (
            f"CASE WHEN {verified} AND c.handled_at IS NOT NULL"
            f" AND {_epoch('c.verified_at')} - {_epoch('c.handled_at')} <= {verify_s}"
            " THEN 1 ELSE 0 END"
        ),
        "verify_failures": "c.rework_count",
        "closed": "CASE WHEN c.closed_at IS NOT NULL THEN 1 ELSE 0 END",
        "closed_on_time": (
            "CASE WHEN c.closed_at IS NOT NULL AND (c.deadline IS NULL OR c.closed_at <= c.deadline)"
            " THEN 1 ELSE 0 END"
        ),
        "rated": "CASE WHEN fb.id IS NOT NULL THEN 1 ELSE 0 END",
        "satisfied": "CASE WHEN fb.satisfaction >= 4 THEN 1 ELSE 0 END",
        "satisfaction_points": "COALESCE(fb.satisfaction, 0)",
        "responded": (
            f"CASE WHEN c.source = '{Source.HOTLINE}' AND resp.first_at IS NOT NULL"
            f" AND {_epoch('resp.first_at')} - {_epoch('c.reported_at')} <= {response_s}"
            " THEN 1 ELSE 0 END"
        ),
        "open": f"CASE WHEN {is_open} THEN 1 ELSE 0 END",
        "overdue": f"CASE WHEN {is_open} AND c.overdue THEN 1 ELSE 0 END",
    }


DIMS = ("region_path", "grid_code", "category", "source")
OUT_COLUMNS = ("case_id", "day", "department", *DIMS, *COUNTERS)


def contributions_sql(which: Filter) -> tuple[str, list[Any]]:
    """SELECT the contribution rows (OUT_COLUMNS) of the chosen cases, one per (case, day, dept)."""
    per_case = _case_counters(verify_window_seconds(), response_window_seconds())
    lead = AssignmentRole.LEAD
    q = _Sql()
    rday, rday_params = _local_day("c.reported_at")
    cday, cday_params = _local_day("c.closed_at")
    q.add("WITH f AS (SELECT c.id AS case_id,")
    q.add(f"  {rday} AS rday,", rday_params)
    q.add(f"  {cday} AS cday,", cday_params)
    q.add("  c.region_path AS region_path, g.code AS grid_code, c.category_id AS category,")
    q.add("  c.source AS source, COALESCE(la.department_id, 0) AS department,")
    q.add(",\n".join(f"  {expr} AS {name}" for name, expr in per_case.items()))
    q.add("FROM cases_case c JOIN geo_grid g ON g.id = c.management_grid_id")
    # The lead department is the department of the case's latest lead assignment.
    sub, params = which.sql("case_id")
    q.add(
        "LEFT JOIN (SELECT case_id, MAX(id) AS id FROM cases_caseassignment"
        f" WHERE role = '{lead}' AND {sub} GROUP BY case_id) lm ON lm.case_id = c.id",
        params,
    )
    q.add("LEFT JOIN cases_caseassignment la ON la.id = lm.id")
    # Satisfaction is read from the case's latest feedback.
    sub, params = which.sql("case_id")
    q.add(
        f"LEFT JOIN (SELECT case_id, MAX(id) AS id FROM cases_feedback WHERE {sub}"
        " GROUP BY case_id) fm ON fm.case_id = c.id",
        params,
    )
    q.add("LEFT JOIN cases_feedback fb ON fb.id = fm.id")
    sub, params = which.sql("case_id")
    q.add(
        "LEFT JOIN (SELECT case_id FROM cases_caseevent"
        f" WHERE action = '{Action.EXTEND}' AND {sub} GROUP BY case_id) ext"
        " ON ext.case_id = c.id",
        params,
    )
    sub, params = which.sql("case_id")
    q.add(
        "LEFT JOIN (SELECT case_id, MIN(at) AS first_at FROM cases_caseevent"
        f" WHERE action IN ({_literal_list(RESPONSE_ACTIONS)}) AND {sub}"
        " GROUP BY case_id) resp ON resp.case_id = c.id",
        params,
    )
    sub, params = which.sql("c.id")
    q.add(f"WHERE {sub}),", params)
    # Dispatches count for the department dispatched to; a return for the department that
    # was lead when it returned the case (only the lead department may return it).
    sub, params = which.sql("case_id")
    q.add(
        "d AS (SELECT case_id, department_id AS department, COUNT(*) AS n"
        f" FROM cases_caseassignment WHERE role = '{lead}' AND {sub}"
        " GROUP BY case_id, department_id),",
        params,
    )
    sub, params = which.sql("e.case_id")
    q.add(
        "r AS (SELECT case_id, department, COUNT(*) AS n FROM (SELECT e.case_id,"
        " COALESCE((SELECT a.department_id FROM cases_caseassignment a"
        f" WHERE a.case_id = e.case_id AND a.role = '{lead}' AND a.assigned_at <= e.at"
        " ORDER BY a.assigned_at DESC, a.id DESC LIMIT 1), 0) AS department"
        f" FROM cases_caseevent e WHERE e.action = '{Action.RETURN}' AND {sub}) rx"
        " GROUP BY case_id, department)",
        params,
    )
    # Each department's dispatches and returns for the case, in one narrow row.
    q.add(
        ", x AS (SELECT case_id, department, SUM(nd) AS nd, SUM(nr) AS nr FROM ("
        " SELECT case_id, department, n AS nd, 0 AS nr FROM d"
        " UNION ALL SELECT case_id, department, 0 AS nd, n AS nr FROM r) y"
        " GROUP BY case_id, department)"
    )
    dims = ", ".join(f"f.{d}" for d in DIMS)

    def branch(day: str, department: str, values: dict[str, str], source: str) -> str:
        cols = ", ".join(f"{values.get(name, '0')} AS {name}" for name in COUNTERS)
        return (
            f"SELECT f.case_id, {day} AS day, {department} AS department, {dims}, {cols} {source}"
        )

    # Three kinds of row, never two with the same (case, day, department), so no GROUP BY:
    # the case's own row (report day, lead department) with that department's dispatches and
    # returns, and its closure when it closed the same day; a row per other department it was
    # dispatched to; and the closure on its own day.
    main = {name: f"f.{name}" for name in per_case}
    main |= {
        PER_DISPATCH[0]: "COALESCE(x.nd, 0)",
        PER_DISPATCH[1]: "COALESCE(x.nr, 0)",
        "closures": "CASE WHEN f.cday = f.rday THEN 1 ELSE 0 END",
    }
    q.add(
        branch(
            "f.rday",
            "f.department",
            main,
            "FROM f LEFT JOIN x ON x.case_id = f.case_id AND x.department = f.department",
        )
    )
    q.add("UNION ALL")
    q.add(
        branch(
            "f.rday",
            "x.department",
            {PER_DISPATCH[0]: "x.nd", PER_DISPATCH[1]: "x.nr"},
            "FROM x JOIN f ON f.case_id = x.case_id WHERE x.department <> f.department",
        )
    )
    q.add("UNION ALL")
    q.add(
        branch(
            "f.cday",
            "f.department",
            {"closures": "1"},
            "FROM f WHERE f.cday IS NOT NULL AND f.cday <> f.rday",
        )
    )
    return q.text(), q.params
