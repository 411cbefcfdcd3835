"""The point-in-grid index: edges, vertices, arrays, and swapping in a new generation."""

from __future__ import annotations

import numpy as np
import pytest

from civicgrid.core.errors import OutsideEveryGrid
from civicgrid.core.testing import GRID_X, INSIDE, LAT0, LAT1, OUTSIDE, box
from civicgrid.geo import locator
from civicgrid.geo.locator import get_locator, reset_locator
from civicgrid.geo.models import Grid, GridKind
from civicgrid.geo.services import GridSpec, generation_activate, generation_import


def _grid(code: str) -> Grid:
    return Grid.objects.get(code=code, generation__status="active")


@pytest.mark.parametrize("code", ["G1", "G2", "G3"])
def test_a_point_inside_each_grid_is_found_in_that_grid(world, code):
    where = get_locator().locate(*INSIDE[code])
    grid = _grid(code)
    assert where.management_grid_id == grid.pk
    assert where.management_grid_code == code
    assert where.region_id == grid.region_id
    assert where.region_path == grid.region.path


def test_a_point_on_the_shared_edge_goes_to_the_lowest_id_only(world):
    # given G1 (lower id) and G2 sharing the edge lon=121.41
    g1, g2 = _grid("G1"), _grid("G2")
    assert g1.pk < g2.pk
    # when a point exactly on that edge is located
    where = get_locator().locate(GRID_X["G2"], 31.205)
    # then it is in G1 alone, and the array form says the same
    assert where.management_grid_id == g1.pk
    ids = get_locator().locate_many(np.array([GRID_X["G2"]]), np.array([31.205]), "management")
    assert ids.tolist() == [g1.pk]


def test_a_shared_vertex_goes_to_the_lowest_id(world):
    # (121.41, 31.20) is a corner of G1 and of G2; (121.405, 31.205) is a corner of four unit grids
    assert get_locator().locate(GRID_X["G2"], LAT0).management_grid_id == _grid("G1").pk
    units = Grid.objects.filter(code__startswith="G1-U", generation__status="active")
    assert get_locator().locate(121.405, 31.205).unit_grid_id == min(u.pk for u in units)


def test_the_edge_rule_is_lowest_id_not_west_first(world):
    # given a generation whose east grid was imported first (so has the lower id)
    specs = [
        GridSpec(code="EAST", kind="management", region_code="310104001002",
                 geometry=box(121.41, LAT0, 121.42, LAT1)),
        GridSpec(code="WEST", kind="management", region_code="310104001001",
                 geometry=box(121.40, LAT0, 121.41, LAT1)),
    ]  # fmt: skip
    generation_activate(generation=generation_import(label="v2", grids=specs))
    reset_locator()
    # when the shared edge is located, then the east grid wins
    assert get_locator().locate(121.41, 31.205).management_grid_code == "EAST"


def test_a_point_outside_every_grid_is_an_error_naming_the_point(world):
    with pytest.raises(OutsideEveryGrid) as exc:
        get_locator().locate(*OUTSIDE)
    assert "121.500000" in exc.value.message and "31.500000" in exc.value.message
    assert exc.value.field == "location"
    assert exc.value.status == 422


def test_the_unit_grid_is_found_too(world):
    where = get_locator().locate(121.4075, 31.2025)  # south-east quarter of G1
    assert where.unit_grid_id == _grid("G1-U1").pk
    assert where.unit_grid_code == "G1-U1"


def test_a_point_in_a_management_grid_but_no_unit_grid_has_no_unit(world):
    specs = [GridSpec(code="M", kind="management", region_code="310104001001",
                      geometry=box(121.40, LAT0, 121.41, LAT1))]  # fmt: skip
    generation_activate(generation=generation_import(label="v2", grids=specs))
    reset_locator()
    where = get_locator().locate(*INSIDE["G1"])
    assert where.management_grid_code == "M" and where.unit_grid_id is None


