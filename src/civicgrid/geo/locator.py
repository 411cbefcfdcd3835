"""Which grid a point falls in: shapely 2 STRtree over the active generation, built once per process.

A point on an edge shared by two grids is covered by both; the lowest grid id wins, so the
answer is deterministic and the same as a database `ST_Covers ... ORDER BY id LIMIT 1`.

Called on every case intake, so a lookup never touches the database: the only query is the
cheap "which generation is active?" recheck, at most once every RECHECK_SECONDS per process.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import shapely
from django.utils.translation import gettext as _

from civicgrid.core.errors import OutsideEveryGrid

from .models import GenerationStatus, Grid, GridGeneration, GridKind

if TYPE_CHECKING:
    from .raster import RasterGridLocator


@dataclass(frozen=True)
class Location:
    management_grid_id: int
    unit_grid_id: int | None
    region_id: int
    # Filled by the STRtree locator so callers need no query for them; empty if unknown.
    management_grid_code: str = ""
    unit_grid_code: str | None = None
    region_path: str = ""


class GridLocator(Protocol):
    generation_id: int | None

    def locate(self, lon: float, lat: float) -> Location: ...

    def locate_many(self, lons: np.ndarray, lats: np.ndarray, kind: str) -> np.ndarray:
        """Grid ids (or -1 where no grid covers the point) for arrays of points."""
        ...


@dataclass(frozen=True)
class _Row:
    code: str
    region_id: int
    region_path: str


class _KindIndex:
    def __init__(self, ids: list[int], geoms: list[shapely.Geometry], rows: list[_Row]) -> None:
        order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
        self.ids = np.asarray(ids, dtype=np.int64)[order]
        self.geoms = np.asarray(geoms, dtype=object)[order]
        self.rows = [rows[i] for i in order]
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        out = np.full(len(lons), -1, dtype=np.int64)
        if len(self.ids) == 0 or len(lons) == 0:
            return out
        points = shapely.points(lons, lats)
        pairs = self.tree.query(points, predicate="covered_by")
        if pairs.shape[1] == 0:
            return out
        point_idx, geom_idx = pairs
        # Geometries are sorted by id, so the smallest index per point is the lowest grid id.
        order = np.lexsort((geom_idx, point_idx))
        point_idx, geom_idx = point_idx[order], geom_idx[order]
        first = np.ones(len(point_idx), dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        out[point_idx[first]] = self.ids[geom_idx[first]]
        return out

    def locate_one(self, point: shapely.Point) -> int:
        """The lowest id of the grids covering one point, or -1: the per-case fast path."""
        hits = self.tree.query(point, predicate="covered_by")
        return int(self.ids[hits.min()]) if len(hits) else -1

    def row(self, grid_id: int) -> _Row:
        return self.rows[int(np.searchsorted(self.ids, grid_id))]


class STRtreeGridLocator:
    """An immutable index of one generation; replaced whole, never edited, when grids change."""

    def __init__(self, generation_id: int | None) -> None:
        self.generation_id = generation_id
        self.activated_at: dt.datetime | None = None
        by_kind: dict[str, tuple[list[int], list[shapely.Geometry], list[_Row]]] = {
            GridKind.MANAGEMENT: ([], [], []),
            GridKind.UNIT: ([], [], []),
        }
        if generation_id is not None:
            self.activated_at = (
                GridGeneration.objects.filter(pk=generation_id)
                .values_list("activated_at", flat=True)
                .first()
            )
            rows = Grid.objects.filter(generation_id=generation_id).values_list(
                "id", "kind", "code", "geometry", "region_id", "region__path"
            )
            for grid_id, kind, code, geometry, region_id, region_path in rows.iterator(2000):
                ids, geoms, extra = by_kind[kind]
                ids.append(grid_id)
                geoms.append(shapely.from_geojson(json.dumps(geometry)))
                extra.append(_Row(code=code, region_id=region_id, region_path=region_path))
        self._index = {kind: _KindIndex(*parts) for kind, parts in by_kind.items()}

    @property
    def key(self) -> tuple[int, dt.datetime | None] | None:
        # The activation time guards against a reused id (a test database rolled back).
        return None if self.generation_id is None else (self.generation_id, self.activated_at)

    def locate_many(self, lons: np.ndarray, lats: np.ndarray, kind: str) -> np.ndarray:
        return self._index[kind].locate_many(
            np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
        )

    def locate(self, lon: float, lat: float) -> Location:
        point = shapely.Point(float(lon), float(lat))
        management = self._index[GridKind.MANAGEMENT].locate_one(point)
        if management < 0:
            raise OutsideEveryGrid(
                _("The point (%(lon).6f, %(lat).6f) lies outside every grid.")
                % {"lon": lon, "lat": lat},
                field="location",
            )
        unit = self._index[GridKind.UNIT].locate_one(point)
        row = self._index[GridKind.MANAGEMENT].row(management)
        return Location(
            management_grid_id=management,
            unit_grid_id=unit if unit >= 0 else None,
            region_id=row.region_id,
            management_grid_code=row.code,
            unit_grid_code=self._index[GridKind.UNIT].row(unit).code if unit >= 0 else None,
            region_path=row.region_path,
        )


_lock = threading.Lock()  # held only by the one thread building a new index
_current: RasterGridLocator | None = None
_checked_at = 0.0
# How long a process trusts its index before asking which generation is active; a new
# generation reaches every process within this many seconds, with no pause in lookups.
RECHECK_SECONDS = 2.0


def _active_generation_key() -> tuple[int, dt.datetime | None] | None:
    row = (
        GridGeneration.objects.filter(status=GenerationStatus.ACTIVE)
        .values_list("id", "activated_at")
        .first()
    )
    return (row[0], row[1]) if row else None


def get_locator() -> RasterGridLocator:
    """The index of the active generation; a new one is built beside the old, then swapped in."""
    global _current, _checked_at
    now = time.monotonic()
    current = _current
    if current is not None and now - _checked_at < RECHECK_SECONDS:
        return current
    key = _active_generation_key()
    _checked_at = now
    if current is not None and current.key == key:
        return current
    # While one thread builds the new index, every other keeps answering from the old one;
    # only a process with no index at all has to wait for the first build.
    if not _lock.acquire(blocking=current is None):
        assert current is not None
        return current
    try:
        if _current is None or _current.key != key:
            # The raster pre-index (raster.py) gives the STRtree's answers, many times faster.
            # Imported here because raster.py imports this module.
            from .raster import RasterGridLocator

            _current = RasterGridLocator(key[0] if key else None)
        return _current
    finally:
        _lock.release()


def expire_locator() -> None:
    """Ask again which generation is active on the next lookup; keep the index until then."""
    global _checked_at
    _checked_at = 0.0


def reset_locator() -> None:
    """Forget the cached index (tests, or after rebuilding grids in this process)."""
    global _current, _checked_at
    with _lock:
        _current = None
        _checked_at = 0.0
