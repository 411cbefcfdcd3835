"""WGS-84 ⇄ GCJ-02 ⇄ BD-09 against published reference pairs, and the inverse's accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from civicgrid.geo import coords
from civicgrid.geo.coords import CRS, from_wgs84, to_wgs84

# Reference pairs published by wandergis/coordtransform, test/app.js ("//result" block),
# every conversion applied to (116.404, 39.915), lon/lat order.
WANDERGIS_INPUT = (116.404, 39.915)
WANDERGIS = {
    # Closed form, off by ~5e-7 degrees from the exact inverse (which is polished iteratively).
    "bd09togcj02": (116.39762729119315, 39.90865673957631),
    "gcj02tobd09": (116.41036949371029, 39.92133699351021),
    "wgs84togcj02": (116.41024449916938, 39.91640428150164),
    # One step of the inverse only (no iteration): about 0.5 m from the exact inverse.
    "gcj02towgs84": (116.39775550083061, 39.91359571849836),
}

# Reference pairs published by googollee/eviltransform, python/test.py and go/transform_test.go
# (TESTS: wgsLat, wgsLng, gcjLat, gcjLng), reordered here to (lon, lat).
EVILTRANSFORM = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]

OUTSIDE_CHINA = [(-0.1276, 51.5072), (-74.006, 40.7128), (139.6917, 35.6895), (151.2093, -33.8688)]


def _close(got: tuple[float, float], want: tuple[float, float], tol: float) -> bool:
    return abs(got[0] - want[0]) < tol and abs(got[1] - want[1]) < tol


def test_forward_conversions_match_wandergis_reference_pairs():
    # given the point the wandergis README converts
    lon, lat = WANDERGIS_INPUT
    # when/then: every closed-form conversion gives its published result to 1e-9 degrees
    assert _close(coords.wgs84_to_gcj02(lon, lat), WANDERGIS["wgs84togcj02"], 1e-9)
    assert _close(coords.gcj02_to_bd09(lon, lat), WANDERGIS["gcj02tobd09"], 1e-9)


def test_iterative_inverses_are_near_the_reference_and_more_exact():
    lon, lat = WANDERGIS_INPUT
    # BD-09 → GCJ-02: within 1e-6° of the published closed form, and exact under the forward one
    assert _close(coords.bd09_to_gcj02(lon, lat), WANDERGIS["bd09togcj02"], 1e-6)
    assert _close(coords.gcj02_to_bd09(*coords.bd09_to_gcj02(lon, lat)), (lon, lat), 1e-8)
    # GCJ-02 → WGS-84:
    exact = coords.gcj02_to_wgs84(lon, lat)
    # within a metre (1e-5°) of the published one-step answer ...
    assert _close(exact, WANDERGIS["gcj02towgs84"], 1e-5)
    # ... but forward-converting ours lands back on the input, which the one-step answer does not
    assert _close(coords.wgs84_to_gcj02(*exact), (lon, lat), 1e-8)
    assert not _close(coords.wgs84_to_gcj02(*WANDERGIS["gcj02towgs84"]), (lon, lat), 1e-8)


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM)
def test_wgs84_gcj02_match_eviltransform_reference_pairs(wgs, gcj):
    assert _close(coords.wgs84_to_gcj02(*wgs), gcj, 1e-9)
    assert _close(to_wgs84(*gcj, CRS.GCJ02), wgs, 1e-6)
    assert _close(from_wgs84(*wgs, CRS.GCJ02), gcj, 1e-9)


def _china_points() -> list[tuple[float, float]]:
    lons = np.linspace(74.0, 135.0, 13)
    lats = np.linspace(18.5, 53.0, 11)
    return [(float(x), float(y)) for x in lons for y in lats]


@pytest.mark.parametrize("crs", [CRS.GCJ02, CRS.BD09])
def test_round_trip_through_each_crs_stays_within_1e_6_degrees(crs):
    worst = 0.0
    for lon, lat in _china_points():
        back = to_wgs84(*from_wgs84(lon, lat, crs), crs)
        worst = max(worst, abs(back[0] - lon), abs(back[1] - lat))
        again = from_wgs84(*to_wgs84(lon, lat, crs), crs)
        worst = max(worst, abs(again[0] - lon), abs(again[1] - lat))
    assert worst < 1e-6


@pytest.mark.parametrize("point", OUTSIDE_CHINA)
@pytest.mark.parametrize("crs", list(CRS))
def test_points_outside_china_are_unchanged(point, crs):
    assert to_wgs84(*point, crs) == point
    assert from_wgs84(*point, crs) == point
    lon, lat = coords.to_wgs84_array(np.array([point[0]]), np.array([point[1]]), crs)
    assert (lon[0], lat[0]) == point


@pytest.mark.parametrize("crs", ["wgs-84", "epsg:4326", "", "GCJ02 "])
def test_unknown_crs_raises_value_error(crs):
    with pytest.raises(ValueError):
        to_wgs84(121.4, 31.2, crs)
    with pytest.raises(ValueError):
        from_wgs84(121.4, 31.2, crs)
    with pytest.raises(ValueError):
        coords.to_wgs84_array(np.array([121.4]), np.array([31.2]), crs)


@pytest.mark.parametrize("crs", list(CRS))
def test_array_conversion_agrees_with_the_scalar_one(crs):
    points = [*_china_points(), *OUTSIDE_CHINA]
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    got_lon, got_lat = coords.to_wgs84_array(lons, lats, crs)
    for i, point in enumerate(points):
        assert _close((got_lon[i], got_lat[i]), to_wgs84(*point, crs), 1e-9)
