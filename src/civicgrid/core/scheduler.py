"""Periodic jobs: the one place that says what runs how often.

`manage.py run_scheduler` calls `tick()` in a loop. Each job's time is cut into slots; a slot
is claimed by inserting a unique row, so a second scheduler (by mistake or for failover)
never enqueues a job twice, and a scheduler that was down catches up with one run, not many.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from civicgrid.core import clock

from .models import ScheduledRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    task_path: str  # dotted path of a django_tasks Task
    every_seconds: int


def jobs() -> list[Job]:
    return [
        Job(
            "sweep_deadlines",
            "civicgrid.cases.tasks.sweep_deadlines",
            int(settings.CIVICGRID["DEADLINE_SWEEP_SECONDS"]),
        ),
        *[Job(*j) for j in _extra_jobs()],
    ]


def _extra_jobs() -> list[tuple[str, str, int]]:
    """Jobs other apps register in settings.CIVICGRID["EXTRA_JOBS"] as (name, task path, seconds)."""
    return list(settings.CIVICGRID.get("EXTRA_JOBS", []))  # type: ignore[call-overload]


def slot_of(at: dt.datetime, every_seconds: int) -> dt.datetime:
    epoch = int(at.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % every_seconds, tz=dt.UTC)


def tick(
    *, now: dt.datetime | None = None, enqueue: Callable[[Job], str] | None = None
) -> list[str]:
    """Enqueue every job whose current slot nobody has claimed yet; returns the jobs enqueued."""
    now = now or clock.now()
    done = []
    for job in jobs():
        slot = slot_of(now, job.every_seconds)
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, slot=slot)
                task_id = (enqueue or _enqueue)(job)
                ScheduledRun.objects.filter(pk=run.pk).update(task_id=task_id)
        except IntegrityError:
            continue  # another scheduler claimed this slot
        done.append(job.name)
        log.info("enqueued %s for slot %s", job.name, slot.isoformat())
    return done


def _enqueue(job: Job) -> str:
    result = import_string(job.task_path).enqueue()
    return str(result.id)
