"""Background work on cases. Tasks take ids, are enqueued on commit and are idempotent."""

from __future__ import annotations

import logging

from django_tasks import task

from .services import case_sweep_deadlines

log = logging.getLogger(__name__)


@task()
def sweep_deadlines() -> dict[str, int]:
    result = case_sweep_deadlines()
    return {
        "overdue": len(result.newly_overdue),
        "near_due": len(result.newly_near_due),
        "cleared": result.cleared,
    }


@task()
def process_case_event(event_id: int) -> None:
    """Follow-up work for one timeline row (notifications, figures), after its transaction commits.

    Idempotent by event id: each consumer records what it has done for the event.
    """
    from .models import CaseEvent

    if not CaseEvent.objects.filter(pk=event_id).exists():
        return  # the event's transaction was rolled back after all, or the case was deleted
    failures: list[BaseException] = []
    for consumer in _consumers():
        # One consumer failing must not starve the others; the task still fails afterwards so
        # the worker records it, and each consumer's own retry or reconcile job picks it up.
        try:
            consumer(event_id=event_id)
        except Exception as exc:
            log.exception(
                "case event %s: %s failed", event_id, getattr(consumer, "__name__", consumer)
            )
            failures.append(exc)
    if failures:
        raise failures[0]


def _consumers() -> list:
    """The apps that act on case events, in order. Explicit calls, not signals."""
    from civicgrid.metrics.services import rollup_apply_event
    from civicgrid.notify.triggers import notify_case_event

    return [rollup_apply_event, notify_case_event]
