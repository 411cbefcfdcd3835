"""The outbox: queue a message once, send it from a background task, retry with backoff, give up.

Sending is at-least-once towards the provider only in one case: a worker that dies between the
provider's "ok" and our "sent" leaves the row claimed; after STALE_SENDING_SECONDS it is tried
again (with the same idempotency key, which gateways that de-duplicate honour). A row that is
`sent` is never sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Role, User
from civicgrid.audit.services import audit_record
from civicgrid.core import clock
from civicgrid.core.errors import Conflict, NotAllowed, ValidationFailed

from .backends import Message, get_backend
from .conf import notify_setting
from .models import Channel, Notification, Preference, Status
from .rendering import check_template, language_of, render

log = logging.getLogger(__name__)


def _enqueue_send(notification_id: int) -> None:
    from .tasks import send_notification

    send_notification.enqueue(notification_id=notification_id)


def notification_create(
    *,
    channel: str,
    address: str,
    template: str,
    context: dict[str, Any],
    idempotency_key: str,
    recipient: User | None = None,
    language: str = "",
    case: Any = None,
) -> tuple[Notification, bool]:
    """Queue one message; the same idempotency key returns the row already queued, unsent again."""
    if channel not in Channel.values:
        raise ValidationFailed(_("Unknown channel '%(c)s'.") % {"c": channel}, field="channel")
    check_template(template)
    address = (address or "").strip()
    if not address:
        raise ValidationFailed(_("The recipient has no address on this channel."), field="address")
    if not idempotency_key:
        raise ValidationFailed(_("An idempotency key is required."), field="idempotency_key")
    now = clock.now()
    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "channel": channel,
                "address": address[:254],
                "template": template,
                "context": context,
                "recipient": recipient,
                "language": language_of(language),
                "case": case,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
        if created:
            transaction.on_commit(lambda: _enqueue_send(notification.pk))
    return notification, created


def address_of(user: User, channels: list[str]) -> tuple[str, str] | None:
    """The first (channel, address) in `channels` at which the user can be reached."""
    pref = Preference.objects.filter(user=user).first()
    for channel in channels:
        if channel == Channel.WECOM:
            address = (pref.wecom_userid if pref else "") or user.username
        elif channel == Channel.SMS:
            address = user.phone
        elif channel == Channel.EMAIL:
            address = user.email
        else:
            continue
        if address:
            return channel, address
    return None


def language_for(user: User | None) -> str:
    pref = Preference.objects.filter(user=user).first() if user is not None else None
    return language_of(pref.language if pref else "")


def notify_user(
    *,
    user: User,
    template: str,
    context: dict[str, Any],
    idempotency_key: str,
    channels: list[str] | None = None,
    case: Any = None,
) -> Notification | None:
    """Queue a message for a person on their first reachable channel; None if unreachable."""
    channels = channels or notify_setting("STAFF_CHANNELS")
    found = address_of(user, channels)
    if found is None:
        log.info("user %s has no address on %s; %s not queued", user.pk, channels, template)
        return None
    channel, address = found
    notification, _created = notification_create(
        channel=channel,
        address=address,
        template=template,
        context=context,
        idempotency_key=idempotency_key,
        recipient=user,
        language=language_for(user),
        case=case,
    )
    return notification


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the `attempts`-th failure: base, 2×base, 4×base … capped."""
    base = notify_setting("RETRY_BASE_SECONDS")
    return dt.timedelta(
        seconds=min(base * 2 ** max(attempts - 1, 0), notify_setting("RETRY_MAX_SECONDS"))
    )


def notification_send(
    *, notification_id: int, now: dt.datetime | None = None
) -> Notification | None:
    """Try to deliver one queued message. Returns None when there is nothing to do now.

    Idempotent: only a pending row whose time has come is claimed (one conditional UPDATE),
    so a duplicate task, a retry job and a second worker never send one message twice.
    """
    now = now or clock.now()
    claimed = Notification.objects.filter(
        pk=notification_id, status=Status.PENDING, next_attempt_at__lte=now
    ).update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    notification = Notification.objects.get(pk=notification_id)
    try:
        subject, body = render(notification.template, notification.language, notification.context)
        ref = get_backend(notification.channel).send(
            Message(
                channel=notification.channel,
                address=notification.address,
                subject=subject,
                body=body,
                idempotency_key=notification.idempotency_key,
            )
        )
    except Exception as exc:  # any failure, ours or the provider's, is a failed attempt
        log.warning(
            "notification %s attempt %s failed: %s", notification.pk, notification.attempts, exc
        )
        return _record_failure(notification, f"{type(exc).__name__}: {exc}", now)
    Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(
        status=Status.SENT, sent_at=clock.now(), provider_ref=str(ref or "")[:100], last_error=""
    )
    notification.refresh_from_db()
    return notification


def _record_failure(notification: Notification, error: str, now: dt.datetime) -> Notification:
    gave_up = notification.attempts >= notify_setting("MAX_ATTEMPTS")
    Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(
        status=Status.FAILED if gave_up else Status.PENDING,
        next_attempt_at=now if gave_up else now + backoff(notification.attempts),
        last_error=error[:2000],
    )
    if gave_up:
        log.error(
            "notification %s gave up after %s attempts", notification.pk, notification.attempts
        )
    notification.refresh_from_db()
    return notification


def notification_retry_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """The periodic job: release claims lost with their worker, then the ids due for a try."""
    now = now or clock.now()
    stale = now - dt.timedelta(seconds=notify_setting("STALE_SENDING_SECONDS"))
    lost = Notification.objects.filter(status=Status.SENDING, claimed_at__lt=stale)
    lost.filter(attempts__gte=notify_setting("MAX_ATTEMPTS")).update(
        status=Status.FAILED, last_error=_("Lost while sending; gave up.")
    )
    lost.update(status=Status.PENDING, next_attempt_at=now)
    return list(
        Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def notification_retry(*, notification: Notification, actor: User) -> Notification:
    """An administrator sends a message again (after fixing an address or a provider)."""
    if not (actor.is_superuser or actor.role in (Role.ADMIN, Role.OPS_CENTER)):
        raise NotAllowed(_("Only administrators may retry notifications."))
    with transaction.atomic():
        row = Notification.objects.select_for_update().get(pk=notification.pk)
        if row.status in (Status.SENT, Status.SENDING):
            raise Conflict(
                _("A notification that is %(s)s cannot be retried.")
                % {"s": row.get_status_display()},
                field="status",
            )
        before = {"status": row.status, "attempts": row.attempts}
        row.status, row.attempts, row.next_attempt_at = Status.PENDING, 0, clock.now()
        row.save(update_fields=["status", "attempts", "next_attempt_at"])
        audit_record(
            actor=actor,
            action="notification.retry",
            obj=row,
            before=before,
            after={"status": row.status},
        )
        transaction.on_commit(lambda: _enqueue_send(row.pk))
    return row
