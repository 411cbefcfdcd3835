"""Adding up rollup rows: the few rows a period needs, summed in the database in one query.

The reads behind the API write their SQL here instead of through the ORM: a figure set is one
indexed query over a few dozen rows, and building and compiling its WHERE clause through the
ORM cost several times more than running it. Every value is a parameter; only column names and
the placeholders are written into the text.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection

from .counters import COUNTERS, Counts, zero
from .models import ALL_TIME, Rollup, Span
from .periods import Period
from .services import _as_date

TABLE = Rollup._meta.db_table
# Standard SQL quoting, the same on PostgreSQL and SQLite ("open" and "key" are keywords).
_SUMS = ", ".join(f'CAST(SUM("{c}") AS BIGINT)' for c in COUNTERS)
_GROUPABLE = frozenset({"span", "period", "node", "level", "dim", "key"})


def extent() -> tuple[dt.date, dt.date] | None:
    """The first and last day any rollup row counts something on (two index probes)."""
    with connection.cursor() as cur:
        cur.execute(f'SELECT MIN(period), MAX(period) FROM "{TABLE}" WHERE span = %s', [Span.DAY])
        lo, hi = cur.fetchone()
    return (_as_date(lo), _as_date(hi)) if lo is not None else None


class _Ask:
    """The data's extent is not known yet: `sums` looks it up."""


ASK: Any = _Ask()


