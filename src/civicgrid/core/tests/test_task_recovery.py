"""Tasks whose worker died mid-task (left RUNNING) are run again, or given up after a few tries.

The real thing, a `db_worker` killed with SIGKILL, is in test_hard_faults.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from civicgrid.cases.tasks import process_case_event
from civicgrid.core import scheduler
from civicgrid.core.services import WorkerLost, task_requeue_stale
from civicgrid.core.tasks import requeue_stale_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(settings):
    """The database queue of production instead of the tests' immediate backend."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.CIVICGRID = {
        **settings.CIVICGRID,
        "TASK_RUNNING_LIMIT_SECONDS": 600,
        "TASK_MAX_ATTEMPTS": 3,
    }


def running(event_id: int, *, minutes_ago: int, workers: int = 1) -> DBTaskResult:
    """A task claimed by `workers` workers in turn, the last one `minutes_ago` minutes ago."""
    row = DBTaskResult.objects.get(pk=process_case_event.enqueue(event_id=event_id).id)
    for n in range(workers):
        row.claim(f"worker-{n}")
    DBTaskResult.objects.filter(pk=row.pk).update(
        started_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )
    return row


def test_a_task_running_past_the_limit_is_ready_again_and_a_fresh_one_is_left_alone(queue):
    lost = running(1, minutes_ago=11)
    busy = running(2, minutes_ago=9)
    done = running(3, minutes_ago=60)
    DBTaskResult.objects.filter(pk=done.pk).update(status=TaskResultStatus.SUCCESSFUL)
    waiting = DBTaskResult.objects.get(pk=process_case_event.enqueue(event_id=4).id)

    result = task_requeue_stale()

    assert result.requeued == [str(lost.pk)] and result.failed == []
    lost.refresh_from_db()
    # the same row, with its arguments and its history, where the stock worker looks for work
    assert lost.status == TaskResultStatus.READY and lost.started_at is None
    assert lost.args_kwargs == {"args": [], "kwargs": {"event_id": 1}}
    assert lost.worker_ids == ["worker-0"] and lost.task_result.attempts == 1
    assert DBTaskResult.objects.ready().filter(pk=lost.pk).exists()
    assert DBTaskResult.objects.get(pk=busy.pk).status == TaskResultStatus.RUNNING
    assert DBTaskResult.objects.get(pk=done.pk).status == TaskResultStatus.SUCCESSFUL
    assert DBTaskResult.objects.get(pk=waiting.pk).status == TaskResultStatus.READY
    # and a second run of the job (another scheduler, the next slot) finds nothing to do
    assert task_requeue_stale().requeued == []


def test_a_task_that_lost_its_worker_on_every_try_is_failed_not_retried_for_ever(queue):
    poison = running(1, minutes_ago=11, workers=3)
    retried = running(2, minutes_ago=11, workers=2)

    assert requeue_stale_tasks.call() == {"requeued": 1, "failed": 1}

    poison.refresh_from_db()
    assert poison.status == TaskResultStatus.FAILED and poison.finished_at is not None
    error = poison.task_result.errors[0]
    assert error.exception_class is WorkerLost and "attempt 3 of 3" in error.traceback
    assert DBTaskResult.objects.get(pk=retried.pk).status == TaskResultStatus.READY


def test_the_requeue_job_is_scheduled():
    jobs = {j.name: j for j in scheduler.jobs()}
    assert import_string(jobs["requeue_stale_tasks"].task_path) is requeue_stale_tasks
