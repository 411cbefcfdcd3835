"""The raster pre-index gives exactly the STRtree's answers: inside, on edges and vertices, outside."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import shapely
from django.db import connection

from civicgrid.core.errors import OutsideEveryGrid
from civicgrid.geo import locator, raster
from civicgrid.geo.locator import STRtreeGridLocator, get_locator, reset_locator
from civicgrid.geo.models import GridGeneration, GridKind, RegionLevel
from civicgrid.geo.raster import RasterGridLocator, RasterIndex
from civicgrid.geo.services import GridSpec, generation_activate, generation_import, region_create

SIDE = 0.001  # about 100 m: unit grids of about 10,000 m²
LATTICE = 2.0**-26  # vertices on a binary lattice, so points on edges are exactly representable


def lattice(nx: int, ny: int, *, seed: int, x0: float = 121.40, y0: float = 31.20):
    """Vertices of a jittered tessellation: neighbours share their edges exactly."""
    rng = np.random.default_rng(seed)
    xs = x0 + np.arange(nx + 1)[:, None] * SIDE + rng.uniform(-0.3, 0.3, (nx + 1, ny + 1)) * SIDE
    ys = y0 + np.arange(ny + 1)[None, :] * SIDE + rng.uniform(-0.3, 0.3, (nx + 1, ny + 1)) * SIDE
    return np.round(xs / LATTICE) * LATTICE, np.round(ys / LATTICE) * LATTICE


def ring(xs, ys, i0: int, j0: int, w: int, h: int) -> dict:
    """The block of w × h lattice cells at (i0, j0), through every lattice vertex on its boundary."""
    path = [(i, j0) for i in range(i0, i0 + w)] + [(i0 + w, j) for j in range(j0, j0 + h)]
    path += [(i, j0 + h) for i in range(i0 + w, i0, -1)] + [(i0, j) for j in range(j0 + h, j0, -1)]
    coords = [[float(xs[i, j]), float(ys[i, j])] for i, j in [*path, path[0]]]
    return {"type": "Polygon", "coordinates": [coords]}


def import_tessellation(nx: int = 24, ny: int = 20, *, block: int = 6, seed: int = 1):
    """A generation of nx × ny unit grids and block × block management grids over them."""
    region = region_create(code="R1", name="社区", level=RegionLevel.DISTRICT)
    xs, ys = lattice(nx, ny, seed=seed)
    rng = np.random.default_rng(seed)
    specs = [
        GridSpec(
            code=f"U{i}-{j}",
            kind=GridKind.UNIT,
            region_code=region.code,
            geometry=ring(xs, ys, i, j, 1, 1),
        )
        for i, j in rng.permutation([(i, j) for i in range(nx) for j in range(ny)])
    ]  # fmt: skip  (shuffled: ids must not follow the west-east order)
    specs += [
        GridSpec(code=f"M{i}-{j}", kind=GridKind.MANAGEMENT, region_code=region.code,
                 geometry=ring(xs, ys, i, j, min(block, nx - i), min(block, ny - j)))
        for i in range(0, nx, block)
        for j in range(0, ny, block)
    ]  # fmt: skip
    generation = generation_import(label="tessellation", grids=specs)
    generation_activate(generation=generation)
    return generation, xs, ys


def points_on_edges_and_vertices(xs, ys, n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices, and points at k/8 along the lattice edges: exactly on them, in binary."""
    rng = np.random.default_rng(seed)
    nx, ny = xs.shape[0] - 1, xs.shape[1] - 1
    i, j = rng.integers(0, nx + 1, n), rng.integers(0, ny + 1, n)
    horizontal = rng.random(n) < 0.5
    i2 = np.where(horizontal, np.minimum(i + 1, nx), i)
    j2 = np.where(horizontal, j, np.minimum(j + 1, ny))
    t = rng.integers(0, 8, n) / 8  # 0: the vertex itself
    return xs[i, j] + (xs[i2, j2] - xs[i, j]) * t, ys[i, j] + (ys[i2, j2] - ys[i, j]) * t


def assert_same_answers(generation_id: int, lons: np.ndarray, lats: np.ndarray) -> None:
    fast, reference = RasterGridLocator(generation_id), STRtreeGridLocator(generation_id)
    for kind in (GridKind.MANAGEMENT, GridKind.UNIT):
        expected = reference.locate_many(lons, lats, kind)
        assert np.array_equal(fast.locate_many(lons, lats, kind), expected)
        one_by_one = [
            fast._index[kind].lookup(x, y)
            for x, y in zip(lons.tolist(), lats.tolist(), strict=True)
        ]
        assert np.array_equal(np.array(one_by_one, dtype=np.int64), expected)
    for x, y in zip(lons[:300].tolist(), lats[:300].tolist(), strict=True):
        try:
            expected_location = reference.locate(x, y)
        except OutsideEveryGrid:
            with pytest.raises(OutsideEveryGrid):
                fast.locate(x, y)
            continue
        assert fast.locate(x, y) == expected_location


