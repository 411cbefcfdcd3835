"""The periodic safety net: recompute the recent cases and check every rollup grain.

Rollups drift only when a case changes without a timeline event (the deadline sweep clears
an overdue flag silently; an admin edits a row) or when an event's task is lost (a process
dies between commit and enqueue). The job recomputes the cases touched in the last hours
through the same path as the events, then checks the day rows of those days against the
contributions, their months against their days, and the all-time rows against the months,
repairing each grain on its own.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from civicgrid.cases.models import Case
from civicgrid.core import clock

from .counters import COUNTERS, Counts, add, is_zero, zero
from .models import ALL_TIME, CaseContribution, Rollup, RollupState, Span
from .periods import today
from .services import (
    RowKey,
    _state_lock,
    _upsert,
    ancestors,
    contributions_computed,
    contributions_stored,
    fan_out,
    rollup_refresh_cases,
)
from .sums import _sums
from .truth import DIMS, FINAL

log = logging.getLogger(__name__)


@dataclass
class ReconcileResult:
    cases_checked: int
    cases_fixed: int
    rows_fixed: int


CHECK_BATCH = 2000


def _candidates(cutoff: dt.datetime) -> set[int]:
    """Cases changed or reported in the window, cases whose overdue flag and counted overdue
    disagree (the deadline sweep clears flags without a timeline event), and deleted cases
    that still count."""
    touched = Case.objects.filter(Q(updated_at__gte=cutoff) | Q(reported_at__gte=cutoff))
    open_q = ~Q(state__in=FINAL)
    counted = CaseContribution.objects.filter(overdue__gt=0)
    flagged = Case.objects.filter(open_q, overdue=True).exclude(pk__in=counted.values("case_id"))
    unflagged = counted.exclude(case__in=Case.objects.filter(open_q, overdue=True))
    deleted = CaseContribution.objects.filter(~Exists(Case.objects.filter(pk=OuterRef("case_id"))))
    return (
        set(touched.values_list("pk", flat=True))
        | set(flagged.values_list("pk", flat=True))
        | set(unflagged.values_list("case_id", flat=True))
        | set(deleted.values_list("case_id", flat=True))
    )


def _differing(case_ids: set[int]) -> list[int]:
    """The candidates whose stored contribution is not what their rows say now (set-based)."""
    ids = sorted(case_ids)
    out: list[int] = []
    for start in range(0, len(ids), CHECK_BATCH):
        batch = ids[start : start + CHECK_BATCH]
        computed, stored = contributions_computed(batch), contributions_stored(batch)
        out += [i for i in batch if computed.get(i, {}) != stored.get(i, {})]
    return out


def _repair(expected: dict[RowKey, tuple[str, Counts]], stored: Any, grain: str) -> int:
    """Make the stored rows (a queryset of one grain) equal the expected ones."""
    diff = {k: (level, dict(counts)) for k, (level, counts) in expected.items()}
    cols = ("span", "period", "node", "level", "dim", "key", *COUNTERS)
    for span, period, node, level, dim, key, *values in stored.values_list(*cols).iterator(5000):
        rk = (span, period, node, dim, key)
        if rk not in diff:
            diff[rk] = (level, zero())
        add(diff[rk][1], dict(zip(COUNTERS, values, strict=True)), -1)
    wrong = {k: v for k, v in diff.items() if not is_zero(v[1])}
    if wrong:
        log.warning("metrics: %d %s rollup rows had drifted; repaired", len(wrong), grain)
        _upsert(wrong)
    return len(wrong)


def _summed(qs: Any, span: str, period_of: Any) -> dict[RowKey, tuple[str, Counts]]:
    out: dict[RowKey, tuple[str, Counts]] = {}
    for (node, level, dim, key, *rest), counts in _sums(
        qs, "node", "level", "dim", "key", *period_of
    ).items():
        rk = (span, rest[0] if rest else ALL_TIME, node, dim, key)
        if rk in out:
            add(out[rk][1], counts)
        else:
            out[rk] = (level, counts)
    return out


def _check_grains(first_day: dt.date) -> int:
    # Day rows from the contributions.
    rows = CaseContribution.objects.filter(day__gte=first_day).values_list(
        "day", "department", *DIMS, *COUNTERS
    )
    flat = [
        (day, dep, (r[0], r[1], r[2], r[3]), dict(zip(COUNTERS, r[4:], strict=True)), 1)
        for day, dep, *r in rows.iterator(5000)
    ]
    expected = fan_out(flat, ancestors(f[2][0] for f in flat), spans=(Span.DAY,))
    fixed = _repair(expected, Rollup.objects.filter(span=Span.DAY, period__gte=first_day), "day")
    # Month rows of those days from the day rows, month by month.
    month = first_day.replace(day=1)
    last = max(today(), first_day)
    while month <= last:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        days = Rollup.objects.filter(span=Span.DAY, period__gte=month, period__lt=following)
        expected = {
            (Span.MONTH, month, *rk[2:]): v for rk, v in _summed(days, Span.MONTH, ()).items()
        }
        stored = Rollup.objects.filter(span=Span.MONTH, period=month)
        fixed += _repair(expected, stored, "month")
        month = following
    # All-time rows from the month rows.
    expected = _summed(Rollup.objects.filter(span=Span.MONTH), Span.ALL, ())
    fixed += _repair(expected, Rollup.objects.filter(span=Span.ALL), "all-time")
    return fixed


def rollup_reconcile(
    *, hours: int | None = None, now: dt.datetime | None = None
) -> ReconcileResult:
    """Recompute the cases of the last hours, then check and repair every grain."""
    hours = hours or int(settings.CIVICGRID.get("METRICS_RECONCILE_HOURS", 48))
    now = now or clock.now()
    cutoff = now - dt.timedelta(hours=hours)
    candidates = _candidates(cutoff)
    # Checked in bulk first; only the cases that differ take the locked, per-case path.
    fixed = rollup_refresh_cases(case_ids=_differing(candidates))
    with transaction.atomic():
        _state_lock(exclusive=True)
        rows = _check_grains(cutoff.date() - dt.timedelta(days=1))
        RollupState.objects.update_or_create(
            id=1, defaults={"reconciled_at": now, "last_drift": fixed + rows}
        )
    if fixed:
        log.warning("metrics: reconcile fixed the contributions of %d cases", fixed)
    return ReconcileResult(cases_checked=len(candidates), cases_fixed=fixed, rows_fixed=rows)
