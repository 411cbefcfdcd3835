"""Background work for the rollups: the periodic reconcile (the per-event update is a consumer)."""

from __future__ import annotations

from django_tasks import task

from .reconcile import rollup_reconcile


@task()
def reconcile_rollups() -> dict[str, int]:
    result = rollup_reconcile()
    return {
        "cases_checked": result.cases_checked,
        "cases_fixed": result.cases_fixed,
        "rows_fixed": result.rows_fixed,
    }