def test_random_points_get_the_strtree_answers(db):
    generation, xs, ys = import_tessellation()
    rng = np.random.default_rng(2)
    lons = rng.uniform(xs.min() - 0.001, xs.max() + 0.001, 20_000)
    lats = rng.uniform(ys.min() - 0.001, ys.max() + 0.001, 20_000)
    assert_same_answers(generation.pk, lons, lats)


def test_ten_thousand_points_on_shared_edges_and_vertices_go_to_the_lowest_id(db):
    # given a jittered tessellation whose ids are shuffled across the map
    generation, xs, ys = import_tessellation()
    lons, lats = points_on_edges_and_vertices(xs, ys, 10_000, seed=3)
    # (the points really lie on two or more grids, so the tie-break decides)
    reference = STRtreeGridLocator(generation.pk)._index[GridKind.UNIT]
    pairs = reference.tree.query(shapely.points(lons, lats), predicate="covered_by")
    assert (np.bincount(pairs[0], minlength=len(lons)) >= 2).mean() > 0.9
    # when the raster index places them, then every answer is the STRtree's
    assert_same_answers(generation.pk, lons, lats)


def test_points_outside_every_grid_are_outside(db):
    generation, xs, ys = import_tessellation()
    fast = RasterGridLocator(generation.pk)
    # beyond the extent; inside the extent's box but left of the west boundary (which is
    # monotone in y) or below the south one; and not a number
    j = int(np.argmax(xs[0]))
    lons = np.array(
        [xs.min() - 1, xs.max() + 1, xs.min() + 1e-7, (xs[0, 0] + xs[1, 0]) / 2, np.nan]
    )
    lats = np.array([ys.min(), ys.max(), ys[0, j], min(ys[0, 0], ys[1, 0]) - 1e-7, 31.2])
    reference = STRtreeGridLocator(generation.pk).locate_many(lons, lats, GridKind.UNIT)
    assert reference[:4].tolist() == [-1, -1, -1, -1]
    for kind in (GridKind.MANAGEMENT, GridKind.UNIT):
        assert (fast.locate_many(lons, lats, kind) == -1).all()
        assert all(fast._index[kind].lookup(x, y) == -1 for x, y in zip(lons, lats, strict=True))
    with pytest.raises(OutsideEveryGrid):
        fast.locate(float(lons[0]), float(lats[0]))


def reference_ids(ids: np.ndarray, geoms: np.ndarray, lons, lats) -> np.ndarray:
    """Lowest id among the polygons that cover each point, by brute force with shapely."""
    covers = shapely.covers(geoms[:, None], shapely.points(lons, lats)[None, :])
    masked = np.where(covers, ids[:, None], np.iinfo(np.int64).max)
    lowest = masked.min(axis=0)
    return np.where(lowest == np.iinfo(np.int64).max, -1, lowest)


def test_holes_multipolygons_overlaps_and_slivers_are_exact_too():
    # given awkward but valid shapes: a square with a hole and an island in the hole, a
    # two-part grid, a grid overlapping another, one smaller than a raster cell, a sliver
    square = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]])
    geoms = np.array([
        square,
        shapely.box(1.5, 1.5, 2.5, 2.5),
        shapely.MultiPolygon([shapely.box(4, 0, 5, 1), shapely.box(4, 3, 5, 4)]),
        shapely.box(3.5, 3.5, 4.5, 4.5),  # overlaps the square and the two-part grid
        shapely.box(2.01, 0.01, 2.02, 0.02),
        shapely.Polygon([(0, 4), (5, 4), (0, 4.001)]),
    ], dtype=object)  # fmt: skip
    ids = np.array([30, 10, 20, 5, 40, 50])
    index = RasterIndex(ids, geoms, cells_per_grid=9)
    coords = shapely.get_coordinates(geoms)
    rng = np.random.default_rng(4)
    lons = np.concatenate([rng.uniform(-0.5, 5.5, 4000), coords[:, 0], [2.0, 1.0, 4.0, 2.015]])
    lats = np.concatenate([rng.uniform(-0.5, 5.5, 4000), coords[:, 1], [1.0, 2.0, 2.0, 0.015]])
    expected = reference_ids(ids, geoms, lons, lats)
    # then the array and the one-point forms both give the brute-force answer
    assert np.array_equal(index.lookup_many(lons, lats), expected)
    assert [
        index.lookup(x, y) for x, y in zip(lons.tolist(), lats.tolist(), strict=True)
    ] == expected.tolist()
    assert index.lookup(2.0, 2.0) == 10 and index.lookup(3.8, 3.8) == 5


