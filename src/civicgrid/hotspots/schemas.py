"""API shapes of hot spots and re-inspection."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Schema
from pydantic import Field


class HotspotFilterIn(Schema):
    status: str | None = None
    category: str | None = Field(None, description="Code of a minor or major class")
    grid: str | None = Field(None, description="Management grid code")
    region: str | None = Field(None, description="Region code: the region and all below it")


class CategoryRef(Schema):
    code: str
    name: str
    name_en: str


class HotspotOut(Schema):
    id: int
    category: CategoryRef
    lon: float
    lat: float
    radius_m: float
    case_count: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    grid: str
    region: str
    status: str
    detected_at: dt.datetime
    refreshed_at: dt.datetime
    active_plan: int | None


class HotspotCaseOut(Schema):
    number: str
    state: str
    reported_at: dt.datetime
    lon: float
    lat: float
    address: str
    description: str
    overdue: bool


class HotspotDetailOut(HotspotOut):
    cases: list[HotspotCaseOut]


class PlanIn(Schema):
    frequency: Literal["daily", "weekly"]
    weeks: int = Field(ge=1, le=52)
    inspectors: list[str] = Field(min_length=1, description="Usernames of grid inspectors")
    starts_on: dt.date | None = Field(None, description="Default: today")
    note: str = Field("", max_length=2000)


class TaskOut(Schema):
    id: int
    plan: int
    hotspot: int
    category: CategoryRef
    lon: float
    lat: float
    grid: str
    due_on: dt.date
    inspector: str
    status: str
    ok: bool | None
    result_note: str
    case: str | None
    recorded_at: dt.datetime | None
    missed_at: dt.datetime | None


class PlanOut(Schema):
    id: int
    hotspot: int
    category: CategoryRef
    grid: str
    frequency: str
    weeks: int
    starts_on: dt.date
    ends_on: dt.date
    status: str
    inspectors: list[str]
    note: str
    created_by: str | None
    created_at: dt.datetime
    counts: dict[str, int]


class PlanDetailOut(PlanOut):
    tasks: list[TaskOut]


class TaskFilterIn(Schema):
    due_on: dt.date | None = None
    status: Literal["pending", "done", "missed"] | None = None
    plan: int | None = None
    mine: bool = False


class RecordIn(Schema):
    ok: bool = Field(description="True: the place is fine; false files a new patrol case")
    note: str = Field("", max_length=4000)
    photos: list[uuid.UUID] = Field(default_factory=list, max_length=9)
    lon: float | None = Field(None, ge=-180, le=180, description="Where the problem is (WGS-84)")
    lat: float | None = Field(None, ge=-90, le=90)


GeoJson = dict[str, Any]
