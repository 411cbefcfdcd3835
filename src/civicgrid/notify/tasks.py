"""Background work of the outbox. Tasks take ids and are idempotent (see services)."""

from __future__ import annotations

from django_tasks import task

from .services import notification_retry_due, notification_send


@task()
def send_notification(notification_id: int) -> str:
    sent = notification_send(notification_id=notification_id)
    return sent.status if sent is not None else "skipped"


@task()
def retry_notifications() -> int:
    """Periodic (settings.CIVICGRID["EXTRA_JOBS"]): enqueue every message whose retry is due."""
    due = notification_retry_due()
    for notification_id in due:
        send_notification.enqueue(notification_id=notification_id)
    return len(due)