def test_locate_many_on_arrays_agrees_with_locate(world):
    rng = np.random.default_rng(7)
    lons = np.concatenate([rng.uniform(121.395, 121.435, 400), [121.41, 121.42, 121.40]])
    lats = np.concatenate([rng.uniform(31.195, 31.215, 400), [31.205, LAT1, LAT0]])
    loc = get_locator()
    management = loc.locate_many(lons, lats, GridKind.MANAGEMENT)
    units = loc.locate_many(lons, lats, GridKind.UNIT)
    assert (management == -1).any() and (management > 0).any()  # both cases are exercised
    for lon, lat, m, u in zip(lons, lats, management, units, strict=True):
        try:
            where = loc.locate(lon, lat)
        except OutsideEveryGrid:
            assert m == -1
            continue
        assert where.management_grid_id == m
        assert where.unit_grid_id == (u if u >= 0 else None)


def _shifted_renumbered() -> list[GridSpec]:
    # The same three grids moved 0.005° east, renumbered N3, N2, N1 from east to west.
    community = ["310104001001", "310104001002", "310104002001"]
    return [
        GridSpec(code=f"N{3 - i}", kind="management", region_code=community[i],
                 geometry=box(x + 0.005, LAT0, x + 0.015, LAT1))
        for i, x in enumerate(GRID_X.values())
    ]  # fmt: skip


def test_activating_a_generation_swaps_the_index_without_a_pause(world, monkeypatch):
    # given a process answering from the first generation
    old = get_locator()
    assert old.locate(121.407, 31.205).management_grid_code == "G1"
    # when a new generation is imported and activated
    new = generation_activate(generation=generation_import(label="v2", grids=_shifted_renumbered()))
    # then until its recheck the process keeps the old index, which keeps answering
    assert get_locator() is old
    assert old.locate(121.407, 31.205).management_grid_code == "G1"
    # and at its recheck (here: right away) it answers from the new one
    monkeypatch.setattr(locator, "RECHECK_SECONDS", 0.0)
    fresh = get_locator()
    assert fresh is not old and fresh.generation_id == new.pk
    assert fresh.locate(121.407, 31.205).management_grid_code == "N3"
    assert fresh.locate(121.432, 31.205).management_grid_code == "N1"
    with pytest.raises(OutsideEveryGrid):
        fresh.locate(121.402, 31.205)  # was G1, no grid there any more
    # and the old object still answers from its own generation
    assert old.locate(121.402, 31.205).management_grid_code == "G1"


def test_activation_commit_makes_this_process_recheck(world, django_capture_on_commit_callbacks):
    old = get_locator()
    with django_capture_on_commit_callbacks(execute=True):
        generation_activate(generation=generation_import(label="v2", grids=_shifted_renumbered()))
    assert get_locator().locate(121.407, 31.205).management_grid_code == "N3"
    assert get_locator() is not old


def test_lookups_keep_the_old_index_while_another_thread_builds(world, monkeypatch):
    # given a new active generation and another thread busy building its index (holding the lock)
    old = get_locator()
    generation_activate(generation=generation_import(label="v2", grids=_shifted_renumbered()))
    monkeypatch.setattr(locator, "RECHECK_SECONDS", 0.0)
    real_lock = locator._lock
    monkeypatch.setattr(locator, "_lock", _HeldLock())
    # when a lookup comes in, then it is answered at once from the old index (no waiting)
    assert get_locator() is old
    assert get_locator().locate(121.407, 31.205).management_grid_code == "G1"
    # and once the builder is done, the new index is used
    monkeypatch.setattr(locator, "_lock", real_lock)
    assert get_locator().locate(121.407, 31.205).management_grid_code == "N3"


class _HeldLock:
    """The build lock as another thread holds it; waiting for it fails instead of hanging."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if blocking:
            raise AssertionError("a lookup waited for the index build")
        return False

    def release(self) -> None:
        raise AssertionError("released a lock it did not hold")

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def test_a_lookup_queries_nothing_between_rechecks(world, django_assert_num_queries):
    get_locator()
    with django_assert_num_queries(0):
        for code in ("G1", "G2", "G3"):
            get_locator().locate(*INSIDE[code])


def test_with_no_active_generation_every_point_is_outside(db):
    reset_locator()
    with pytest.raises(OutsideEveryGrid):
        get_locator().locate(*INSIDE["G1"])
