"""What happens after a case event commits: one background task per timeline row."""

from __future__ import annotations

from django.db import transaction


def after_commit(event_id: int) -> None:
    """Enqueue the follow-up work for a timeline row once (and only if) its transaction commits."""

    def enqueue() -> None:
        from .tasks import process_case_event

        process_case_event.enqueue(event_id=event_id)

    transaction.on_commit(enqueue)
