"""Reads of places and grids.

Regions and grids are the shared map, not personal data: every staff member sees all of them
(a handler of the city-wide fire service works in every grid). Jurisdiction scoping applies to
what lies on the map (cases, people), in those apps' selectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from civicgrid.core.errors import NotAllowed, ValidationFailed

from .coords import to_wgs84
from .locator import get_locator
from .models import GenerationStatus, Grid, GridGeneration, GridKind, Region, RegionLevel


def require_staff(user: Any) -> None:
    """The map is for staff; residents see grids only through the pages made for them."""
    if not getattr(user, "is_staff_role", False):
        raise NotAllowed(_("Only staff may read the grid map."))


def _ids(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


def region_path_codes(paths: list[str]) -> dict[str, list[str]]:
    """For each materialised path ("/1/4/17/"), the codes from the root down, in one query."""
    ids = {i for path in paths for i in _ids(path)}
    code_of = dict(Region.objects.filter(pk__in=ids).values_list("pk", "code"))
    return {path: [code_of[i] for i in _ids(path) if i in code_of] for path in paths}


def region_list(*, level: str | None = None, under: str | None = None) -> list[dict[str, Any]]:
    """Regions in tree order (parents before children), each with its parent and path as codes."""
    qs = Region.objects.select_related("parent").order_by("path")
    if level:
        if level not in RegionLevel.values:
            raise ValidationFailed(_("Unknown region level '%(l)s'.") % {"l": level}, field="level")
        qs = qs.filter(level=level)
    if under:
        root = Region.objects.filter(code=under).values_list("path", flat=True).first()
        if root is None:
            raise ValidationFailed(_("Unknown region code '%(c)s'.") % {"c": under}, field="under")
        qs = qs.filter(path__startswith=root)
    regions = list(qs)
    codes = region_path_codes([r.path for r in regions])
    return [
        {
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "parent": r.parent.code if r.parent else None,
            "path": codes[r.path],
        }
        for r in regions
    ]


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """'minlon,minlat,maxlon,maxlat' in WGS-84 degrees, or ValidationFailed on field bbox."""
    try:
        values = [float(p) for p in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValidationFailed(_("Give bbox as minlon,minlat,maxlon,maxlat."), field="bbox")
    lon0, lat0, lon1, lat1 = values
    if not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
        raise ValidationFailed(
            _("The bbox must be ordered min before max, within ±180 and ±90 degrees."),
            field="bbox",
        )
    return lon0, lat0, lon1, lat1


def active_generation() -> GridGeneration | None:
    return GridGeneration.objects.filter(status=GenerationStatus.ACTIVE).first()


def grid_list(
    *,
    kind: str | None = None,
    region: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> QuerySet[Grid]:
    """Grids of the active generation, by kind, inside a region's subtree, touching a bbox."""
    qs = Grid.objects.filter(generation__status=GenerationStatus.ACTIVE)
    if kind:
        if kind not in GridKind.values:
            raise ValidationFailed(_("Unknown grid kind '%(k)s'.") % {"k": kind}, field="kind")
        qs = qs.filter(kind=kind)
    if region:
        root = Region.objects.filter(code=region).values_list("path", flat=True).first()
        if root is None:
            raise ValidationFailed(
                _("Unknown region code '%(c)s'.") % {"c": region}, field="region"
            )
        qs = qs.filter(region__path__startswith=root)
    if bbox:
        lon0, lat0, lon1, lat1 = bbox
        # Bounding boxes overlap: a cheap indexed prefilter, exact enough for drawing a map.
        qs = qs.filter(min_lon__lte=lon1, max_lon__gte=lon0, min_lat__lte=lat1, max_lat__gte=lat0)
    return qs.select_related("region").order_by("id")


def grid_feature_collection(grids: QuerySet[Grid]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": g.code,
                "geometry": g.geometry,
                "properties": {
                    "code": g.code,
                    "name": g.name,
                    "kind": g.kind,
                    "region": g.region.code,
                },
            }
            for g in grids
        ],
    }


@dataclass(frozen=True)
class GridRef:
    code: str
    name: str


@dataclass(frozen=True)
class PointPlace:
    lon: float
    lat: float
    management_grid: GridRef
    unit_grid: GridRef | None
    region: str
    region_path: list[str]


def locate_point(*, lon: float, lat: float, crs: str) -> PointPlace:
    """Where a point lies: its grids and region path. OutsideEveryGrid names the point."""
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise ValidationFailed(_("Longitude must be within ±180 degrees."), field="lon")
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise ValidationFailed(_("Latitude must be within ±90 degrees."), field="lat")
    try:
        lon, lat = to_wgs84(lon, lat, crs)
    except ValueError:
        raise ValidationFailed(
            _("Unknown coordinate system '%(crs)s'.") % {"crs": crs}, field="crs"
        ) from None
    where = get_locator().locate(lon, lat)
    ids = [where.management_grid_id, where.unit_grid_id]
    names = dict(Grid.objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "name"))
    path = region_path_codes([where.region_path])[where.region_path]
    return PointPlace(
        lon=lon,
        lat=lat,
        management_grid=GridRef(
            code=where.management_grid_code, name=names.get(where.management_grid_id, "")
        ),
        unit_grid=(
            GridRef(code=where.unit_grid_code or "", name=names.get(where.unit_grid_id, ""))
            if where.unit_grid_id
            else None
        ),
        region=path[-1] if path else "",
        region_path=path,
    )
