"""Housekeeping of the task queue (django-tasks-db), run by the scheduler like any periodic job."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

log = logging.getLogger(__name__)


class WorkerLost(Exception):
    """Recorded on a task whose workers kept dying while running it (see task_requeue_stale)."""


@dataclass
class StaleTasks:
    requeued: list[str] = field(default_factory=list)  # task result ids, READY again
    failed: list[str] = field(default_factory=list)  # gave up: TASK_MAX_ATTEMPTS claims lost


def task_requeue_stale(*, now: dt.datetime | None = None) -> StaleTasks:
    """Run again the tasks whose worker died while running them.

    django-tasks-db marks a task RUNNING when a worker claims it and SUCCESSFUL or FAILED when
    the task returns or raises; a worker killed in between (SIGKILL, out of memory, the machine
    lost) leaves the row RUNNING forever, and no worker looks at it again. Workers send no
    heartbeat, so "lost" means RUNNING for longer than TASK_RUNNING_LIMIT_SECONDS.

    Such a row is put back to READY, in place, rather than enqueued afresh and the old one
    failed: the row keeps its id (ScheduledRun.task_id and anyone holding the TaskResult keep
    following the right row), its arguments, priority and queue, and its `worker_ids`, to which
    the next claim appends, so `TaskResult.attempts` counts the tries and a task can tell a
    rerun (`context.attempt`). The stock worker picks READY rows up with no help; a fresh copy
    would leave two rows for one piece of work and a FAILED row that never failed. After
    TASK_MAX_ATTEMPTS claims the task is failed instead (WorkerLost), so a task that kills its
    worker every time is not retried for ever.

    A rerun is safe because tasks take ids and are idempotent. A task that is only slow, not
    lost, may run twice at once if it outlives the limit: keep the limit above the longest task.
    Each row changes with one conditional UPDATE (still RUNNING, same claim): a row that
    finished or was claimed again meanwhile is left alone, and two runs of this job requeue a
    row once.
    """
    now = now or timezone.now()  # compared with started_at, which the worker sets from this clock
    cutoff = now - dt.timedelta(seconds=int(settings.CIVICGRID["TASK_RUNNING_LIMIT_SECONDS"]))
    max_attempts = int(settings.CIVICGRID["TASK_MAX_ATTEMPTS"])
    result = StaleTasks()
    stale = DBTaskResult.objects.running().filter(started_at__lt=cutoff).order_by("started_at")
    for row in stale.only("id", "started_at", "worker_ids", "task_path"):
        # The same claim only: a row claimed again meanwhile has a newer started_at.
        same_claim = DBTaskResult.objects.filter(
            pk=row.pk, status=TaskResultStatus.RUNNING, started_at=row.started_at
        )
        task_id = str(row.pk)
        if len(row.worker_ids) >= max_attempts:
            if same_claim.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                return_value=None,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=f"WorkerLost: running since {row.started_at.isoformat()} on its "
                f"attempt {len(row.worker_ids)} of {max_attempts}, worker "
                f"{row.worker_ids[-1] if row.worker_ids else '?'}; gave up\n",
            ):
                result.failed.append(task_id)
                log.error(
                    "task %s (%s) lost its worker %d times; failed",
                    task_id,
                    row.task_path,
                    len(row.worker_ids),
                )
        elif same_claim.update(status=TaskResultStatus.READY, started_at=None):
            result.requeued.append(task_id)
            log.warning(
                "task %s (%s) lost its worker %s; ready again",
                task_id,
                row.task_path,
                row.worker_ids[-1] if row.worker_ids else "?",
            )
    return result