def test_degenerate_alignments_on_a_lattice_are_exact():
    # given rectangles and L-shapes whose corners sit on a coarse lattice, with many vertices
    # per edge (every lattice point on the boundary is a vertex) and ids in random order
    rng = np.random.default_rng(11)
    geoms, ids = [], []
    for i in range(6):
        for j in range(5):
            x, y = 121 + i * 0.004, 31 + j * 0.004
            outline = [(x, y), (x + 0.004, y), (x + 0.004, y + 0.004), (x, y + 0.004)]
            if (i + j) % 3 == 0:  # an L: the north-east quarter belongs to a separate grid
                outline = [(x, y), (x + 0.004, y), (x + 0.004, y + 0.002), (x + 0.002, y + 0.002),
                           (x + 0.002, y + 0.004), (x, y + 0.004)]  # fmt: skip
                geoms.append(shapely.box(x + 0.002, y + 0.002, x + 0.004, y + 0.004))
                ids.append(int(rng.integers(1, 10**6)))
            dense = shapely.segmentize(shapely.Polygon(outline), 0.0005)
            geoms.append(dense)
            ids.append(int(rng.integers(1, 10**6)))
    geoms_array, id_array = np.array(geoms, dtype=object), np.array(ids)
    index = RasterIndex(id_array, geoms_array, cells_per_grid=7)
    # when points on the lattice, half-way between, and random ones are placed
    grid = np.arange(-0.0005, 0.0245, 0.00025)
    lx, ly = np.meshgrid(121 + grid, 31 + grid[:84])
    lons = np.concatenate([lx.ravel(), rng.uniform(120.999, 121.025, 3000)])
    lats = np.concatenate([ly.ravel(), rng.uniform(30.999, 31.021, 3000)])
    expected = reference_ids(id_array, geoms_array, lons, lats)
    # then both paths give the brute-force answer everywhere
    assert np.array_equal(index.lookup_many(lons, lats), expected)
    one = [index.lookup(x, y) for x, y in zip(lons.tolist(), lats.tolist(), strict=True)]
    assert one == expected.tolist()


def test_most_points_are_answered_without_a_geometry_test(db):
    generation, _, _ = import_tessellation(40, 40, block=8)
    index = RasterGridLocator(generation.pk)._index[GridKind.UNIT]
    # pure cells need no test; one-edge cells need one orientation test
    pure = (index.t.cells >= 0).mean()
    one_edge = (index.t.mixed_edge >= 0).sum() / index.t.cells.size
    assert pure > 0.3 and pure + one_edge > 0.8


def test_get_locator_serves_the_raster_index(db):
    generation, _, _ = import_tessellation()
    reset_locator()
    assert isinstance(get_locator(), RasterGridLocator)
    assert get_locator().generation_id == generation.pk


@pytest.mark.django_db(transaction=True)
def test_a_new_generation_is_built_beside_the_old_which_answers_meanwhile(monkeypatch):
    # given a process answering from the first generation
    first, xs, ys = import_tessellation()
    reset_locator()
    old = get_locator()
    probe = (float(xs[3, 3] + xs[4, 4]) / 2, float(ys[3, 3] + ys[4, 4]) / 2)
    old_answer = old.locate(*probe)
    # when a second generation (the same places, new ids) is activated and another thread
    # starts building its index, slowly
    second = generation_import(
        label="v2",
        grids=[GridSpec(code=g.code, kind=g.kind, region_code="R1", geometry=g.geometry)
               for g in first.grids.all()],
    )  # fmt: skip
    generation_activate(generation=second)
    monkeypatch.setattr(locator, "RECHECK_SECONDS", 0.0)
    building, release = threading.Event(), threading.Event()
    real_init = raster.RasterIndex.__init__

    def slow_init(self, *args, **kwargs):
        building.set()
        assert release.wait(10)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(raster.RasterIndex, "__init__", slow_init)
    built = []

    def build() -> None:
        try:
            built.append(get_locator())
        finally:
            connection.close()

    builder = threading.Thread(target=build)
    builder.start()
    try:
        assert building.wait(10)
        # then lookups meanwhile are answered at once, from the old index
        for _ in range(3):
            current = get_locator()
            assert current is old
            assert current.locate(*probe) == old_answer
    finally:
        release.set()
        builder.join(10)
    # and once built, the new index is swapped in and answers from the new generation
    fresh = get_locator()
    assert built == [fresh] and fresh is not old and fresh.generation_id == second.pk
    assert fresh.locate(*probe).unit_grid_code == old_answer.unit_grid_code
    assert fresh.locate(*probe).unit_grid_id != old_answer.unit_grid_id
    assert GridGeneration.objects.get(pk=first.pk).status == "retired"
