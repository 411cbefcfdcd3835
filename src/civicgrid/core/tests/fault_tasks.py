"""Test-only tasks for test_hard_faults.py: process_case_event, stalling on its first attempt.

A `db_worker` runs them like any task; on the first attempt they do part or all of the event's
work, leave a mark file and then wait to be killed (bounded). On a later attempt (the task
requeued after its worker died) they are the real process_case_event and return.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_tasks import TaskContext, task

from civicgrid.cases.tasks import process_case_event
from civicgrid.metrics.services import rollup_apply_event

MARK_DIR = "CIVICGRID_FAULT_MARK_DIR"


def _stall(name: str, event_id: int) -> None:
    (Path(os.environ[MARK_DIR]) / f"{name}-{event_id}").touch()
    time.sleep(120)  # the test kills the worker long before
    raise RuntimeError("the worker was not killed")


@task(takes_context=True)
def stall_between_consumers(context: TaskContext, event_id: int) -> None:
    """First attempt: the rollup consumer has committed, the notification one has not run."""
    if context.attempt == 1:
        rollup_apply_event(event_id=event_id)
        _stall("between", event_id)
    process_case_event.call(event_id=event_id)


@task(takes_context=True)
def stall_after_consumers(context: TaskContext, event_id: int) -> None:
    """First attempt: every consumer has committed, the task is not marked done."""
    process_case_event.call(event_id=event_id)
    if context.attempt == 1:
        _stall("after", event_id)
