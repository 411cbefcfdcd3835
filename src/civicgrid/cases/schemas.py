"""API shapes of cases: what comes in (…In) is kept apart from what goes out (…Out)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Schema
from pydantic import Field


class CaseIn(Schema):
    category: str = Field(description="Code of a minor category class")
    description: str = Field(min_length=1, max_length=4000)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84", description="Coordinate system of lon/lat"
    )
    urgency: Literal["normal", "urgent", "critical"] = "normal"
    source: str | None = Field(None, description="Defaults from the caller's role or token")
    address: str = Field("", max_length=255)
    reporter_name: str = Field("", max_length=100)
    reporter_phone: str = Field("", max_length=32)
    photos: list[uuid.UUID] = Field(
        default_factory=list, max_length=9, description="Ids from POST /api/uploads"
    )
    external_id: str = Field("", max_length=64)
    extra: dict[str, Any] = Field(default_factory=dict)


class Ref(Schema):
    code: str
    name: str


class AssignmentOut(Schema):
    department: Ref
    role: str
    active: bool
    assigned_at: dt.datetime
    taken_at: dt.datetime | None


class CaseOut(Schema):
    number: str
    state: str
    source: str
    category: Ref
    urgency: str
    description: str
    address: str
    lon: float
    lat: float
    management_grid: Ref
    unit_grid: str | None
    region: Ref
    escalation_level: str
    reported_at: dt.datetime
    accepted_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    handled_at: dt.datetime | None
    closed_at: dt.datetime | None
    deadline: dt.datetime | None
    overdue: bool
    near_due: bool
    supporters_count: int
    reopen_count: int
    merged_into: str | None


class AttachmentOut(Schema):
    id: uuid.UUID
    kind: str
    url: str
    content_type: str


class CaseDetailOut(CaseOut):
    reporter_name: str
    reporter_phone: str
    assignments: list[AssignmentOut]
    attachments: list[AttachmentOut]
    allowed_actions: list[str]


class DuplicateOut(Schema):
    number: str
    state: str
    description: str
    distance_m: float
    reported_at: dt.datetime


class CaseCreatedOut(Schema):
    case: CaseOut
    tracking_token: uuid.UUID
    duplicates: list[DuplicateOut]


class EventOut(Schema):
    action: str
    from_state: str
    to_state: str
    actor: str | None
    actor_role: str
    at: dt.datetime
    note: str
    data: dict[str, Any]
    attachments: list[AttachmentOut]


class PublicEventOut(Schema):
    action: str
    to_state: str
    at: dt.datetime
    note: str


class PublicCaseOut(Schema):
    """What anyone may see of a case: no names, no phone numbers."""

    number: str
    state: str
    category: Ref
    description: str
    address: str
    lon: float
    lat: float
    reported_at: dt.datetime
    deadline: dt.datetime | None
    overdue: bool
    closed_at: dt.datetime | None
    supporters_count: int
    merged_into: str | None
    timeline: list[PublicEventOut]


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)


class MergeIn(Schema):
    into: str = Field(description="Number of the case that stays")
    note: str = Field("", max_length=2000)


class DispatchIn(Schema):
    lead: str = Field(description="Department code")
    co_handlers: list[str] = Field(default_factory=list, max_length=20)
    note: str = Field("", max_length=2000)


class HandledIn(Schema):
    note: str = Field(min_length=1, max_length=2000)
    evidence: list[uuid.UUID] = Field(default_factory=list, max_length=9)


class VerifyIn(Schema):
    ok: bool
    note: str = Field("", max_length=2000)
    photos: list[uuid.UUID] = Field(default_factory=list, max_length=9)


class SelfHandleIn(Schema):
    note: str = Field(min_length=1, max_length=2000)
    photos: list[uuid.UUID] = Field(default_factory=list, max_length=9)


class TransferIn(Schema):
    grid: str = Field(description="Code of the management grid that takes the case")
    reason: str = Field(min_length=1, max_length=2000)


class ExtendIn(Schema):
    until: dt.datetime
    reason: str = Field(min_length=1, max_length=2000)


class FeedbackIn(Schema):
    satisfaction: int = Field(ge=1, le=5)
    text: str = Field("", max_length=2000)


class TokenFeedbackIn(FeedbackIn):
    tracking_token: uuid.UUID


class TokenReopenIn(ReasonIn):
    tracking_token: uuid.UUID


class UploadOut(Schema):
    id: uuid.UUID
    content_type: str
    size: int
    width: int
    height: int


class CategoryOut(Schema):
    code: str
    name: str
    name_en: str
    kind: str
    parent: str | None
    default_department: str | None
