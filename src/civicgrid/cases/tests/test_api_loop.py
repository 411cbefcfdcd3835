"""The loop through HTTP: each action's endpoint, its status codes, and scoped lists."""

from __future__ import annotations

from civicgrid.cases.models import Case
from civicgrid.core.testing import INSIDE

from .test_authorization_matrix import drive


def report(api, grid="G1", **kw):
    lon, lat = INSIDE[grid]
    r = api.post(
        "/cases", {"category": "0101", "description": "垃圾满溢", "lon": lon, "lat": lat, **kw}
    )
    assert r.status_code == 201, r.content
    return r.json()["case"]["number"]


def test_the_loop_over_http(world, api_as):
    number = report(api_as("resident"))
    d = api_as("dispatcher")
    detail = d.get(f"/cases/{number}").json()
    assert "accept" in detail["allowed_actions"] and "take" not in detail["allowed_actions"]
    assert d.post(f"/cases/{number}/accept", {}).json()["state"] == "accepted"
    r = d.post(f"/cases/{number}/dispatch", {"lead": "CG", "co_handlers": ["WY"]})
    assert r.json()["state"] == "dispatched"
    assert {a["department"]["code"] for a in r.json()["assignments"]} == {"CG", "WY"}
    h = api_as("handler")
    assert h.post(f"/cases/{number}/take", {}).json()["state"] == "in_progress"
    assert (
        h.post(f"/cases/{number}/report-handled", {"note": "已清运"}).json()["state"] == "handled"
    )
    assert (
        api_as("inspector").post(f"/cases/{number}/verify", {"ok": True}).json()["state"]
        == "verified"
    )
    assert d.post(f"/cases/{number}/close", {}).json()["state"] == "closed"
    assert (
        api_as("resident").post(f"/cases/{number}/feedback", {"satisfaction": 5}).status_code == 200
    )
    timeline = d.get(f"/cases/{number}/timeline").json()
    assert [e["action"] for e in timeline] == [
        "report",
        "accept",
        "dispatch",
        "take",
        "report_handled",
        "verify_ok",
        "close",
        "feedback",
    ]
    assert timeline[1]["actor"] == "dispatcher" and timeline[1]["from_state"] == "reported"


def test_wrong_role_wrong_state_and_other_jurisdiction_get_403_409_404(world, api_as):
    number = report(api_as("resident"))
    r = api_as("handler").post(f"/cases/{number}/accept", {})
    assert r.status_code == 404  # not assigned to the handler's department: invisible
    r = api_as("inspector").post(f"/cases/{number}/accept", {})
    assert r.status_code == 403 and "role" in r.json()["detail"].lower()
    r = api_as("dispatcher").post(f"/cases/{number}/close", {})
    assert r.status_code == 409 and r.json()["field"] == "state"
    r = api_as("dispatcher2").post(f"/cases/{number}/accept", {})
    assert r.status_code == 404
    r = api_as("dispatcher2").get(f"/cases/{number}")
    assert r.status_code == 404
    r = api_as("dispatcher").post(f"/cases/{number}/reject", {})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = api_as("dispatcher").post(f"/cases/{number}/dispatch", {"lead": "NOPE"})
    assert r.status_code in (409, 422)
    assert Case.objects.get(number=number).state == "reported"


def test_lists_are_scoped_and_filtered(world, api_as):
    ops = api_as("operator")
    n1 = report(ops, grid="G1")
    n2 = report(ops, grid="G3", category="0102")
    n3 = report(ops, grid="G2", description="路灯不亮 night")

    def numbers(api, **params):
        r = api.get("/cases", **params)
        assert r.status_code == 200, r.content
        return {c["number"] for c in r.json()["items"]}

    assert numbers(ops) == {n1, n2, n3}
    assert numbers(api_as("dispatcher")) == {n1, n3}  # subdistrict S1
    assert numbers(api_as("dispatcher2")) == {n2}
    assert numbers(api_as("inspector")) == {n1}  # grid G1
    assert numbers(api_as("handler")) == set()  # nothing dispatched to CG yet
    assert numbers(api_as("resident")) == set()  # reported by the operator
    assert numbers(ops, category="0102") == {n2}
    assert numbers(ops, category="01") == {n1, n2, n3}
    assert numbers(ops, grid="G2") == {n3}
    assert numbers(ops, region="310104002") == {n2}
    assert numbers(ops, q="night") == {n3}
    assert numbers(ops, source="hotline") == {n1, n2, n3}
    assert numbers(ops, state="reported") == {n1, n2, n3}
    assert numbers(ops, overdue="true") == set()
    # Filters never widen the scope: another jurisdiction's region gives nothing.
    assert numbers(api_as("dispatcher"), region="310104002") == set()
    page = ops.get("/cases", limit=2, offset=0).json()
    assert page["count"] == 3 and len(page["items"]) == 2


def test_department_filter_and_handler_queue(world, api_as):
    case = drive(world, "dispatched")
    assert {c["number"] for c in api_as("handler").get("/cases").json()["items"]} == {case.number}
    assert api_as("handler_fire").get("/cases").json()["items"] == []
    assert api_as("operator").get("/cases", department="CG").json()["count"] == 1


def test_resident_support_and_public_tracking(world, api_as):
    number = report(api_as("resident"))
    r = api_as("resident2").post(f"/public/cases/{number}/support")
    assert r.status_code == 200 and r.json()["supporters_count"] == 1
    assert api_as("resident2").post(f"/public/cases/{number}/support").status_code == 409
    assert api_as(None).post(f"/public/cases/{number}/support").status_code == 403
    # The supporter now follows the case in their own list.
    assert {c["number"] for c in api_as("resident2").get("/cases").json()["items"]} == {number}
    public = api_as(None).get(f"/public/cases/{number}").json()
    assert [e["action"] for e in public["timeline"]] == ["report", "support"]
    assert api_as(None).get("/public/cases/NOPE").status_code == 404


def test_openapi_document_is_served(world, api_as):
    r = api_as(None).client.get("/api/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/cases" in paths and "/api/cases/{number}/dispatch" in paths
