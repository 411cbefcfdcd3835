"""A raster pre-index over the grids: most points are placed by one array read, no geometry test.

The grids' extent is cut into a regular raster of square cells, several per grid, each
classified when the index is built (`raster_build.py`):

- *pure*: no grid edge comes near the cell, so it lies wholly inside one grid (or none) and a
  point in it is answered by reading one array element;
- *one edge*: the only thing crossing the cell is one edge shared by two grids, so the side of
  that edge the point lies on decides (one orientation test);
- *mixed*: anything else (vertices, the outer boundary, overlaps); the cell lists the grids
  that may cover its points, lowest id first, and a point gets exact `covers` tests against
  those alone, each over the few edges of that grid near the cell. Where the crossing grids
  cover the whole cell, the last one is the answer when the others are not, untested.

Every geometric test is a floating-point orientation test guarded by a certified error bound
(Shewchuk's for the 2-D orientation determinant); where the bound cannot vouch for the sign
(a point on, or a hair from, an edge or a vertex) the test is redone in exact integer
arithmetic. So the answer is the lowest id among the grids whose closed polygon covers the
point: the answer of GEOS (shapely's `covers`), and of PostGIS `ST_Covers ... ORDER BY id
LIMIT 1` wherever PostGIS's own arithmetic is exact.

`lookup_many` places arrays of points with numpy; `lookup` places one point in plain Python
(memoryview reads, no array allocation) for the per-request path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from civicgrid.core.errors import OutsideEveryGrid

from . import raster_build as rb
from .locator import Location
from .models import Grid, GridGeneration, GridKind

# Twice Shewchuk's ccwerrboundA ((3 + 16 eps) eps): above it, the float sign is the true sign.
_ERRBOUND = 7e-16


def _sign_exact(x0: float, y0: float, x1: float, y1: float, px: float, py: float) -> int:
    """The sign of the orientation of p against the line (x0, y0) -> (x1, y1), exactly.

    Every double is an integer times a power of two, so scaling all six to the smallest
    power makes them integers, and Python's integers do the rest without rounding.
    """
    ratios = [v.as_integer_ratio() for v in (x0, y0, x1, y1, px, py)]
    scale = max(q for _, q in ratios)  # a power of two: every denominator divides it
    ax, ay, bx, by, qx, qy = (n * (scale // q) for n, q in ratios)
    det = (bx - ax) * (qy - ay) - (qx - ax) * (by - ay)
    return (det > 0) - (det < 0)


def _covers_exact(edges: np.ndarray, px: float, py: float) -> bool:
    """Whether the polygon with these edges covers the point: crossing number, exact arithmetic."""
    inside = False
    for x0, y0, x1, y1 in edges.tolist():
        s = _sign_exact(x0, y0, x1, y1, px, py)
        if s == 0 and min(x0, x1) <= px <= max(x0, x1) and min(y0, y1) <= py <= max(y0, y1):
            return True  # on the boundary, which `covers` includes
        if (y0 > py) != (y1 > py) and (s > 0) == (y1 > y0):
            inside = not inside
    return inside


class RasterIndex:
    """The grids of one kind: ids ascending (a grid's *position*), edges, and the raster."""

    def __init__(self, ids: np.ndarray, geoms: Any, *, cells_per_grid: float = 16.0) -> None:
        order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
        self.ids = np.asarray(ids, dtype=np.int64)[order]
        geoms = np.asarray(geoms, dtype=object)[order]
        self.f = rb.Frame.around(geoms, cells_per_grid)
        e = rb.Edges(geoms)
        self.t = rb.classify(self.f, e, len(self.ids))
        # Kept for the queries: distinct edges, the grids on their sides, each grid's edges.
        self.seg, self.left, self.right = e.seg, e.left, e.right
        self.poly_start, self.poly_edges = e.poly_start, e.uid.astype(np.int32)
        self.lookup = _one_point_lookup(self, self.ids.data)
        self.position = _one_point_lookup(self, range(len(self.ids)))

    @property
    def stats(self) -> dict[str, int]:
        t = self.t
        arrays = [self.ids, self.seg, self.left, self.right, self.poly_start, self.poly_edges]
        arrays += [getattr(t, name) for name in t.__dataclass_fields__]
        return {
            "grids": len(self.ids),
            "cells": int(t.cells.size),
            "one_edge_cells": int((t.mixed_edge >= 0).sum()),
            "mixed_cells": int((t.mixed_edge < 0).sum()),
            "candidates": len(t.candidate),
            "bytes": sum(a.nbytes for a in arrays),
        }

    def _polygon(self, g: int) -> np.ndarray:
        return self.seg[self.poly_edges[self.poly_start[g] : self.poly_start[g + 1]]]

    def lookup_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Grid ids (the lowest on shared edges) or -1, for arrays of points."""
        f, t = self.f, self.t
        lons = np.asarray(lons, dtype=np.float64)
        lats = np.asarray(lats, dtype=np.float64)
        out = np.full(len(lons), -1, dtype=np.int64)
        at = np.flatnonzero((lons >= f.x0) & (lons <= f.x1) & (lats >= f.y0) & (lats <= f.y1))
        px, py = lons[at], lats[at]
        ix = np.minimum(((px - f.x0) / f.size).astype(np.int64), f.nx - 1)
        iy = np.minimum(((py - f.y0) / f.size).astype(np.int64), f.ny - 1)
        pos = t.cells[iy * f.nx + ix].astype(np.int64)
        mixed = np.flatnonzero(pos <= -2)
        k = -2 - pos[mixed]
        edge = t.mixed_edge[k]
        one = edge >= 0
        pos[mixed[one]] = self._sides(edge[one], px[mixed[one]], py[mixed[one]])
        many = mixed[~one]
        pos[many] = self._resolve(px[many], py[many], k[~one])
        hit = pos >= 0
        out[at[hit]] = self.ids[pos[hit]]
        return out

    def _sides(self, edge: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        s = self.seg[edge]
        t1 = (s[:, 2] - s[:, 0]) * (py - s[:, 1])
        t2 = (px - s[:, 0]) * (s[:, 3] - s[:, 1])
        det = t1 - t2
        left, right = self.left[edge], self.right[edge]
        out = np.where(det > 0, left, right)
        for i in np.flatnonzero(np.abs(det) <= _ERRBOUND * (np.abs(t1) + np.abs(t2))):
            ax, ay, bx, by = s[i].tolist()
            sign = _sign_exact(ax, ay, bx, by, float(px[i]), float(py[i]))
            out[i] = left[i] if sign > 0 else right[i] if sign < 0 else min(left[i], right[i])
        return out

    def _resolve(self, px: np.ndarray, py: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Positions for points in mixed cells: candidates tested in id order, first hit wins."""
        t = self.t
        result = t.fallback[k].astype(np.int64)
        at, end = t.mixed_start[k].astype(np.int64), t.mixed_start[k + 1]
        live = np.flatnonzero(at < end)
        while len(live):
            covered = self._covers_many(at[live], px[live], py[live])
            result[live[covered]] = t.candidate[at[live[covered]]]
            at[live] += 1
            live = live[~covered & (at[live] < end[live])]
        return result

    def _covers_many(self, entry: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Whether each point's candidate covers it: local edges, base and flips; exact in doubt."""
        t = self.t
        pair, k = rb.ragged(t.local_start[entry + 1] - t.local_start[entry])
        s = self.seg[t.local[t.local_start[entry][pair] + k]]
        qx, qy = px[pair], py[pair]
        t1 = (s[:, 2] - s[:, 0]) * (qy - s[:, 1])
        t2 = (qx - s[:, 0]) * (s[:, 3] - s[:, 1])
        det = t1 - t2
        straddle = (s[:, 1] > qy) != (s[:, 3] > qy)
        crossings = straddle & ((det > 0) == (s[:, 3] > s[:, 1]))
        parity = t.base[entry] ^ (np.bincount(pair[crossings], minlength=len(entry)) & 1)
        fpair, fk = rb.ragged(t.flip_start[entry + 1] - t.flip_start[entry])
        below = t.flips[t.flip_start[entry][fpair] + fk] <= py[fpair]
        parity ^= np.bincount(fpair[below], minlength=len(entry)) & 1
        covered = parity == 1
        doubt = np.flatnonzero(np.abs(det) <= _ERRBOUND * (np.abs(t1) + np.abs(t2)))
        for i in np.unique(pair[doubt]):
            polygon = self._polygon(int(t.candidate[entry[i]]))
            covered[i] = _covers_exact(polygon, float(px[i]), float(py[i]))
        return covered


def _one_point_lookup(index: RasterIndex, answer: Any) -> Callable[[float, float], int]:
    """One point, in plain Python: `answer[position]` of the covering grid, or -1.

    A closure over memoryviews of the index's arrays (`.data`, no copy): indexing one gives a
    Python number, and every name is a local, so a lookup allocates no array.
    """
    f, t = index.f, index.t
    x0, y0, x1, y1, size, nx, last_x, last_y = (
        f.x0,
        f.y0,
        f.x1,
        f.y1,
        f.size,
        f.nx,
        f.nx - 1,
        f.ny - 1,
    )
    cells, starts, cands, fallbacks = (
        t.cells.data,
        t.mixed_start.data,
        t.candidate.data,
        t.fallback.data,
    )
    edges, base, local_start, local = (
        t.mixed_edge.data,
        t.base.data,
        t.local_start.data,
        t.local.data,
    )
    flip_start, flips = t.flip_start.data, t.flips.data
    seg, left, right = index.seg.reshape(-1).data, index.left.data, index.right.data
    polygon = index._polygon

    def covers(j: int, px: float, py: float) -> bool:
        parity = base[j]
        for h in range(flip_start[j], flip_start[j + 1]):
            if flips[h] > py:
                break
            parity ^= 1
        for m in range(local_start[j], local_start[j + 1]):
            i = 4 * local[m]
            ax, ay, bx, by = seg[i], seg[i + 1], seg[i + 2], seg[i + 3]
            straddle = (ay > py) != (by > py)
            # An edge neither level with the point nor boxing it can neither cross its ray
            # nor hold it (ax <= bx always).
            if not straddle and not ((ay <= py <= by or by <= py <= ay) and ax <= px <= bx):
                continue
            t1, t2 = (bx - ax) * (py - ay), (px - ax) * (by - ay)
            det = t1 - t2
            if abs(det) <= _ERRBOUND * (abs(t1) + abs(t2)):
                return _covers_exact(polygon(cands[j]), px, py)
            if straddle and (det > 0) == (by > ay):
                parity ^= 1
        return parity == 1

    def lookup(lon: float, lat: float) -> int:
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            return -1  # NaN too
        ix = int((lon - x0) / size)
        iy = int((lat - y0) / size)
        v = cells[(iy if iy < last_y else last_y) * nx + (ix if ix < last_x else last_x)]
        if v >= 0:
            return answer[v]
        if v == -1:
            return -1
        k = -2 - v
        e = edges[k]
        if e >= 0:  # one shared edge: its side decides, the lower id on the edge itself
            i = 4 * e
            ax, ay, bx, by = seg[i], seg[i + 1], seg[i + 2], seg[i + 3]
            t1, t2 = (bx - ax) * (lat - ay), (lon - ax) * (by - ay)
            det = t1 - t2
            if abs(det) <= _ERRBOUND * (abs(t1) + abs(t2)):
                det = _sign_exact(ax, ay, bx, by, lon, lat)
            if det > 0:
                return answer[left[e]]
            return answer[right[e]] if det < 0 else answer[min(left[e], right[e])]
        for j in range(starts[k], starts[k + 1]):
            if covers(j, lon, lat):
                return answer[cands[j]]
        g = fallbacks[k]
        return answer[g] if g >= 0 else -1

    return lookup


class _Kind:
    """The grids of one kind of a generation: the index, and what a Location names, by position."""

    def __init__(
        self, ids: list[int], geoms: list[np.ndarray], codes: list[str], regions: list[int]
    ) -> None:
        self.index = RasterIndex(
            np.asarray(ids, dtype=np.int64), np.concatenate(geoms) if geoms else []
        )
        order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable").tolist()
        self.codes = [codes[i] for i in order]
        self.regions = [regions[i] for i in order]
        self.position = self.index.position
        self.ids = self.index.ids.data


class RasterGridLocator:
    """The GridLocator of one generation on raster indexes; immutable, replaced whole on change."""

    def __init__(self, generation_id: int | None) -> None:
        self.generation_id = generation_id
        self.activated_at: dt.datetime | None = None
        rows: dict[str, tuple[list, list, list, list, list]] = {
            GridKind.MANAGEMENT: ([], [], [], [], []),
            GridKind.UNIT: ([], [], [], [], []),
        }
        self._paths: dict[int, str] = {}
        if generation_id is not None:
            self.activated_at = (
                GridGeneration.objects.filter(pk=generation_id)
                .values_list("activated_at", flat=True)
                .first()
            )
            # The geometry as JSON text: no Python dict per grid, parsed straight by GEOS a
            # few thousand at a time, so a city's 600,000 grids load in bounded memory.
            query = (
                Grid.objects.filter(generation_id=generation_id)
                .annotate(text=Cast("geometry", TextField()))
                .values_list("id", "kind", "code", "text", "region_id", "region__path")
                .order_by()
            )
            for grid_id, kind, code, text, region_id, path in query.iterator(5000):
                ids, geoms, texts, codes, regions = rows[kind]
                ids.append(grid_id)
                texts.append(text)
                codes.append(code)
                regions.append(region_id)
                self._paths.setdefault(region_id, path)
                if len(texts) == 5000:
                    geoms.append(shapely.from_geojson(texts))
                    texts.clear()
        kinds = {}
        for kind, (ids, geoms, texts, codes, regions) in rows.items():
            if texts:
                geoms.append(shapely.from_geojson(texts))
            kinds[kind] = _Kind(ids, geoms, codes, regions)
        self._management, self._unit = kinds[GridKind.MANAGEMENT], kinds[GridKind.UNIT]
        self._index = {kind: k.index for kind, k in kinds.items()}

    @property
    def key(self) -> tuple[int, dt.datetime | None] | None:
        # The activation time guards against a reused id (a test database rolled back).
        return None if self.generation_id is None else (self.generation_id, self.activated_at)

    def locate_many(self, lons: np.ndarray, lats: np.ndarray, kind: str) -> np.ndarray:
        return self._index[kind].lookup_many(lons, lats)

    def locate(self, lon: float, lat: float) -> Location:
        lon, lat = float(lon), float(lat)
        m, u = self._management, self._unit
        management = m.position(lon, lat)
        if management < 0:
            raise OutsideEveryGrid(
                _("The point (%(lon).6f, %(lat).6f) lies outside every grid.")
                % {"lon": lon, "lat": lat},
                field="location",
            )
        unit = u.position(lon, lat)
        region_id = m.regions[management]
        return Location(
            management_grid_id=m.ids[management],
            unit_grid_id=u.ids[unit] if unit >= 0 else None,
            region_id=region_id,
            management_grid_code=m.codes[management],
            unit_grid_code=u.codes[unit] if unit >= 0 else None,
            region_path=self._paths[region_id],
        )
