"""Building the raster pre-index of `raster.py`: numpy over all grids at once, no loop per grid.

Terms: a *cell* of the raster; its *m1 box* is the cell grown by `EDGE_MARGIN` cells (edges
touching it are the cell's *local* edges); its *m0 box*, grown by `POINT_MARGIN`, holds every
point whose cell index floating point computes as this cell. Between the two margins lies a
band no non-local edge can enter, so every floating decision taken here about a non-local edge
is made with room to spare.

For a point p in a mixed cell, the crossing number of a grid's boundary along the ray from p
to the east is split in two: the local edges, tested one by one at query time, and the other
edges, which stay outside the m1 box. Those that can meet the ray lie east of the cell over its
whole height, so their count only changes, as p moves up the cell, at the vertices where such
an edge meets a local one. So each (cell, candidate grid) stores its local edges, the parity
of the non-local crossings along the bottom of its m0 box (`base`) and the heights where that
parity flips (`flips`): a point test costs a few local edges, however many vertices the grid has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

EDGE_MARGIN = 4e-6
POINT_MARGIN = 2e-6
BOTTOM = -POINT_MARGIN  # the bottom line of a row's m0 boxes, in rows
CHUNK = 250_000  # edges per build step, to bound the build's temporary memory
NONE = np.iinfo(np.int64).max


def ragged(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts [2, 3]: rows [0, 0, 1, 1, 1] and positions within them [0, 1, 0, 1, 2]."""
    row = np.repeat(np.arange(len(count)), count)
    return row, np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)


def unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (by sorting: numpy's hashing unique is slow on tens of millions)."""
    a = np.sort(a)
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = a[1:] != a[:-1]
    return a[keep]


def runs(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a sorted array: its distinct values, where each run starts, and how long it is."""
    start = np.flatnonzero(np.concatenate([[True], a[1:] != a[:-1]])) if len(a) else a
    return a[start], start, np.diff(np.append(start, len(a)))


def member(a: np.ndarray, sorted_b: np.ndarray) -> np.ndarray:
    """Whether each value of `a` is in the sorted array `sorted_b`."""
    if not len(sorted_b):
        return np.zeros(len(a), dtype=bool)
    return sorted_b[np.minimum(np.searchsorted(sorted_b, a), len(sorted_b) - 1)] == a


@dataclass
class Frame:
    x0: float = 0.0
    y0: float = 0.0
    x1: float = 0.0
    y1: float = 0.0
    size: float = 1.0
    nx: int = 1
    ny: int = 1

    @classmethod
    def around(cls, geoms: np.ndarray, cells_per_grid: float) -> Frame:
        """The extent, and a cell size giving about `cells_per_grid` cells per typical grid."""
        if not len(geoms):
            return cls()
        b = shapely.bounds(geoms)
        x0, y0, x1, y1 = (
            float(v) for v in (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
        )
        typical = float(np.median(np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))))
        # Grids spread thinly over a wide extent must not make the raster huge.
        most = cells_per_grid * 4 * len(geoms) + 4096
        size = max(
            typical / math.sqrt(cells_per_grid),
            math.sqrt((x1 - x0) * (y1 - y0) / most),
            max(x1 - x0, y1 - y0) / 65_536,
            1e-9,
        )
        return cls(
            x0,
            y0,
            x1,
            y1,
            size,
            max(1, math.ceil((x1 - x0) / size)),
            max(1, math.ceil((y1 - y0) / size)),
        )

    def box(self, cell: np.ndarray, margin: float) -> tuple[np.ndarray, ...]:
        """(left, bottom, right, top) of cells grown by `margin` cells."""
        ix, iy, m = cell % self.nx, cell // self.nx, margin * self.size
        return (
            self.x0 + ix * self.size - m,
            self.y0 + iy * self.size - m,
            self.x0 + (ix + 1) * self.size + m,
            self.y0 + (iy + 1) * self.size + m,
        )

    def cell_range(
        self, lo: np.ndarray, hi: np.ndarray, origin: float, count: int
    ) -> tuple[np.ndarray, np.ndarray]:
        first = np.floor((lo - origin) / self.size).astype(np.int64)
        last = np.floor((hi - origin) / self.size).astype(np.int64)
        return np.clip(first, 0, count - 1), np.clip(last, 0, count - 1)


class Edges:
    """The grids' edges, each stored once (neighbours share theirs), with the grid on each side."""

    def __init__(self, geoms: np.ndarray) -> None:
        parts, part_owner = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        exterior = np.ones(len(rings), dtype=bool)
        exterior[1:] = ring_part[1:] != ring_part[:-1]
        left_inside = shapely.is_ccw(rings) == exterior  # the polygon lies left of its edges
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same = coord_ring[1:] == coord_ring[:-1]
        a, b, ring = coords[:-1][same], coords[1:][same], coord_ring[:-1][same]
        keep = (a != b).any(axis=1)  # a repeated vertex is no edge
        self.a, self.b, ring = a[keep], b[keep], ring[keep]  # directed, ring by ring
        self.owner = part_owner[ring_part[ring]]  # ascending: parts, rings, points come in order
        d = np.arange(len(ring))
        first, last = np.searchsorted(ring, ring, "left"), np.searchsorted(ring, ring, "right") - 1
        self.next, self.prev = np.where(d == last, first, d + 1), np.where(d == first, last, d - 1)
        # Each edge in one direction (from its lexicographically lower end), so shared edges match.
        a, b = self.a, self.b
        flip = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
        seg = np.where(flip[:, None], np.hstack([b, a]), np.hstack([a, b]))
        left = left_inside[ring] ^ flip
        order = np.lexsort((seg[:, 3], seg[:, 2], seg[:, 1], seg[:, 0]))
        new = np.ones(len(order), dtype=bool)
        new[1:] = (seg[order][1:] != seg[order][:-1]).any(axis=1)
        self.uid = np.empty(len(order), dtype=np.int64)
        self.uid[order] = np.cumsum(new) - 1
        self.seg = np.ascontiguousarray(seg[order][new])  # (x0, y0, x1, y1) per distinct edge
        count = len(self.seg)
        self.left = np.full(count, -1, dtype=np.int32)
        self.right = np.full(count, -1, dtype=np.int32)
        self.left[self.uid[left]] = self.owner[left]
        self.right[self.uid[~left]] = self.owner[~left]
        # One grid on each side: points near the edge are in one of the two, nowhere else.
        self.shared = (np.bincount(self.uid[left], minlength=count) == 1) & (
            np.bincount(self.uid[~left], minlength=count) == 1
        )
        self.poly_start = np.searchsorted(self.owner, np.arange(len(geoms) + 1)).astype(np.int32)
        self.by_uid = np.argsort(self.uid, kind="stable")
        self.uid_start = np.searchsorted(self.uid[self.by_uid], np.arange(count + 1))


def _crossed(f: Frame, seg: np.ndarray, first: int, u: int) -> np.ndarray:
    """Keys cell * u + edge of the cells whose m1 box these edges touch (when in doubt: touch)."""
    m = EDGE_MARGIN * f.size
    ix0, ix1 = f.cell_range(seg[:, 0] - m, seg[:, 2] + m, f.x0, f.nx)  # x0 <= x1 in seg
    iy0, iy1 = f.cell_range(
        np.minimum(seg[:, 1], seg[:, 3]) - m, np.maximum(seg[:, 1], seg[:, 3]) + m, f.y0, f.ny
    )
    w = ix1 - ix0 + 1
    row, k = ragged(w * (iy1 - iy0 + 1))
    cell = (iy0[row] + k // w[row]) * f.nx + ix0[row] + k % w[row]
    s = seg[row]
    dx, dy = s[:, 2] - s[:, 0], s[:, 3] - s[:, 1]
    pos = np.zeros(len(row), dtype=bool)
    neg = np.zeros(len(row), dtype=bool)
    left, bottom, right, top = f.box(cell, EDGE_MARGIN)
    for cx in (left, right):
        for cy in (bottom, top):
            side = dx * (cy - s[:, 1]) - (cx - s[:, 0]) * dy
            pos |= side > 0
            neg |= side < 0
    hit = pos & neg | ~pos & ~neg  # corners on both sides of the line (or on it)
    return cell[hit] * u + first + row[hit]


def _scanline(
    f: Frame, seg: np.ndarray, owner: np.ndarray, offset: float
) -> tuple[np.ndarray, np.ndarray]:
    """(owner * ny + row, x) where edges cross the line y = y0 + (row + offset) * size.

    The half-open rule on vertices is decided by exact comparisons, so both edges at a vertex
    agree on it and every ring meets every line an even number of times.
    """
    lo, hi = np.minimum(seg[:, 1], seg[:, 3]), np.maximum(seg[:, 1], seg[:, 3])
    r0 = np.clip(np.floor((lo - f.y0) / f.size - offset).astype(np.int64) - 1, 0, f.ny - 1)
    r1 = np.clip(np.ceil((hi - f.y0) / f.size - offset).astype(np.int64) + 1, 0, f.ny - 1)
    row, k = ragged(r1 - r0 + 1)
    iy = r0[row] + k
    y = f.y0 + (iy + offset) * f.size
    s = seg[row]
    cross = (s[:, 1] > y) != (s[:, 3] > y)
    s, iy, y, row = s[cross], iy[cross], y[cross], row[cross]
    return owner[row] * f.ny + iy, _x_at(s, y)


def _x_at(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    return s[:, 0] + (y - s[:, 1]) * (s[:, 2] - s[:, 0]) / (s[:, 3] - s[:, 1])


def _lines(
    f: Frame, e: Edges, offset: float, which: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """_scanline over every grid's directed edges (or those of the grids in `which`), sorted."""
    directed = np.arange(len(e.owner)) if which is None else np.flatnonzero(which[e.owner])
    keys, xs = [], []
    for s in range(0, len(directed), CHUNK):
        d = directed[s : s + CHUNK]
        k, x = _scanline(f, e.seg[e.uid[d]], e.owner[d], offset)
        keys.append(k)
        xs.append(x)
    key, x = np.concatenate(keys), np.concatenate(xs)
    order = np.lexsort((x, key))
    return key[order], x[order]


def _contained(f: Frame, e: Edges, n: int, crossed_pairs: np.ndarray) -> np.ndarray:
    """Per cell, the lowest grid position whose interior holds the whole m1 box, or NONE."""
    key, x = _lines(f, e, 0.5)  # the rows' centre lines: spans of cell centres inside each grid
    span_owner, span_row = key[0::2] // f.ny, key[0::2] % f.ny
    lo = np.maximum(np.ceil((x[0::2] - f.x0) / f.size - 0.5).astype(np.int64), 0)
    hi = np.minimum(np.floor((x[1::2] - f.x0) / f.size - 0.5).astype(np.int64), f.nx - 1)
    span, k = ragged(np.maximum(hi - lo + 1, 0))
    inside = (span_row[span] * f.nx + lo[span] + k) * n + span_owner[span]
    # A centre inside a grid none of whose edges comes near the cell: all the cell is inside.
    inside = np.sort(inside)  # sorted queries make the membership test below cache-friendly
    inside = inside[~member(inside, crossed_pairs)]
    contained = np.full(f.nx * f.ny, NONE, dtype=np.int64)
    np.minimum.at(contained, inside // n, inside % n)
    return contained


@dataclass
class Tables:
    """What a lookup reads. Positions index the grids sorted by id; -1 is no grid."""

    cells: np.ndarray  # per cell: position (pure), -1 (no grid) or -2 - k (mixed cell k)
    mixed_start: np.ndarray  # mixed cell k: its candidates are entries [start[k], start[k + 1])
    fallback: np.ndarray  # mixed cell k: the answer when no candidate covers the point
    mixed_edge: np.ndarray  # mixed cell k: the one shared edge deciding it, or -1
    candidate: np.ndarray  # entry j: grid position; entries of a cell ascend by id
    base: np.ndarray  # entry j: parity of the non-local crossings at the m0 box's bottom
    local_start: np.ndarray  # entry j: its local edges are local[local_start[j]:[j + 1]]
    local: np.ndarray
    flip_start: np.ndarray  # entry j: heights where the non-local parity flips, ascending
    flips: np.ndarray


def empty_tables(ncells: int) -> Tables:
    z32 = np.zeros(0, dtype=np.int32)
    return Tables(
        np.full(ncells, -1, dtype=np.int32), np.zeros(1, np.int32), z32, z32, z32,
        np.zeros(0, np.uint8), np.zeros(1, np.int32), z32, np.zeros(1, np.int32), np.zeros(0),
    )  # fmt: skip


def classify(f: Frame, e: Edges, n: int) -> Tables:
    ncells, u = f.nx * f.ny, len(e.seg)
    if n == 0:
        return empty_tables(ncells)
    crossed = unique(
        np.concatenate([_crossed(f, e.seg[s : s + CHUNK], s, u) for s in range(0, u, CHUNK)])
    )
    c_cell, c_edge = crossed // u, crossed % u
    # (cell, directed edge) for every grid with an edge in the cell
    row, k = ragged(e.uid_start[c_edge + 1] - e.uid_start[c_edge])
    t_cell, t_dir = c_cell[row], e.by_uid[e.uid_start[c_edge[row]] + k]
    t_key = t_cell * n + e.owner[t_dir]
    pairs = unique(t_key)
    contained = _contained(f, e, n, pairs)
    cells = np.where(contained < NONE, contained, -1).astype(np.int32)

    mcells, first, count = runs(c_cell)
    free = contained[mcells] == NONE
    all_shared = np.logical_and.reduceat(e.shared[c_edge], first) if len(first) else free
    covered = all_shared & free  # the crossing grids cover the whole cell, nobody else does
    one_edge = covered & (count == 1)
    single_cells, single_edge = mcells[one_edge], c_edge[first[one_edge]]

    # The other crossed cells: candidates lower than any grid holding the whole cell.
    p_cell, p_grid = pairs // n, pairs % n
    keep = (p_grid < contained[p_cell]) & ~member(p_cell, single_cells)
    p_cell, p_grid = p_cell[keep], p_grid[keep]
    g_cells, g_first, g_count = runs(p_cell)
    is_covered = np.zeros(ncells, dtype=bool)
    is_covered[mcells[covered]] = True
    drop = is_covered[g_cells]  # the last candidate is the answer when no other covers
    last = g_first + g_count - 1
    fallback = np.where(drop, p_grid[last], cells[g_cells])
    mask = np.ones(len(p_grid), dtype=bool)
    mask[last[drop]] = False
    p_cell, p_grid, g_count = p_cell[mask], p_grid[mask], g_count - drop
    pure = g_count == 0
    cells[g_cells[pure]] = fallback[pure]
    g_cells, g_count, fallback = g_cells[~pure], g_count[~pure], fallback[~pure]
    general, single = len(g_cells), len(single_cells)
    cells[g_cells] = -2 - np.arange(general, dtype=np.int32)
    cells[single_cells] = -2 - np.arange(general, general + single, dtype=np.int32)
    start = np.concatenate([[0], np.cumsum(g_count)])
    entry_key = p_cell * n + p_grid  # ascending
    base, local_start, local, flip_start, flips = _entries(
        f, e, n, crossed, entry_key, t_key, t_dir
    )
    return Tables(
        cells=cells,
        mixed_start=np.concatenate([start, np.full(single, start[-1])]).astype(np.int32),
        fallback=np.concatenate([fallback, np.full(single, -1)]).astype(np.int32),
        mixed_edge=np.concatenate([np.full(general, -1), single_edge]).astype(np.int32),
        candidate=p_grid.astype(np.int32),
        base=base,
        local_start=local_start,
        local=local,
        flip_start=flip_start,
        flips=flips,
    )


def _entries(f: Frame, e: Edges, n: int, crossed: np.ndarray, entry_key: np.ndarray,
             t_key: np.ndarray, t_dir: np.ndarray) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Local edges, base parity and flip heights of each (mixed cell, candidate) entry."""
    u, entries = len(e.seg), len(entry_key)
    mine = member(t_key, entry_key)
    t_cell, t_dir = t_key[mine] // n, t_dir[mine]
    j = np.searchsorted(entry_key, t_key[mine])
    order = np.argsort(j, kind="stable")
    local = e.uid[t_dir[order]].astype(np.int32)
    local_start = np.searchsorted(j[order], np.arange(entries + 1)).astype(np.int32)

    # Flips: a vertex east of the cell, within its height, where a local edge meets one that
    # is not local (m0 box: where the cell's points are).
    _, _, right, top = f.box(t_cell, POINT_MARGIN)
    bottom = f.y0 + (t_cell // f.nx + BOTTOM) * f.size  # as the base's line below, bit for bit
    flip_j, flip_y = [], []
    for vertex, neighbour in ((e.a, e.prev), (e.b, e.next)):
        v = vertex[t_dir]
        alone = ~member(t_cell * u + e.uid[neighbour[t_dir]], crossed)
        at = alone & (v[:, 1] > bottom) & (v[:, 1] <= top) & (v[:, 0] > right)
        flip_j.append(j[at])
        flip_y.append(v[at, 1])
    fj, fy = np.concatenate(flip_j), np.concatenate(flip_y)
    order = np.lexsort((fy, fj))
    flip_start = np.searchsorted(fj[order], np.arange(entries + 1)).astype(np.int32)

    # Base: crossings east of the m0 box along its bottom, of all the grid's edges minus the
    # local ones (computed by the same formula, so a rounding cancels out exactly).
    e_cell, e_grid = entry_key // n, entry_key % n
    e_right = f.box(e_cell, POINT_MARGIN)[2]
    wanted = np.zeros(n, dtype=bool)
    wanted[e_grid] = True
    key, x = _lines(f, e, BOTTOM, wanted)
    q_key = e_grid * f.ny + e_cell // f.nx
    total_east = _count_east(key, x, q_key, e_right)
    s = e.seg[e.uid[t_dir]]
    y = f.y0 + (t_cell // f.nx + BOTTOM) * f.size
    straddle = (s[:, 1] > y) != (s[:, 3] > y)
    east = np.zeros(len(s), dtype=bool)
    east[straddle] = _x_at(s[straddle], y[straddle]) > e_right[j][straddle]
    local_east = np.bincount(j[east], minlength=entries)
    base = ((total_east - local_east) % 2).astype(np.uint8)
    return base, local_start, local, flip_start, fy[order]


def _count_east(key: np.ndarray, x: np.ndarray, q_key: np.ndarray, q_x: np.ndarray) -> np.ndarray:
    """For each query, the number of crossings with its key and an x strictly greater."""
    all_key = np.concatenate([key, q_key])
    all_x = np.concatenate([x, q_x])
    is_query = np.concatenate([np.zeros(len(key), np.int8), np.ones(len(q_key), np.int8)])
    order = np.lexsort((is_query, all_x, all_key))  # crossings before queries at equal x
    crossings_so_far = np.cumsum(is_query[order] == 0)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    upto = crossings_so_far[position[len(key) :]]
    group_end = np.searchsorted(key, q_key, side="right")
    return group_end - upto
