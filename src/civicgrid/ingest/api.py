"""`POST /api/ingest/events`: device events over HTTP, for systems that cannot speak MQTT."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from civicgrid.accounts.auth import staff_user, token_auth

from .models import Channel
from .services import Incoming, events_ingest

router = Router(tags=["ingest"], auth=token_auth)

MAX_EVENTS = 500


class EventsIn(Schema):
    events: list[dict[str, Any]] = Field(
        ...,
        min_length=1,
        max_length=MAX_EVENTS,
        description="Objects {event_id, device_id, kind, lon, lat, crs?, category, description, at}",
    )


class OutcomeOut(Schema):
    event_id: str
    status: str = Field(description="created, duplicate (the case exists already) or rejected")
    case: str | None = Field(None, description="Number of the case the event became")
    reason: str = ""
    field: str | None = None


class IngestOut(Schema):
    created: int
    duplicate: int
    rejected: int
    results: list[OutcomeOut]


@router.post(
    "/events",
    response=IngestOut,
    summary="Ingest device events (one transaction; each event becomes at most one case)",
)
def ingest_events(request: HttpRequest, payload: EventsIn) -> dict[str, Any]:
    outcomes = events_ingest(
        events=[Incoming(payload=e) for e in payload.events],
        actor=staff_user(request),
        channel=Channel.HTTP,
    )
    return {
        "created": sum(o.status == "created" for o in outcomes),
        "duplicate": sum(o.status == "duplicate" for o in outcomes),
        "rejected": sum(o.status == "rejected" for o in outcomes),
        "results": [
            {
                "event_id": o.event_id,
                "status": o.status,
                "case": o.case_number or None,
                "reason": o.reason,
                "field": o.field,
            }
            for o in outcomes
        ],
    }
