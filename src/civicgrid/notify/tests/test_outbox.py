"""The outbox: idempotent queueing and sending, retries with backoff, giving up, manual retry."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from civicgrid.audit.models import AuditEntry
from civicgrid.core import clock
from civicgrid.core.errors import Conflict, NotAllowed, ValidationFailed
from civicgrid.notify.models import Notification, Status
from civicgrid.notify.services import (
    backoff,
    notification_create,
    notification_retry,
    notification_retry_due,
    notification_send,
)
from civicgrid.notify.tasks import retry_notifications, send_notification

from .conftest import CapturingBackend

CONTEXT = {"number": "202601010000001", "category": "暴露垃圾", "closed_at": None}


def queue(key: str = "k1", channel: str = "sms", address: str = "13800000001") -> Notification:
    notification, created = notification_create(
        channel=channel,
        address=address,
        template="closed",
        context=CONTEXT,
        idempotency_key=key,
    )
    assert created
    return notification


def sms_to(settings, provider) -> None:
    settings.CIVICGRID_NOTIFY = {
        **settings.CIVICGRID_NOTIFY,
        "BACKENDS": {"sms": "civicgrid.notify.backends.SmsBackend"},
        "OPTIONS": {"sms": {"endpoint": f"{provider.url}/sms", "timeout": 5}},
        "MAX_ATTEMPTS": 3,
        "RETRY_BASE_SECONDS": 60,
    }


def test_the_same_idempotency_key_queues_one_message(db):
    first = queue("case-event:1:user:1")
    again, created = notification_create(
        channel="email",
        address="x@example.org",
        template="closed",
        context={},
        idempotency_key="case-event:1:user:1",
    )
    assert not created and again.pk == first.pk
    assert Notification.objects.count() == 1


def test_bad_input_names_the_field_and_writes_nothing(db):
    for kwargs, field in [
        ({"channel": "fax"}, "channel"),
        ({"template": "nope"}, "template"),
        ({"address": "  "}, "address"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ]:
        args = {
            "channel": "sms",
            "address": "1",
            "template": "closed",
            "context": {},
            "idempotency_key": "k",
            **kwargs,
        }
        with pytest.raises(ValidationFailed) as exc:
            notification_create(**args)
        assert exc.value.field == field
    assert not Notification.objects.exists()


def test_a_sent_message_is_never_sent_again(db, captured):
    n = queue()
    send_notification.enqueue(notification_id=n.pk)
    send_notification.enqueue(notification_id=n.pk)  # a duplicate task
    assert notification_send(notification_id=n.pk) is None
    n.refresh_from_db()
    assert (n.status, n.attempts, n.provider_ref) == (Status.SENT, 1, "ref-1")
    assert n.sent_at is not None and len(captured) == 1
    assert notification_retry_due(now=clock.now() + dt.timedelta(days=1)) == []


def test_failures_back_off_exponentially_then_give_up(db, settings, provider):
    sms_to(settings, provider)
    provider.answer("/sms", (503, {"message": "busy"}))
    n = queue()
    t0 = clock.now()
    n = notification_send(notification_id=n.pk, now=t0)
    assert (n.status, n.attempts) == (Status.PENDING, 1)
    assert n.next_attempt_at == t0 + dt.timedelta(seconds=60)
    assert "HTTP 503" in n.last_error

    # Not yet due: neither the retry job nor a stray task sends it.
    assert notification_retry_due(now=t0 + dt.timedelta(seconds=59)) == []
    assert notification_send(notification_id=n.pk, now=t0 + dt.timedelta(seconds=59)) is None
    assert len(provider.requests) == 1

    t1 = t0 + dt.timedelta(seconds=60)
    assert notification_retry_due(now=t1) == [n.pk]
    n = notification_send(notification_id=n.pk, now=t1)
    assert n.attempts == 2 and n.next_attempt_at == t1 + dt.timedelta(seconds=120)

    t2 = t1 + dt.timedelta(seconds=120)
    n = notification_send(notification_id=n.pk, now=t2)
    assert (n.status, n.attempts) == (Status.FAILED, 3)  # MAX_ATTEMPTS reached: gave up
    assert notification_retry_due(now=t2 + dt.timedelta(days=1)) == []
    assert len(provider.requests) == 3


def test_the_retry_job_sends_what_is_due(db, settings, provider):
    sms_to(settings, provider)
    provider.answer("/sms", (500, {}), (200, {"code": 0, "id": "gw-1"}))
    n = queue()
    n = notification_send(notification_id=n.pk)
    assert n.status == Status.PENDING
    with clock.frozen(n.next_attempt_at):
        assert retry_notifications.enqueue().return_value == 1
    n.refresh_from_db()
    assert (n.status, n.attempts, n.provider_ref) == (Status.SENT, 2, "gw-1")


def test_a_claim_lost_with_its_worker_is_released(db, captured):
    n = queue()
    t0 = clock.now()
    Notification.objects.filter(pk=n.pk).update(status=Status.SENDING, claimed_at=t0, attempts=1)
    assert notification_retry_due(now=t0 + dt.timedelta(seconds=60)) == []  # maybe still sending
    assert notification_retry_due(now=t0 + dt.timedelta(seconds=601)) == [n.pk]
    n.refresh_from_db()
    assert n.status == Status.PENDING


def test_backoff_is_capped(settings):
    settings.CIVICGRID_NOTIFY = {"RETRY_BASE_SECONDS": 60, "RETRY_MAX_SECONDS": 600}
    assert [backoff(i).total_seconds() for i in (1, 2, 3, 4, 5, 9)] == [60, 120, 240, 480, 600, 600]


def test_an_administrator_can_retry_a_failed_message_and_it_is_audited(world, captured):
    n = queue()
    Notification.objects.filter(pk=n.pk).update(status=Status.FAILED, attempts=5)
    with pytest.raises(NotAllowed):
        notification_retry(notification=n, actor=world.user("dispatcher"))
    n = notification_retry(notification=n, actor=world.user("admin"))
    assert (n.status, n.attempts) == (Status.PENDING, 0)
    assert AuditEntry.objects.filter(action="notification.retry", object_id=str(n.pk)).exists()
    notification_send(notification_id=n.pk)
    n.refresh_from_db()
    assert n.status == Status.SENT
    with pytest.raises(Conflict):
        notification_retry(notification=n, actor=world.user("admin"))


def test_the_admin_outbox_is_read_only_with_a_retry_action(world, captured):
    admin = world.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    n = queue()
    Notification.objects.filter(pk=n.pk).update(status=Status.FAILED, attempts=5)
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/notify/notification/").status_code == 200
    page = client.get(f"/admin/notify/notification/{n.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get("/admin/notify/notification/add/").status_code == 403
    r = client.post(
        "/admin/notify/notification/",
        {"action": "retry", "_selected_action": [n.pk]},
    )
    assert r.status_code == 302
    n.refresh_from_db()
    assert n.status == Status.PENDING and n.attempts == 0


class SlowBackend(CapturingBackend):
    """Holds the message a moment, so a second sender would overlap if it could claim it."""

    def send(self, message):
        time.sleep(0.3)
        return super().send(message)


def test_two_workers_racing_for_one_message_send_it_once(transactional_db, captured, settings):
    settings.CIVICGRID_NOTIFY = {
        **settings.CIVICGRID_NOTIFY,
        "BACKENDS": {"sms": "civicgrid.notify.tests.test_outbox.SlowBackend"},
    }
    n = queue()
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        try:
            notification_send(notification_id=n.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    n.refresh_from_db()
    assert (n.status, n.attempts, len(captured)) == (Status.SENT, 1, 1)
