"""API shapes of places and grids: what comes in (…In) is kept apart from what goes out (…Out)."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import Field


class RegionFilterIn(Schema):
    level: str | None = Field(None, description="Only regions of this level")
    under: str | None = Field(None, description="Only this region (by code) and its subtree")


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None = Field(description="Code of the parent region")
    path: list[str] = Field(description="Codes from the root down to this region")


class GridFilterIn(Schema):
    kind: str | None = Field(None, description="management or unit")
    region: str | None = Field(None, description="Only grids in this region's subtree (by code)")
    bbox: str | None = Field(
        None, description="minlon,minlat,maxlon,maxlat (WGS-84): grids touching this box"
    )


class GridPropertiesOut(Schema):
    code: str
    name: str
    kind: str
    region: str


class GridFeatureOut(Schema):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: GridPropertiesOut


class GridCollectionOut(Schema):
    type: Literal["FeatureCollection"]
    features: list[GridFeatureOut]


class LocateIn(Schema):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84", description="Coordinate system of lon/lat"
    )


class GridRefOut(Schema):
    code: str
    name: str


class LocateOut(Schema):
    lon: float = Field(description="WGS-84 longitude that was located")
    lat: float = Field(description="WGS-84 latitude that was located")
    management_grid: GridRefOut
    unit_grid: GridRefOut | None
    region: str = Field(description="Code of the management grid's region")
    region_path: list[str] = Field(description="Region codes from the root down")
