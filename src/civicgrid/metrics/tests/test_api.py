"""/api/metrics: figures, rankings, trend, breakdown and the Excel export, each in its jurisdiction."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from civicgrid.cases.models import Case
from civicgrid.core import clock
from civicgrid.metrics.schemas import FiguresOut, RankingOut

from .conftest import at
from .naive import naive

WEEK = {"period": "range", "date_from": "2025-03-03", "date_to": "2025-03-09"}


@pytest.fixture
def get(world):
    def make(username: str | None):
        client = Client()
        if username:
            client.force_login(world.user(username))

        def call(path: str, **params):
            with clock.frozen(at(7, 12)):
                return client.get(f"/api/metrics{path}", params)

        return call

    return make


def test_a_dispatcher_sees_only_their_subdistrict(world, scenario, get):
    s1 = Case.objects.filter(region_path__startswith=world.regions["S1"].path)
    r = get("dispatcher")("/figures", **WEEK)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["counters"] == naive(s1, *_dates())
    assert body["target"]["kind"] == "jurisdiction"
    grids = get("dispatcher")("/rankings", by="grid", **WEEK).json()["rows"]
    assert {row["code"] for row in grids} == {"G1", "G2"}
    # Another subdistrict's region or grid does not exist for them.
    for params in ({"region": world.regions["S2"].code}, {"grid": "G3"}):
        r = get("dispatcher")("/figures", **WEEK, **params)
        assert r.status_code == 404 and r.json()["field"] in params


def test_the_operations_centre_sees_the_district_and_drills_down(world, scenario, get):
    ops = get("ops")
    district = ops("/figures", **WEEK).json()
    FiguresOut.model_validate(district)  # the documented shape, field by field
    assert district["counters"] == naive(Case.objects.all(), *_dates())
    grid = ops("/figures", grid="G3", **WEEK).json()
    assert grid["counters"] == naive(Case.objects.filter(management_grid__code="G3"), *_dates())
    assert grid["target"] == {"kind": "grid", "code": "G3", "name": "G3 网格"}
    ranked = ops("/rankings", by="subdistrict", sort="reported", **WEEK).json()
    RankingOut.model_validate(ranked)
    subs = ranked["rows"]
    assert [r["code"] for r in subs] == ["310104001", "310104002"]  # 6 reports, then 2
    assert [r["rank"] for r in subs] == [1, 2]
    depts = ops("/rankings", by="department", sort="dispatch_accuracy", order="asc", **WEEK).json()
    assert depts["rows"][0]["code"] == "XF" and depts["rows"][0]["indicators"][
        "dispatch_accuracy"
    ] == pytest.approx(0.0)


def test_roles_that_score_nobody_are_refused(world, scenario, get):
    for username in ("inspector", "handler", "operator", "resident"):
        assert get(username)("/figures").status_code == 403, username
    assert get(None)("/figures").status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "fortnight"}, "period"),
        ({"period": "range", "date_from": "2025-03-09"}, "date_to"),
        ({"date_from": "2025-03-09", "date_to": "2025-03-01"}, "date_to"),
        ({"date_from": "2020-01-01", "date_to": "2025-03-01"}, "date_to"),
        ({"date_from": "yesterday", "date_to": "2025-03-01"}, "date_from"),
    ],
)
def test_a_bad_period_is_a_422_naming_the_field(world, get, params, field):
    r = get("ops")("/figures", **params)
    assert r.status_code == 422 and r.json()["field"] == field


def test_a_bad_sort_or_dimension_is_a_422(world, get):
    assert get("ops")("/rankings", sort="nonsense").json()["field"] == "sort"
    assert get("ops")("/rankings", by="planet").status_code == 422
    assert get("ops")("/breakdown", dim="colour").json()["field"] == "dim"
    assert get("ops")("/trend", days=0).json()["field"] == "days"


def test_trend_and_breakdown(world, scenario, get):
    trend = get("ops")("/trend", days=7).json()
    assert trend[0]["day"] == "2025-03-03" and len(trend) == 7
    assert [p["reported"] for p in trend] == [4, 2, 2, 0, 0, 0, 0]
    assert sum(p["closures"] for p in trend) == naive(Case.objects.all(), *_dates())["closures"]
    sources = {r["key"]: r for r in get("ops")("/breakdown", dim="source", **WEEK).json()}
    assert sources["hotline"]["counters"]["reported"] == 2
    cats = get("dispatcher2")("/breakdown", dim="category", **WEEK).json()
    assert {r["key"]: r["counters"]["reported"] for r in cats} == {"0101": 1, "0102": 1}


def test_excel_export_has_the_rankings_and_the_formulas(world, scenario, get):
    r = get("dispatcher")("/rankings.xlsx", **WEEK)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[-1] in ("Indicators", "指标")
    grids = wb.worksheets[0]
    codes = [row[1] for row in grids.iter_rows(min_row=3, values_only=True)]
    assert sorted(codes) == ["G1", "G2"]  # never another subdistrict's grid
    formulas = {row[1]: row[2] for row in wb.worksheets[-1].iter_rows(min_row=2, values_only=True)}
    assert formulas["dispatch_accuracy"].startswith("1 − ")  # in the page's language
    assert "dispatcher" in grids["A1"].value


def test_indicator_definitions_are_listed(world, get):
    names = {i["name"] for i in get("ops")("/indicators").json()}
    assert {"acceptance_rate", "rework_rate", "response_rate"} <= names


def _dates():
    import datetime as dt

    return dt.date(2025, 3, 3), dt.date(2025, 3, 9)
