"""GET /api/geo/regions, /grids and /locate: staff only, GeoJSON out, 422 naming the field."""

from __future__ import annotations

import pytest
from django.test import Client

from civicgrid.core.testing import INSIDE, OUTSIDE
from civicgrid.geo.coords import from_wgs84


def _client(world, username: str = "dispatcher") -> Client:
    client = Client()
    assert client.login(username=username, password=f"pw-{username}")
    return client


def test_regions_are_listed_parents_first_with_their_paths(world):
    response = _client(world).get("/api/geo/regions")
    assert response.status_code == 200
    rows = {r["code"]: r for r in response.json()}
    assert len(rows) == 6
    assert rows["310104001002"] == {
        "code": "310104001002",
        "name": "乙社区",
        "level": "community",
        "parent": "310104001",
        "path": ["310104", "310104001", "310104001002"],
    }
    assert rows["310104"]["parent"] is None
    codes = [r["code"] for r in response.json()]
    assert codes.index("310104") < codes.index("310104001") < codes.index("310104001002")


def test_regions_can_be_narrowed_by_level_and_subtree(world):
    client = _client(world)
    communities = client.get("/api/geo/regions", {"level": "community"}).json()
    assert {r["code"] for r in communities} == {"310104001001", "310104001002", "310104002001"}
    under = client.get("/api/geo/regions", {"under": "310104002"}).json()
    assert {r["code"] for r in under} == {"310104002", "310104002001"}


@pytest.mark.parametrize(
    ("params", "field"), [({"level": "planet"}, "level"), ({"under": "9"}, "under")]
)
def test_bad_region_filters_are_422_naming_the_field(world, params, field):
    response = _client(world).get("/api/geo/regions", params)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_grids_are_a_feature_collection_of_the_active_generation(world):
    response = _client(world).get("/api/geo/grids", {"kind": "management"})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    features = {f["properties"]["code"]: f for f in body["features"]}
    assert set(features) == {"G1", "G2", "G3"}
    g2 = features["G2"]
    assert g2["type"] == "Feature" and g2["geometry"]["type"] == "Polygon"
    assert g2["properties"] == {
        "code": "G2", "name": "G2 网格", "kind": "management", "region": "310104001002",
    }  # fmt: skip


def test_grids_filter_by_region_subtree_and_bbox(world):
    client = _client(world)
    in_s1 = client.get("/api/geo/grids", {"kind": "management", "region": "310104001"}).json()
    assert {f["properties"]["code"] for f in in_s1["features"]} == {"G1", "G2"}
    in_c1 = client.get("/api/geo/grids", {"region": "310104001001"}).json()
    assert {f["properties"]["code"] for f in in_c1["features"]} == {
        "G1", "G1-U0", "G1-U1", "G1-U2", "G1-U3",
    }  # fmt: skip
    # a box inside G3 only: G3 and its one unit grid that the box touches
    box = client.get("/api/geo/grids", {"bbox": "121.421,31.201,121.424,31.204"}).json()
    assert {f["properties"]["code"] for f in box["features"]} == {"G3", "G3-U0"}


def test_grids_of_a_retired_generation_are_not_served(world):
    from civicgrid.core.testing import box
    from civicgrid.geo.services import GridSpec, generation_activate, generation_import

    spec = GridSpec(code="NEW", kind="management", region_code="310104001001",
                    geometry=box(121.40, 31.20, 121.43, 31.21))  # fmt: skip
    generation_activate(generation=generation_import(label="v2", grids=[spec]))
    body = _client(world).get("/api/geo/grids").json()
    assert [f["properties"]["code"] for f in body["features"]] == ["NEW"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "block"}, "kind"),
        ({"region": "nope"}, "region"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "121.5,31,121.4,32"}, "bbox"),  # min after max
        ({"bbox": "121,31,200,32"}, "bbox"),
        ({"bbox": "nan,31,121,32"}, "bbox"),
    ],
)
def test_bad_grid_filters_are_422_naming_the_field(world, params, field):
    response = _client(world).get("/api/geo/grids", params)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_locate_returns_grids_and_region_path(world):
    lon, lat = 121.4125, 31.2075  # north-west quarter of G2
    response = _client(world).get("/api/geo/locate", {"lon": lon, "lat": lat})
    assert response.status_code == 200
    assert response.json() == {
        "lon": lon,
        "lat": lat,
        "management_grid": {"code": "G2", "name": "G2 网格"},
        "unit_grid": {"code": "G2-U2", "name": ""},
        "region": "310104001002",
        "region_path": ["310104", "310104001", "310104001002"],
    }


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_locate_converts_gcj02_and_bd09_first(world, crs):
    # given G3's inside point as a Chinese map app would send it
    lon, lat = from_wgs84(*INSIDE["G3"], crs)
    assert abs(lon - INSIDE["G3"][0]) > 0.003  # the shift is hundreds of metres here
    body = _client(world).get("/api/geo/locate", {"lon": lon, "lat": lat, "crs": crs}).json()
    assert body["management_grid"]["code"] == "G3"
    assert abs(body["lon"] - INSIDE["G3"][0]) < 1e-6 and abs(body["lat"] - INSIDE["G3"][1]) < 1e-6


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"lon": OUTSIDE[0], "lat": OUTSIDE[1]}, "location", "outside_every_grid"),
        ({"lon": 181, "lat": 31.2}, "lon", "validation_failed"),
        ({"lon": 121.4, "lat": -91}, "lat", "validation_failed"),
        ({"lon": "east", "lat": 31.2}, "lon", "validation_failed"),
        ({"lat": 31.2}, "lon", "validation_failed"),
        ({"lon": "nan", "lat": 31.2}, "lon", "validation_failed"),
        ({"lon": 121.4, "lat": 31.2, "crs": "epsg3857"}, "crs", "validation_failed"),
    ],
)
def test_locate_refuses_bad_points_with_422_naming_the_field(world, params, field, code):
    response = _client(world).get("/api/geo/locate", params)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["code"] == code


def test_outside_every_grid_names_the_point(world):
    body = _client(world).get("/api/geo/locate", {"lon": 121.5, "lat": 31.5}).json()
    assert "121.500000" in body["detail"] and "31.500000" in body["detail"]


@pytest.mark.parametrize(
    "url", ["/api/geo/regions", "/api/geo/grids", "/api/geo/locate?lon=121.405&lat=31.205"]
)
def test_geo_endpoints_are_for_staff_only(world, url):
    assert Client().get(url).status_code == 401
    assert _client(world, "resident").get(url).status_code == 403
    assert _client(world, "handler").get(url).status_code == 200
    token = Client(headers={"Authorization": f"Bearer {world.tokens['hotline']}"})
    assert token.get(url).status_code == 200
