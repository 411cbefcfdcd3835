"""Periodic work of hot spots and re-inspection (settings.CIVICGRID["EXTRA_JOBS"])."""

from __future__ import annotations

from django_tasks import task

from .services import hotspot_refresh, recheck_task_flag_missed


@task()
def refresh_hotspots() -> dict[str, int]:
    result = hotspot_refresh()
    return {
        "created": len(result.created),
        "updated": len(result.updated),
        "faded": len(result.faded),
    }


@task()
def flag_missed_rechecks() -> int:
    return len(recheck_task_flag_missed())
