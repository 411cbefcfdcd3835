"""Place and grid endpoints, staff only: the region tree, the grid map, and point location."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from . import selectors
from .schemas import GridCollectionOut, GridFilterIn, LocateIn, LocateOut, RegionFilterIn, RegionOut

router = Router(tags=["geo"])


@router.get("/regions", response=list[RegionOut], summary="The region tree, parents first")
def list_regions(request: HttpRequest, filters: Query[RegionFilterIn]) -> Any:
    selectors.require_staff(request.user)
    return selectors.region_list(level=filters.level, under=filters.under)


@router.get(
    "/grids", response=GridCollectionOut, summary="Grids of the active generation as GeoJSON"
)
def list_grids(request: HttpRequest, filters: Query[GridFilterIn]) -> Any:
    selectors.require_staff(request.user)
    bbox = selectors.parse_bbox(filters.bbox) if filters.bbox else None
    grids = selectors.grid_list(kind=filters.kind, region=filters.region, bbox=bbox)
    return selectors.grid_feature_collection(grids)


@router.get("/locate", response=LocateOut, summary="The grids and region of a point")
def locate(request: HttpRequest, point: Query[LocateIn]) -> Any:
    selectors.require_staff(request.user)
    return selectors.locate_point(lon=point.lon, lat=point.lat, crs=point.crs)
