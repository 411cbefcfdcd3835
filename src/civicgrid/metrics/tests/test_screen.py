"""The operations screen: who may open it, what it shows, and the data its poll returns."""

from __future__ import annotations

import pytest
from django.test import Client

from civicgrid.core import clock

from .conftest import at


@pytest.fixture
def page(world):
    def make(username: str | None):
        client = Client()
        if username:
            client.force_login(world.user(username))

        def call(path: str = "", **params):
            with clock.frozen(at(3, 18)):
                return client.get(f"/ops/screen/{path}", params)

        return call

    return make


def test_the_screen_opens_for_the_operations_centre_with_its_parts(world, scenario, page):
    r = page("ops")()
    assert r.status_code == 200
    html = r.content.decode()
    for part in (
        'id="screen-map"',
        'id="chart-trend"',
        "vendor/echarts/echarts.min.js",
        "vendor/maplibre-gl/maplibre-gl.mjs",
        'hx-trigger="every 10s"',
        'id="screen-data"',
        'data-devices="none"',  # said honestly, in words, not as zeros
    ):
        assert part in html, part
    assert r.context["target"].code == world.regions["D"].code  # one district: its screen


@pytest.mark.parametrize(
    ("username", "status"), [("head", 200), ("admin", 200), ("dispatcher", 403), ("inspector", 403)]
)
def test_only_the_operations_centre_admins_and_station_heads_see_it(world, page, username, status):
    assert page(username)().status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(world, page):
    r = page(None)()
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_the_polled_data_is_the_rollups_figures_for_the_place(world, scenario, page):
    d = page("ops")("data.json").json()
    assert d["today"]["reported"] == 2 and d["today"]["closures"] == 0  # day 3: c7, c8
    assert d["now"] == {"open": 4, "overdue": 3}  # now is now: after the sweep of day 6
    assert [p["reported"] for p in d["trend"][-3:]] == [4, 2, 2]
    assert {c["name"] for c in d["children"]} == {"一街道", "二街道"}
    assert d["grids"]["G3"]["open"] == 2  # c4 and c5, which was transferred there
    assert d["devices"] is None
    sub = page("ops")("data.json", region=world.regions["S2"].code).json()
    assert sub["target"]["code"] == world.regions["S2"].code and set(sub["grids"]) == {"G3"}
    live = page("ops")("live/")
    assert live.status_code == 200 and b'id="screen-data"' in live.content
    assert b"<html" not in live.content  # a partial, swapped in by htmx


def test_a_station_head_sees_only_their_subdistrict_and_cannot_drill_out(world, scenario, page):
    head = page("head")
    grids = head("grids.geojson").json()
    assert {f["properties"]["code"] for f in grids["features"]} == {"G1", "G2"}
    d = head("data.json").json()
    assert set(d["grids"]) <= {"G1", "G2"} and d["target"]["code"] == world.regions["S1"].code
    assert head("data.json", region=world.regions["S2"].code).status_code == 404
    assert head("data.json", grid="G3").status_code == 404


def test_clicking_a_grid_drills_down_one_level(world, scenario, page):
    ops = page("ops")
    district = {
        f["properties"]["code"]: f["properties"]["drill"]
        for f in ops("grids.geojson").json()["features"]
    }
    assert district["G1"] == f"region={world.regions['S1'].code}"
    sub = ops("grids.geojson", region=world.regions["S1"].code).json()["features"]
    assert {f["properties"]["drill"] for f in sub} == {
        f"region={world.regions['C1'].code}",
        f"region={world.regions['C2'].code}",
    }
    community = ops("grids.geojson", region=world.regions["C1"].code).json()["features"]
    assert [f["properties"]["drill"] for f in community] == ["grid=G1"]
    grid = ops("grids.geojson", grid="G1").json()["features"]
    assert [f["properties"]["drill"] for f in grid] == [""]
    page_html = ops("", grid="G1").content.decode()
    assert "G1 网格" in page_html and world.regions["C1"].name in page_html  # breadcrumbs
