"""Device events in, cases out: one service for the MQTT worker and the HTTP webhook alike.

An event is a JSON object `{event_id, device_id, kind, lon, lat, crs?, category, description,
at}`. A batch of events is written in one transaction; inside it each event is its own
savepoint, so a refused event leaves nothing but its `RejectedMessage` and the others go on.
An event becomes at most one case, whatever the number of times it arrives: the case carries
`source="device", external_id=event_id`, which the database keeps unique
(`cases_external_id_per_source`), so a redelivered or retried event finds its case instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from civicgrid.accounts.models import User
from civicgrid.cases.models import Case, Source
from civicgrid.cases.services import case_create
from civicgrid.cases.services.intake import SOURCES_BY_ROLE
from civicgrid.core.errors import DomainError, NotAllowed, ValidationFailed
from civicgrid.core.text import clean_text

from .conf import ingest_setting
from .models import RejectedMessage

REQUIRED_TEXT = {"event_id": 64, "device_id": 64, "kind": 32, "category": 32, "description": 4000}


@dataclass(frozen=True)
class Incoming:
    """One message as it arrived: raw bytes (MQTT) or an already decoded object (HTTP)."""

    payload: bytes | str | dict[str, Any]
    topic: str = ""


@dataclass(frozen=True)
class DeviceEvent:
    event_id: str
    device_id: str
    kind: str
    lon: float
    lat: float
    crs: str
    category: str
    description: str
    at: dt.datetime


@dataclass(frozen=True)
class Outcome:
    status: str  # "created", "duplicate" or "rejected"
    event_id: str = ""
    case_number: str = ""
    reason: str = ""
    field: str | None = None


def _decode(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(payload, dict):
        return payload
    if isinstance(payload, bytes):
        if len(payload) > ingest_setting("MAX_PAYLOAD_BYTES"):
            raise ValidationFailed(_("The message is too large."), field="payload")
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(_("The message is not UTF-8 text."), field="payload") from None
    try:
        data = json.loads(payload)
    except ValueError as e:
        raise ValidationFailed(
            _("The message is not valid JSON: %(e)s") % {"e": e}, field="payload"
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed(_("The message must be a JSON object."), field="payload")
    return data


def event_parse(payload: bytes | str | dict[str, Any]) -> DeviceEvent:
    """A device event from a message, or ValidationFailed naming the field at fault."""
    data = _decode(payload)
    text: dict[str, str] = {}
    for name, max_length in REQUIRED_TEXT.items():
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and name.endswith("_id"):
            value = str(value)  # numeric ids are common on devices
        if not isinstance(value, str) or not value.strip():
            raise ValidationFailed(_("%(name)s is required (text).") % {"name": name}, field=name)
        text[name] = clean_text(value, field=name, max_length=max_length)
    point: dict[str, float] = {}
    for name in ("lon", "lat"):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationFailed(_("%(name)s must be a number.") % {"name": name}, field=name)
        point[name] = float(value)
    crs = data.get("crs") or "wgs84"
    if not isinstance(crs, str):
        raise ValidationFailed(_("crs must be text."), field="crs")
    at = data.get("at")
    try:
        when = parse_datetime(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValidationFailed(
            _("at must be an ISO 8601 time with a UTC offset, e.g. 2026-05-01T08:30:00+08:00."),
            field="at",
        )
    return DeviceEvent(
        event_id=text["event_id"],
        device_id=text["device_id"],
        kind=text["kind"],
        lon=point["lon"],
        lat=point["lat"],
        crs=crs,
        category=text["category"],
        description=text["description"],
        at=when,
    )


def ingest_check_actor(actor: User) -> None:
    """Device cases are filed as an account whose role may file them (dispatcher, head, admin)."""
    if not actor.is_active or Source.DEVICE not in SOURCES_BY_ROLE.get(actor.role, ()):
        raise NotAllowed(
            _("The account %(user)s may not file device cases.") % {"user": actor.username}
        )


def events_ingest(
    *,
    events: Sequence[Incoming],
    actor: User,
    channel: str,
    after_commit: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Turn a batch of device events into cases in one transaction; refused events are recorded.

    `after_commit` runs once the batch is committed, and only then (the MQTT worker acks there).
    Database errors other than a duplicate event propagate: nothing of the batch is written,
    and the caller delivers it again.
    """
    ingest_check_actor(actor)
    with transaction.atomic():
        outcomes = [_ingest_one(incoming, actor=actor, channel=channel) for incoming in events]
        if after_commit is not None:
            transaction.on_commit(after_commit)
    return outcomes


def _existing_case(event_id: str) -> str | None:
    return (
        Case.objects.filter(source=Source.DEVICE, external_id=event_id)
        .values_list("number", flat=True)
        .first()
    )


def _ingest_one(incoming: Incoming, *, actor: User, channel: str) -> Outcome:
    try:
        event = event_parse(incoming.payload)
    except ValidationFailed as e:
        return _reject(incoming, channel, e)
    number = _existing_case(event.event_id)
    if number is not None:
        return Outcome("duplicate", event.event_id, number)
    try:
        with transaction.atomic():  # a savepoint: a refused event rolls back alone
            created = case_create(
                actor=actor,
                source=Source.DEVICE,
                external_id=event.event_id,
                category=event.category,
                description=event.description,
                lon=event.lon,
                lat=event.lat,
                crs=event.crs,
                extra={
                    "device_id": event.device_id,
                    "kind": event.kind,
                    "event_at": event.at.isoformat(),
                },
            )
    except DomainError as e:
        return _reject(incoming, channel, e, event)
    except IntegrityError:
        # Another worker filed the same event a moment ago (its insert committed first).
        number = _existing_case(event.event_id)
        if number is None:
            raise
        return Outcome("duplicate", event.event_id, number)
    return Outcome("created", event.event_id, created.case.number)


def _as_text(payload: bytes | str | dict[str, Any]) -> str:
    if isinstance(payload, dict):
        text = json.dumps(payload, ensure_ascii=False, default=str)
    elif isinstance(payload, bytes):
        text = payload.decode("utf-8", errors="replace")
    else:
        text = payload
    return text[: ingest_setting("MAX_PAYLOAD_BYTES")].replace("\x00", "\ufffd")


def _guess(payload: bytes | str | dict[str, Any], name: str) -> str:
    """Best effort, for the record of a refused message: an id it seems to carry."""
    try:
        value = _decode(payload).get(name)
    except ValidationFailed:
        return ""
    return str(value).replace("\x00", "")[:64] if isinstance(value, str | int) else ""


def _reject(
    incoming: Incoming, channel: str, error: DomainError, event: DeviceEvent | None = None
) -> Outcome:
    event_id = event.event_id if event else _guess(incoming.payload, "event_id")
    RejectedMessage.objects.create(
        channel=channel,
        topic=incoming.topic[:255],
        event_id=event_id,
        device_id=event.device_id if event else _guess(incoming.payload, "device_id"),
        payload=_as_text(incoming.payload),
        reason=error.message or error.code,
        field=(error.field or "")[:64],
    )
    return Outcome("rejected", event_id, reason=error.message, field=error.field)


def message_reject(
    *,
    incoming: Incoming,
    channel: str,
    error: Exception,
    after_commit: Callable[[], None] | None = None,
) -> None:
    """Record a message that broke ingestion in an unexpected way, so it is not retried forever."""
    with transaction.atomic():
        _reject(
            incoming, channel, DomainError(_("Internal error: %(e)s") % {"e": type(error).__name__})
        )
        if after_commit is not None:
            transaction.on_commit(after_commit)
