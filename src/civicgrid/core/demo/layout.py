"""The demo's places: a jittered lattice of ~100 m unit cells, merged upwards into grids and regions.

Every unit cell is a quad of four lattice vertices, and each vertex is shared by the cells
around it, so neighbouring cells share their edges exactly (same floats): unions of cells
(management grids, communities, subdistricts, the district) tile without gaps or overlaps.
Blocks are cut row band by row band, each band with its own column cuts, so the pattern is
brickwork rather than a chessboard; codes run west→east, north→south.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from civicgrid.geo.locator import reset_locator
from civicgrid.geo.models import GridKind, Region, RegionLevel
from civicgrid.geo.services import GridSpec, generation_activate, generation_import, region_create

from . import texts

CENTRE = (121.437, 31.188)  # WGS-84, near 徐汇区's centre
CELL_M = 100.0
JITTER = 0.18  # of a cell side: keeps every quad convex


@dataclass(frozen=True)
class Size:
    name: str
    subdistricts: tuple[int, int]  # rows, columns
    communities: tuple[int, int]  # per subdistrict
    grids: tuple[int, int]  # management grids per community
    cells: int  # unit cells along a management grid's side, on average
    cases: int


SIZES = {
    "full": Size("full", (2, 2), (2, 2), (2, 2), 7, 420),
    "small": Size("small", (1, 2), (2, 1), (1, 2), 4, 40),
}


@dataclass
class UnitCell:
    code: str
    row: int
    col: int
    corners: tuple[tuple[float, float], ...]  # NW, SW, SE, NE

    def point(self, u: float, v: float) -> tuple[float, float]:
        """The point at (u, v) in [0, 1]² of the quad (u west→east, v north→south)."""
        (nw, sw, se, ne) = self.corners
        lon = (1 - u) * (1 - v) * nw[0] + (1 - u) * v * sw[0] + u * v * se[0] + u * (1 - v) * ne[0]
        lat = (1 - u) * (1 - v) * nw[1] + (1 - u) * v * sw[1] + u * v * se[1] + u * (1 - v) * ne[1]
        return round(lon, 7), round(lat, 7)

    @property
    def polygon(self) -> Polygon:
        return Polygon([*self.corners, self.corners[0]])


@dataclass
class Block:
    """A region or a management grid: a rectangle of lattice cells and what it is made of."""

    code: str
    name: str
    rect: tuple[int, int, int, int]  # row0, row1, col0, col1 (half-open)
    key: str = ""
    parent: Block | None = None
    children: list[Block] = field(default_factory=list)
    cells: list[UnitCell] = field(default_factory=list)
    geometry: Any = None


@dataclass
class Layout:
    district: Block
    subdistricts: list[Block]
    communities: list[Block]
    grids: list[Block]
    grid_at: dict[tuple[int, int], Block]  # (row, col) of a unit cell -> its management grid
    regions: dict[str, Region] = field(default_factory=dict)  # by code, once imported

    def subdistrict_of(self, grid: Block) -> Block:
        assert grid.parent is not None and grid.parent.parent is not None
        return grid.parent.parent


def _cuts(lo: int, hi: int, parts: int, rng: random.Random) -> list[tuple[int, int]]:
    """Split [lo, hi) into `parts` runs of about equal length, each at least 2 long."""
    step = (hi - lo) / parts
    edges = [lo]
    for k in range(1, parts):
        edge = round(lo + k * step) + rng.choice((-1, 0, 1))
        edges.append(min(max(edge, edges[-1] + 2), hi - 2 * (parts - k)))
    edges.append(hi)
    return list(itertools.pairwise(edges))


def _split(rect: tuple[int, int, int, int], shape: tuple[int, int], rng: random.Random):
    r0, r1, c0, c1 = rect
    for a, b in _cuts(r0, r1, shape[0], rng):
        for c, d in _cuts(c0, c1, shape[1], rng):
            yield (a, b, c, d)


def _geojson(geom: Any) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(orient(geom, sign=1.0)))


def build_layout(size: Size, rng: random.Random) -> Layout:
    rows = size.subdistricts[0] * size.communities[0] * size.grids[0] * size.cells
    cols = size.subdistricts[1] * size.communities[1] * size.grids[1] * size.cells
    lon0, lat0 = CENTRE
    dx = CELL_M / (111_320.0 * math.cos(math.radians(lat0)))
    dy = CELL_M / 110_574.0
    west, north = lon0 - cols * dx / 2, lat0 + rows * dy / 2
    vertex = [
        [
            (
                round(west + c * dx + rng.uniform(-JITTER, JITTER) * dx, 7),
                round(north - r * dy + rng.uniform(-JITTER, JITTER) * dy, 7),
            )
            for c in range(cols + 1)
        ]
        for r in range(rows + 1)
    ]
    code, name = texts.DISTRICT
    district = Block(code, name, (0, rows, 0, cols))
    subdistricts, communities, grids = [], [], []
    grid_at: dict[tuple[int, int], Block] = {}
    for s_rect, spec in zip(
        _split(district.rect, size.subdistricts, rng), texts.SUBDISTRICTS, strict=False
    ):
        s_code, s_name, s_key, _roads, _compounds, c_names = spec
        sub = Block(code + s_code, s_name, s_rect, key=s_key, parent=district)
        subdistricts.append(sub)
        for i, c_rect in enumerate(_split(s_rect, size.communities, rng)):
            com = Block(f"{sub.code}{i + 1:03d}", c_names[i], c_rect, parent=sub)
            communities.append(com)
            sub.children.append(com)
            for j, g_rect in enumerate(_split(c_rect, size.grids, rng)):
                short = com.name.removesuffix("居委会")
                grid = Block(f"{com.code}{j + 1:03d}", f"{short}{j + 1}号网格", g_rect, parent=com)
                grids.append(grid)
                com.children.append(grid)
                r0, r1, c0, c1 = g_rect
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        corners = (
                            vertex[r][c],
                            vertex[r + 1][c],
                            vertex[r + 1][c + 1],
                            vertex[r][c + 1],
                        )
                        n = len(grid.cells) + 1
                        grid.cells.append(UnitCell(f"{grid.code}{n:03d}", r, c, corners))
                        grid_at[(r, c)] = grid
    for block in [*grids, *communities, *subdistricts, district]:
        cells = [cell for g in grids if _inside(g.rect, block.rect) for cell in g.cells]
        block.geometry = shapely.unary_union([cell.polygon for cell in cells])
    return Layout(district, subdistricts, communities, grids, grid_at)


def _inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return (
        outer[0] <= inner[0]
        and inner[1] <= outer[1]
        and outer[2] <= inner[2]
        and inner[3] <= outer[3]
    )


def import_layout(layout: Layout) -> None:
    """Create the regions (with boundaries) and one active grid generation through the services."""
    d = layout.district
    district = region_create(
        code=d.code, name=d.name, level=RegionLevel.DISTRICT, boundary=_geojson(d.geometry)
    )
    layout.regions[d.code] = district
    for sub in layout.subdistricts:
        s = region_create(
            code=sub.code,
            name=sub.name,
            level=RegionLevel.SUBDISTRICT,
            parent=district,
            boundary=_geojson(sub.geometry),
        )
        layout.regions[sub.code] = s
        for com in sub.children:
            layout.regions[com.code] = region_create(
                code=com.code,
                name=com.name,
                level=RegionLevel.COMMUNITY,
                parent=s,
                boundary=_geojson(com.geometry),
            )
    specs = []
    for grid in layout.grids:
        assert grid.parent is not None
        community = grid.parent.code
        specs.append(
            GridSpec(grid.code, GridKind.MANAGEMENT, community, _geojson(grid.geometry), grid.name)
        )
        specs.extend(
            GridSpec(cell.code, GridKind.UNIT, community, _geojson(cell.polygon))
            for cell in grid.cells
        )
    generation = generation_import(label="徐汇区演示网格", grids=specs, source="load_demo")
    generation_activate(generation=generation)
    # Activation resets the locator on commit; the demo files its cases before committing.
    reset_locator()