def _date(value: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def in_list(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column IN (...)` (a column named in the code), or a clause never true for no values."""
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _periods_sql(rows: Sequence[tuple[str, dt.date, int]]) -> tuple[str, list[Any]]:
    parts, params = [], []
    for span in (Span.DAY, Span.MONTH, Span.ALL):
        periods = sorted({p for s, p, _sign in rows if s == span})
        if periods:
            parts.append(f"(span = %s AND period IN ({', '.join(['%s'] * len(periods))}))")
            params += [span, *(_date(p) for p in periods)]
    return " OR ".join(parts), params


def sums(
    where: str,
    params: Sequence[Any],
    period: Period,
    group: Sequence[str] = (),
    *,
    now: bool = False,
    data: Any = ASK,
) -> tuple[defaultdict[Any, Counts], defaultdict[Any, Counts]]:
    """The period's counters per value of the `group` columns (none: one total, key None),
    over the rollup rows matching `where`; and, with `now`, the all-time rows' counters per
    group (what is open and overdue now). One query, whatever the period; two when `data`,
    the days holding any data (`extent()`), is not given.

    A period is either a few day and month rows added up, or the all-time row less the days
    and months outside it (`Period.rows`), so the sign of a row follows from its span.
    """
    assert _GROUPABLE.issuperset(group), group
    rows = period.rows(extent() if data is ASK else data)
    signed = any(sign < 0 for _s, _p, sign in rows)
    uses_all = any(s == Span.ALL for s, _p, _sign in rows)
    # All-time plus, day and month rows minus; or day and month rows plus (or all-time alone).
    assert not signed or [r for r in rows if r[2] > 0] == [(Span.ALL, ALL_TIME, 1)], rows
    conditions, condition_params = [], []
    if rows:
        sql, p = _periods_sql(rows)
        conditions.append(sql)
        condition_params += p
    if now:
        conditions.append("(span = %s AND period = %s)")
        condition_params += [Span.ALL, _date(ALL_TIME)]
    period_out: defaultdict[Any, Counts] = defaultdict(zero)
    now_out: defaultdict[Any, Counts] = defaultdict(zero)
    if not conditions:
        return period_out, now_out
    whole = f"CASE WHEN span = '{Span.ALL}' THEN 1 ELSE 0 END"
    cols = ", ".join([whole, *(f'"{g}"' for g in group)])
    where = f"({where}) AND ({' OR '.join(conditions)})"
    if not now and len({(s, p) for s, p, _sign in rows}) > 1:
        # Signs applied and added up in the database: one row per group comes back, which
        # halves what a ranking of every grid over a year fetches, converts and adds up here.
        return _signed_sums(where, [*params, *condition_params], group, signed), now_out
    if len({(s, p) for s, p, _sign in rows}) + now <= 2:
        # A row or two per place (a month, a day, all time; and now): read them as they are,
        # adding them up here costs less than the database's SUM and GROUP BY.
        counters = ", ".join(f'"{c}"' for c in COUNTERS)
        sql = f'SELECT {cols}, {counters} FROM "{TABLE}" WHERE {where}'
    else:
        # Summed per group and per all-time or not: at most two rows per group come back.
        sql = f'SELECT {cols}, {_SUMS} FROM "{TABLE}" WHERE {where} GROUP BY {cols}'
    width = len(group)
    with connection.cursor() as cur:
        cur.execute(sql, [*params, *condition_params])
        fetched = cur.fetchall()
    dates = [i for i, g in enumerate(group) if g == "period"]
    if not now and not signed and width == 1 and not dates:
        # The rankings' case (a row per place, every row counted once): the loop below, less
        # the steps that do nothing here, for a few hundred rows per request.
        for row in fetched:
            _add(period_out, row[1], row[2:], 1)
        return period_out, now_out
    for row in fetched:
        is_all, key = row[0], _group_key(row[1 : 1 + width], dates)
        values = row[1 + width :]
        if is_all:
            if now:
                _add(now_out, key, values, 1)
            if not uses_all:
                continue
            sign = 1
        else:
            sign = -1 if signed else 1
        _add(period_out, key, values, sign)
    return period_out, now_out


def _signed_sums(
    where: str, params: Sequence[Any], group: Sequence[str], signed: bool
) -> defaultdict[Any, Counts]:
    """The rows matching `where` added up per group, all-time rows plus and the rest minus
    when `signed` (see `sums`)."""
    if signed:
        sign = f"(CASE WHEN span = '{Span.ALL}' THEN 1 ELSE -1 END)"
        totals = ", ".join(f'CAST(SUM({sign} * "{c}") AS BIGINT)' for c in COUNTERS)
    else:
        totals = _SUMS
    cols = ", ".join(f'"{g}"' for g in group)
    sql = f'SELECT {", ".join(filter(None, [cols, totals]))} FROM "{TABLE}" WHERE {where}'
    if group:
        sql += f" GROUP BY {cols}"
    with connection.cursor() as cur:
        cur.execute(sql, list(params))
        fetched = cur.fetchall()
    width = len(group)
    dates = [i for i, g in enumerate(group) if g == "period"]
    out: defaultdict[Any, Counts] = defaultdict(zero)
    for row in fetched:
        if width == 0 and row[0] is None:  # SUM over no rows, without GROUP BY: nothing
            continue
        _add(out, _group_key(row[:width], dates), row[width:], 1)
    return out


def _group_key(keys: Sequence[Any], dates: Sequence[int]) -> Any:
    """A row's group: its one value, a tuple of several, or None for no group columns."""
    if dates:
        keys = [_as_date(k) if i in dates else k for i, k in enumerate(keys)]
    if not keys:
        return None
    return keys[0] if len(keys) == 1 else tuple(keys)


def _add(into: dict[Any, Counts], key: Any, values: Sequence[int], sign: int) -> None:
    # dict(zip()): a ranking makes hundreds of these per request.
    counts = into.get(key)
    if counts is None:
        into[key] = (
            dict(zip(COUNTERS, values, strict=True))
            if sign > 0
            else {n: -v for n, v in zip(COUNTERS, values, strict=True)}
        )
    else:
        for name, v in zip(COUNTERS, values, strict=True):
            counts[name] += sign * v


def day_sums(
    where: str, params: Sequence[Any], first: dt.date, last: dt.date
) -> dict[dt.date, Counts]:
    """The day rows matching `where` from `first` to `last`, added up per day."""
    sql = (
        f'SELECT period, {_SUMS} FROM "{TABLE}" WHERE ({where})'
        " AND span = %s AND period >= %s AND period <= %s GROUP BY period"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*params, Span.DAY, _date(first), _date(last)])
        fetched = cur.fetchall()
    return {_as_date(row[0]): dict(zip(COUNTERS, row[1:], strict=True)) for row in fetched}


def _sums(qs: Any, *group: str) -> dict[Any, Counts]:
    """Add up the rollup rows of a queryset, per value of the `group` columns (none: one total).

    For the reconcile job, which checks whole grains: the ORM writes the WHERE clause.
    """
    compiler = qs.query.get_compiler(connection=connection)
    try:
        where, params = compiler.compile(qs.query.where)
    except EmptyResultSet:
        return defaultdict(zero)
    q = connection.ops.quote_name
    cols = [q(g) for g in group]
    sql = f"SELECT {', '.join([*cols, _SUMS])} FROM {q(TABLE)} WHERE {where or '1 = 1'}"
    if group:
        sql += f" GROUP BY {', '.join(cols)}"
    out: dict[Any, Counts] = defaultdict(zero)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for row in cur.fetchall():
            keys = [_as_date(v) if g == "period" else v for g, v in zip(group, row, strict=False)]
            key = (keys[0] if len(keys) == 1 else tuple(keys)) if group else None
            values = row[len(group) :]
            out[key] = dict(
                zip(COUNTERS, values if group else [v or 0 for v in values], strict=True)
            )
    return out
