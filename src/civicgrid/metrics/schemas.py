"""API shapes of the figures. Counters and indicators are listed field by field for OpenAPI."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import BaseModel, Field, create_model

from .counters import COUNTERS
from .indicators import HOTLINE, INDICATORS

# Out shapes are plain pydantic models: ninja's Schema reads each field through a Django-aware
# getter, which costs more than the whole query for a ranking of hundreds of rows.
# Field definitions built at run time are beyond what the type checker can follow.
_COUNTER_FIELDS: dict[str, Any] = {name: (int, 0) for name in COUNTERS}
_INDICATOR_FIELDS: dict[str, Any] = {i.name: (float | None, None) for i in INDICATORS}
_HOTLINE_FIELDS: dict[str, Any] = {i.name: (float | None, None) for i in HOTLINE}
CountersOut: Any = create_model("CountersOut", __base__=BaseModel, **_COUNTER_FIELDS)
IndicatorsOut: Any = create_model("IndicatorsOut", __base__=BaseModel, **_INDICATOR_FIELDS)
HotlineIndicatorsOut: Any = create_model(
    "HotlineIndicatorsOut", __base__=BaseModel, **_HOTLINE_FIELDS
)


class WhereQuery(Schema):
    region: str | None = Field(None, description="Region code inside your jurisdiction")
    grid: str | None = Field(None, description="Management grid code inside your jurisdiction")


class PeriodQuery(WhereQuery):
    period: (
        Literal["today", "yesterday", "month", "last_month", "year", "last30", "range"] | None
    ) = Field(None, description="Default: this month; 'range' needs date_from and date_to")
    date_from: dt.date | None = None
    date_to: dt.date | None = Field(None, description="Inclusive")


class RankingQuery(PeriodQuery):
    by: Literal["grid", "community", "subdistrict", "department"] = "grid"
    sort: str = Field("closure_rate", description="An indicator or counter name")
    order: Literal["asc", "desc"] = "desc"


class TargetOut(BaseModel):
    kind: str
    code: str
    name: str


class PeriodOut(BaseModel):
    first: dt.date
    last: dt.date


class NowOut(BaseModel):
    open: int
    overdue: int


class HotlineOut(BaseModel):
    counters: CountersOut
    indicators: HotlineIndicatorsOut


class FiguresOut(BaseModel):
    target: TargetOut
    period: PeriodOut
    counters: CountersOut
    indicators: IndicatorsOut
    hotline: HotlineOut
    now: NowOut


class RankRowOut(BaseModel):
    rank: int
    code: str
    name: str
    counters: CountersOut
    indicators: IndicatorsOut


class RankingOut(BaseModel):
    target: TargetOut
    period: PeriodOut
    by: str
    sort: str
    rows: list[RankRowOut]


class TrendPointOut(BaseModel):
    day: dt.date
    reported: int
    accepted: int
    closures: int
    open: int


class BreakdownRowOut(BaseModel):
    key: str
    name: str
    counters: CountersOut
    indicators: IndicatorsOut


class IndicatorOut(BaseModel):
    name: str
    label: str
    formula: str
    unit: str
    hotline: bool
