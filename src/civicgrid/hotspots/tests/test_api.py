"""/api/hotspots: scoped lists, GeoJSON, plans and tasks over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from civicgrid.cases import services as cases
from civicgrid.hotspots.models import RecheckTask


class Api:
    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, **params: Any):
        return self.client.get(f"/api/hotspots{path}", params)

    def post(self, path: str, body: Any):
        return self.client.post(
            f"/api/hotspots{path}", json.dumps(body), content_type="application/json"
        )


@pytest.fixture
def api_as(world):
    def make(username: str) -> Api:
        client = Client()
        client.force_login(world.user(username))
        return Api(client)

    return make


def test_hot_spots_are_listed_within_the_jurisdiction_only(world, hotspot, api_as):
    for who in ("dispatcher", "head", "inspector", "ops"):
        body = api_as(who).get("").json()
        assert [h["id"] for h in body["items"]] == [hotspot.pk], who
    for who in ("dispatcher2", "head2", "inspector3", "resident", "handler"):
        assert api_as(who).get("").json()["items"] == [], who
    assert api_as("dispatcher2").get(f"/{hotspot.pk}").status_code == 404
    assert Client().get("/api/hotspots").status_code == 401


def test_a_department_sees_hot_spots_with_a_case_of_its_own(world, hotspot, garbage_cases, api_as):
    case = cases.case_accept(case=garbage_cases[0], actor=world.user("dispatcher"))
    cases.case_dispatch(case=case, lead=world.departments["CG"], actor=world.user("dispatcher"))
    assert [h["id"] for h in api_as("handler").get("").json()["items"]] == [hotspot.pk]
    detail = api_as("handler").get(f"/{hotspot.pk}").json()
    # The department sees the hot spot, and of its cases only its own.
    assert [c["number"] for c in detail["cases"]] == [case.number]


def test_the_detail_lists_the_cases_and_filters_apply(world, hotspot, garbage_cases, api_as):
    api = api_as("dispatcher")
    detail = api.get(f"/{hotspot.pk}").json()
    assert [c["number"] for c in detail["cases"]] == [c.number for c in garbage_cases]
    assert detail["category"]["code"] == "0101" and detail["grid"] == "G1"
    assert detail["active_plan"] is None
    assert api.get("", category="01").json()["count"] == 1  # major class covers its minors
    assert api.get("", category="0102").json()["count"] == 0
    assert api.get("", grid="G2").json()["count"] == 0
    assert api.get("", region="310104001").json()["count"] == 1
    bad = api.get("", status="hot")
    assert bad.status_code == 422 and bad.json()["field"] == "status"


def test_geojson_for_the_map(world, hotspot, api_as):
    body = api_as("dispatcher").get("/geojson").json()
    assert body["type"] == "FeatureCollection"
    (feature,) = body["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [hotspot.lon, hotspot.lat]}
    assert feature["properties"]["case_count"] == 4
    assert feature["properties"]["category_code"] == "0101"
    assert api_as("dispatcher2").get("/geojson").json()["features"] == []


def test_plan_over_http_then_the_inspector_works_todays_task(world, hotspot, api_as):
    head = api_as("head")
    r = head.post(
        f"/{hotspot.pk}/plans", {"frequency": "daily", "weeks": 1, "inspectors": ["inspector"]}
    )
    assert r.status_code == 201, r.content
    plan = r.json()
    assert len(plan["tasks"]) == 7 and plan["counts"] == {"pending": 7, "done": 0, "missed": 0}
    assert head.get(f"/{hotspot.pk}").json()["active_plan"] == plan["id"]
    assert [p["id"] for p in head.get("/plans").json()["items"]] == [plan["id"]]
    assert api_as("dispatcher2").get(f"/plans/{plan['id']}").status_code == 404

    inspector = api_as("inspector")
    (today,) = inspector.get("/tasks/today").json()
    assert today["due_on"] == timezone.localdate().isoformat()
    assert api_as("inspector3").get("/tasks/today").json() == []
    r = inspector.post(f"/tasks/{today['id']}/record", {"ok": False, "note": "垃圾又出现"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "done" and r.json()["case"]
    again = inspector.post(f"/tasks/{today['id']}/record", {"ok": True})
    assert again.status_code == 409
    assert head.get(f"/plans/{plan['id']}").json()["counts"]["done"] == 1
    assert head.get("/tasks", status="done").json()["count"] == 1


def test_bad_plan_input_gets_a_422_naming_the_field(world, hotspot, api_as):
    head = api_as("head")
    for body, field in [
        ({"frequency": "daily", "weeks": 0, "inspectors": ["inspector"]}, "weeks"),
        ({"frequency": "hourly", "weeks": 1, "inspectors": ["inspector"]}, "frequency"),
        ({"frequency": "daily", "weeks": 1, "inspectors": ["nobody"]}, "inspectors"),
        ({"frequency": "daily", "weeks": 1, "inspectors": ["inspector3"]}, "inspectors"),
    ]:
        r = head.post(f"/{hotspot.pk}/plans", body)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.content)
    assert (
        api_as("inspector")
        .post(
            f"/{hotspot.pk}/plans", {"frequency": "daily", "weeks": 1, "inspectors": ["inspector"]}
        )
        .status_code
        == 403
    )
    assert not RecheckTask.objects.exists()


def test_an_inspector_cannot_see_or_record_anothers_task(world, hotspot, inspector_b, api_as):
    head = api_as("head")
    head.post(
        f"/{hotspot.pk}/plans",
        {"frequency": "daily", "weeks": 1, "inspectors": ["inspector_b"]},
    )
    task = RecheckTask.objects.get(due_on=timezone.localdate())
    r = api_as("inspector").post(f"/tasks/{task.pk}/record", {"ok": True})
    assert r.status_code == 404
    assert api_as("inspector").get("/tasks").json()["count"] == 0
