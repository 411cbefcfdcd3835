"""Periodic housekeeping of the task queue (settings.CIVICGRID["EXTRA_JOBS"])."""

from __future__ import annotations

from django_tasks import task

from .services import task_requeue_stale


@task()
def requeue_stale_tasks() -> dict[str, int]:
    """Run again the tasks whose worker died mid-task (RUNNING past TASK_RUNNING_LIMIT_SECONDS)."""
    result = task_requeue_stale()
    return {"requeued": len(result.requeued), "failed": len(result.failed)}
