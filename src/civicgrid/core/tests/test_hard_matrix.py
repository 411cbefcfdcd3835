"""Authorization matrix over every API operation and every page: who may, who may not, no leaks.

The rows come from the OpenAPI document and the URL resolver, so a new endpoint is in the matrix
the day it lands; it must also get a line in API or PAGES below, or the first test fails. Each
row is tried anonymously and as every user of hard_world (each role, inside and outside its
jurisdiction), on a case, hot spot, plan or task it may see and on one it may not, and list
endpoints again with filters aimed outside (grid, region, search text, department). A response
leaks if it carries the number, description or reporter of a case the caller may not see, or
counts more open cases on a map than the caller can see. Writes run inside a rolled-back
savepoint, so the world is the same for every cell.

The case state machine (every state x action x role) has its own exhaustive test:
civicgrid/cases/tests/test_authorization_matrix.py. This one is about doors and data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from civicgrid.api import api
from civicgrid.cases.models import Case
from civicgrid.core.management.commands.reliability_report import record_figures
from civicgrid.core.tests.hard_world import (
    HOTSPOT_SEES,
    PLAN_SEES,
    USERS,
    HardWorld,
    build_hard_world,
)

pytestmark = [pytest.mark.hard, pytest.mark.django_db]

EVERYONE = frozenset(USERS)
STAFF = EVERYONE - {"resident", "resident2"}
DESK = frozenset(
    {"operator", "operator2", "dispatcher", "dispatcher2", "head", "head2", "ops", "admin"}
)
INTAKE = DESK - {"ops"}
PATROL = frozenset({"inspector", "inspector3", "head", "head2", "admin"})
DEPT = frozenset({"handler", "handler_fire"})
SCREEN = frozenset({"ops", "admin", "head", "head2"})
METRICS = frozenset({"dispatcher", "dispatcher2", "head", "head2", "ops", "admin"})


@dataclass(frozen=True)
class Door:
    """What one route allows.

    anon:   "allow", or "deny" (API 401, pages a redirect to the sign-in page)
    roles:  users who may use it; everyone else signed in gets 403 (or 404 for an object)
    data:   "private" (no trace of a case the caller may not see) or "public" (numbers and
            descriptions are public, as on tracking pages and Open311; reporters never are)
    target: the path parameter that names an object: case, hotspot, plan, task or None
    """

    anon: str = "deny"
    roles: frozenset[str] = STAFF
    data: str = "private"
    target: str | None = None
    missing_ok: bool = False  # the sample value names nothing: 404 is a fair answer


CASE = Door(roles=EVERYONE, target="case")  # staff by jurisdiction, residents their own
SIGNED_IN = Door(roles=EVERYONE)
PUBLIC = Door(anon="allow", roles=EVERYONE, data="public")
PUBLIC_CASE = Door(anon="allow", roles=EVERYONE, data="public", target="case")
NOT_RESIDENT = Door(roles=STAFF)

# --- every API operation: "METHOD /api/path" as in /api/openapi.json -------------------------
API: dict[str, Door] = {
    "GET /api/cases": SIGNED_IN,
    "POST /api/cases": PUBLIC,
    "GET /api/cases/categories": PUBLIC,
    "POST /api/cases/uploads": PUBLIC,
    "GET /api/cases/{number}": CASE,
    "GET /api/cases/{number}/timeline": CASE,
    **{
        f"POST /api/cases/{{number}}/{action}": CASE
        for action in [
            "accept",
            "reject",
            "merge",
            "dispatch",
            "take",
            "report-handled",
            "return",
            "verify",
            "close",
            "reopen",
            "transfer",
            "escalate",
            "self-handle",
            "extend",
            "suspend",
            "resume",
            "feedback",
        ]
    },
    "GET /api/public/cases/{number}": PUBLIC_CASE,
    "POST /api/public/cases/{number}/support": PUBLIC_CASE,
    "POST /api/public/cases/{number}/feedback": PUBLIC_CASE,
    "POST /api/public/cases/{number}/reopen": PUBLIC_CASE,
    "GET /api/geo/regions": NOT_RESIDENT,
    "GET /api/geo/grids": NOT_RESIDENT,
    "GET /api/geo/locate": NOT_RESIDENT,
    "GET /api/hotspots": SIGNED_IN,
    "GET /api/hotspots/geojson": SIGNED_IN,
    "GET /api/hotspots/plans": SIGNED_IN,
    "GET /api/hotspots/plans/{plan_id}": Door(roles=EVERYONE, target="plan"),
    "GET /api/hotspots/tasks/today": SIGNED_IN,
    "GET /api/hotspots/tasks": SIGNED_IN,
    "POST /api/hotspots/tasks/{task_id}/record": Door(roles=EVERYONE, target="task"),
    "GET /api/hotspots/{hotspot_id}": Door(roles=EVERYONE, target="hotspot"),
    "POST /api/hotspots/{hotspot_id}/plans": Door(roles=EVERYONE, target="hotspot"),
    "GET /api/metrics/figures": Door(roles=METRICS),
    "GET /api/metrics/rankings": Door(roles=METRICS),
    "GET /api/metrics/rankings.xlsx": Door(roles=METRICS),
    "GET /api/metrics/trend": Door(roles=METRICS),
    "GET /api/metrics/breakdown": Door(roles=METRICS),
    "GET /api/metrics/indicators": SIGNED_IN,  # the formulas, no figures
    "GET /api/me": SIGNED_IN,
    "GET /api/departments": SIGNED_IN,
    # Device and system events: a token's user; which roles may send is the ingest app's rule.
    "POST /api/ingest/events": SIGNED_IN,
}

# --- every page: the resolved view name; "admin:*" covers the whole admin site ----------------
PAGES: dict[str, Door] = {
    "web:home": PUBLIC,
    "web:report": PUBLIC,
    "web:report_thanks": PUBLIC_CASE,
    "web:track": PUBLIC,
    "web:track_case": PUBLIC_CASE,
    "web:track_feedback": PUBLIC_CASE,
    "web:track_reopen": PUBLIC_CASE,
    "web:track_support": Door(roles=EVERYONE, data="public", target="case"),
    "web:category_options": PUBLIC,
    "web:category_suggest": PUBLIC,
    "web:service_area": PUBLIC,
    "web:patrol": Door(roles=PATROL),
    "web:patrol_report": Door(roles=PATROL),
    "web:intake": Door(roles=INTAKE),
    "web:intake_recent": Door(roles=INTAKE),
    "web:place_search": Door(roles=INTAKE),
    "web:desk": Door(roles=DESK),
    "web:dept": Door(roles=DEPT),
    "web:case": Door(target="case"),
    "web:case_act": Door(target="case"),
    "web:quick_action": Door(target="case"),
    "web:map": Door(),
    "web:map_grids": Door(),
    "web:map_cases": Door(),
    "metrics:screen": Door(roles=SCREEN),
    "metrics:screen_live": Door(roles=SCREEN),
    "metrics:screen_json": Door(roles=SCREEN),
    "metrics:screen_grids": Door(roles=SCREEN),
    "open311:discovery": PUBLIC,
    "open311:services": PUBLIC,
    "open311:service": PUBLIC,
    "open311:requests": PUBLIC,
    "open311:request": PUBLIC_CASE,
    "open311:token": Door(anon="allow", roles=EVERYONE, data="public", missing_ok=True),
    "login": PUBLIC,
    "logout": PUBLIC,
    "password_change": SIGNED_IN,
    "password_change_done": SIGNED_IN,
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC,
    "set_language": PUBLIC,
    "admin:login": PUBLIC,
    "admin:logout": PUBLIC,
    "admin:*": Door(roles=frozenset()),  # Django staff accounts only (is_staff), none here
}

# Values for path parameters of pages, by name.
PAGE_KWARGS = {
    "fmt": "json",
    "service_code": "0101",
    "token": "no-such-token",
    "panel_key": "accept",
    "action": "accept",
    "uidb64": "MQ",
    "app_label": "cases",
    "object_id": "1",
    "content_type_id": "1",
}
# List filters aimed outside the caller's jurisdiction, where the operation takes them.
PROBES = ("grid", "region", "q", "department", "category")


# --- discovery ---------------------------------------------------------------------------------
def api_operations() -> list[tuple[str, str, dict[str, Any]]]:
    doc = api.get_openapi_schema()
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            out.append((method.upper(), path, op))
    return out


def _walk(patterns: list[Any], prefix: str = "", ns: str = "") -> list[tuple[str, str, Any]]:
    out = []
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
            out += _walk(p.url_patterns, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern):
            name = f"{ns}:{p.name}" if ns else (p.name or "")
            out.append((prefix + str(p.pattern), name, p))
    return out


def page_routes() -> list[tuple[str, str]]:
    """(route, view name) of every URL that is not the API (the API has its own rows)."""
    rows = []
    for route, name, _p in _walk(get_resolver().url_patterns):
        if route.startswith("api/") or route.startswith("media/"):
            continue
        rows.append((route, name))
    return rows


def page_door(name: str) -> Door | None:
    if name in PAGES:
        return PAGES[name]
    return next((d for k, d in PAGES.items() if k.endswith("*") and name.startswith(k[:-1])), None)


def page_url(route: str, number: str) -> str:
    """A concrete URL for a route: named groups and converters filled with sample values."""

    def value(name: str) -> str:
        return number if name in ("number", "service_request_id") else PAGE_KWARGS.get(name, "x")

    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value(m.group(1)), route)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m.group(1)), url)
    url = url.replace("^", "").replace("$", "").replace("\\.", ".")
    return "/" + url


# --- the checks ---------------------------------------------------------------------------------
@dataclass
class Cell:
    key: str
    who: str | None
    where: str  # inside, outside, probe or "-"
    method: str
    url: str
    status: int


def leaks(hw: HardWorld, door: Door, who: str | None, body: str, url: str) -> list[str]:
    found = []
    for t in hw.targets.values():
        if hw.visible(who, t):
            continue
        private = [t.name_marker, t.phone_marker]
        if door.data == "private":
            private += [t.marker, t.number]
        # What the caller sent (a number in the path, a search text) may come back.
        found += [f"{t.label}:{m}" for m in private if m in body and m not in url]
    return found


def map_count_leak(hw: HardWorld, who: str | None, body: str) -> str | None:
    """A map layer may count no more open cases than the caller can see."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        return None
    counted = sum(
        int((f.get("properties") or {}).get("open") or 0) for f in data.get("features", [])
    )
    visible = Case.objects.filter(
        pk__in=[t.case.pk for t in hw.targets.values() if hw.visible(who, t)]
    ).count()
    return f"map counts {counted} open cases, caller sees {visible}" if counted > visible else None


def object_for(hw: HardWorld, kind: str, who: str | None, where: str) -> tuple[str, str] | None:
    """(path value, case number it stands for) of an object inside or outside, None if none is."""
    if kind == "case":
        target = hw.inside(who) if where == "inside" and who else hw.outside(who)
        return (target.number, target.number) if target else None
    number = hw.targets["g1_cg"].number
    if kind == "hotspot":
        seen = HOTSPOT_SEES.get(who or "", set())
        grids = [g for g in hw.hotspots if (g in seen) == (where == "inside")]
        return (str(hw.hotspots[grids[0]]), number) if grids else None
    # The only plan and task are in G1.
    if (who in PLAN_SEES) != (where == "inside"):
        return None
    return str(hw.plan_id if kind == "plan" else hw.task_id), number


def minimal_body(op: dict[str, Any], doc: dict[str, Any]) -> Any:
    """A request body with every required field set to a plausible value."""
    content = (op.get("requestBody") or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema")
    if not schema:
        return None

    def resolve(s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            s = doc["components"]["schemas"][s["$ref"].rsplit("/", 1)[1]]
        return s

    schema = resolve(schema)
    body: dict[str, Any] = {}
    samples = {"lead": "CG", "grid": "G2", "into": "0", "satisfaction": 3, "ok": True}
    for name in schema.get("required", []):
        prop = resolve(schema["properties"][name])
        kind = prop.get("type")
        if name in samples:
            body[name] = samples[name]
        elif kind == "integer":
            body[name] = prop.get("minimum", 1)
        elif kind == "number":
            body[name] = 121.405 if name == "lon" else 31.205
        elif kind == "boolean":
            body[name] = True
        elif kind == "array":
            body[name] = []
        elif prop.get("format") == "date-time":
            body[name] = "2099-01-01T00:00:00+08:00"
        elif prop.get("format") == "date":
            body[name] = "2099-01-01"
        else:
            body[name] = "matrix check"
    return body


def required_query(op: dict[str, Any]) -> dict[str, Any]:
    """Sample values for the required query parameters, so the door, not validation, answers."""
    samples = {"lon": 121.405, "lat": 31.205}
    return {
        p["name"]: samples.get(p["name"], "x")
        for p in op.get("parameters", [])
        if p.get("in") == "query" and p.get("required")
    }


class Caller:
    def __init__(self, hw: HardWorld, who: str | None) -> None:
        self.client = Client()
        self.headers = {}
        if who is not None:
            self.client.force_login(hw.user(who))
            self.headers = {"HTTP_AUTHORIZATION": f"Bearer {hw.tokens[who]}"}

    def send(self, method: str, url: str, *, api: bool, body: Any = None, params: Any = None):
        headers = self.headers if api else {}
        if method == "GET":
            return self.client.get(url, params or {}, **headers)
        # Writes are tried and thrown away: every cell sees the same world.
        with transaction.atomic():
            if api:
                r = self.client.post(
                    url, json.dumps(body or {}), content_type="application/json", **headers
                )
            else:
                r = self.client.post(url, body or {})
            transaction.set_rollback(True)
        return r


def denied(status: int) -> bool:
    return status in (401, 403, 404)


def let_through(r: Any, *, api: bool, door: Door) -> bool:
    """Past the door: served, redirected onwards, or the input (not the caller) refused."""
    if not api and login_redirect(r):
        return False
    if door.missing_ok and r.status_code == 404:
        return True
    return r.status_code < 400 or r.status_code in (400, 405, 409, 422)


def login_redirect(response: Any) -> bool:
    return response.status_code == 302 and "login" in response.get("Location", "")


# --- the tests ------------------------------------------------------------------------------------
def test_every_api_operation_and_page_has_an_expectation():
    missing_api = [f"{m} {p}" for m, p, _ in api_operations() if f"{m} {p}" not in API]
    missing_pages = [f"{name} ({route})" for route, name in page_routes() if not page_door(name)]
    assert not missing_api, f"add these to API in {__file__}: {missing_api}"
    assert not missing_pages, f"add these to PAGES in {__file__}: {missing_pages}"
    stale = set(API) - {f"{m} {p}" for m, p, _ in api_operations()}
    assert not stale, f"these API rows name nothing any more: {stale}"


@pytest.fixture
def hard_world(db) -> HardWorld:
    return build_hard_world()


def test_api_matrix(hard_world):
    hw, doc, cells, problems = hard_world, api.get_openapi_schema(), [], []
    callers = {who: Caller(hw, who) for who in (None, *USERS)}
    for method, path, op in api_operations():
        door = API.get(f"{method} {path}")
        if door is None:
            continue  # reported by test_every_api_operation_and_page_has_an_expectation
        params = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
        for who, caller in callers.items():
            wheres = ["inside", "outside"] if door.target else ["-"]
            if method == "GET" and params & set(PROBES) and hw.outside(who) is not None:
                wheres.append("probe")
            for where in wheres:
                url = path
                if door.target and where != "probe":
                    obj = object_for(hw, door.target, who, where)
                    if obj is None:
                        continue  # nothing of the kind lies there for this caller
                    url = re.sub(r"\{\w+\}", obj[0], path)
                probe = required_query(op)
                if where == "probe":
                    out = hw.outside(who)
                    assert out is not None
                    values = {
                        "grid": out.grid,
                        "region": out.case.region.code,
                        "q": out.marker,
                        "department": out.department or "XF",
                        "category": "0101",
                    }
                    probe.update({k: v for k, v in values.items() if k in params})
                r = caller.send(method, url, api=True, body=minimal_body(op, doc), params=probe)
                body = r.content.decode("utf-8", "replace")
                url = f"{url}?{urlencode(probe)}" if probe else url
                cells.append(Cell(f"{method} {path}", who, where, method, url, r.status_code))
                problems += check_cell(hw, door, who, where, method, r, body, url, api=True)
    assert not problems, "\n".join(problems[:40])
    record_figures("matrix", api_cells=len(cells), api_operations=len(API))


def check_cell(
    hw: HardWorld,
    door: Door,
    who: str | None,
    where: str,
    method: str,
    r: Any,
    body: str,
    url: str,
    *,
    api: bool,
) -> list[str]:
    label = f"{method} {url} as {who or 'anonymous'} ({where}) -> {r.status_code}"
    out = []
    if r.status_code >= 500:
        return [f"{label}: server error"]
    if who is None and door.anon == "deny":
        ok = r.status_code == 401 if api else login_redirect(r)
        if not ok:
            out.append(f"{label}: anonymous must be refused")
    elif who is not None and who not in door.roles:
        if not (denied(r.status_code) or (not api and login_redirect(r))):
            out.append(f"{label}: this role must be refused")
    elif where == "outside" and door.data == "private" and 200 <= r.status_code < 300:
        out.append(f"{label}: an object outside the jurisdiction was served")
    elif method != "GET":
        pass  # whether a write is allowed inside depends on the state: the workflow matrix
    elif where == "inside" and not let_through(r, api=api, door=door):
        out.append(f"{label}: an object inside the jurisdiction was refused")
    elif where == "-" and who is not None and not let_through(r, api=api, door=door):
        out.append(f"{label}: an allowed caller was refused")
    elif who is None and door.anon == "allow" and not let_through(r, api=api, door=door):
        out.append(f"{label}: a public door was shut")
    out += [f"{label}: leaks {m}" for m in leaks(hw, door, who, body, url)]
    if (count := map_count_leak(hw, who, body)) is not None:
        out.append(f"{label}: {count}")
    if api and url == "/api/cases" and method == "GET" and r.status_code == 200 and where == "-":
        expected = sum(1 for t in hw.targets.values() if hw.visible(who, t))
        if r.json()["count"] != expected:
            out.append(f"{label}: counts {r.json()['count']} cases, caller sees {expected}")
    return out


def test_page_matrix(hard_world):
    hw, cells, problems = hard_world, [], []
    callers = {who: Caller(hw, who) for who in (None, *USERS)}
    for route, name in page_routes():
        door = page_door(name)
        assert door is not None
        for who, shared in callers.items():
            # Signing out would sign the shared client out for the rows after it.
            caller = Caller(hw, who) if "logout" in name else shared
            for where in ["inside", "outside"] if door.target else ["-"]:
                number = hw.targets["g1_cg"].number
                if door.target:
                    obj = object_for(hw, door.target, who, where)
                    if obj is None:
                        continue
                    number = obj[1]
                url = page_url(route, number)
                method = "GET"
                r = caller.send("GET", url, api=False)
                if r.status_code == 405:
                    method = "POST"
                    r = caller.send("POST", url, api=False)
                body = r.content.decode("utf-8", "replace")
                cells.append(Cell(name, who, where, method, url, r.status_code))
                problems += check_cell(hw, door, who, where, method, r, body, url, api=False)
        if door.target is None and name.startswith(("web:", "metrics:")):
            # List pages again with filters aimed outside.
            for who, caller in callers.items():
                if who is None or who not in door.roles:
                    continue
                out = hw.outside(who)
                if out is None:
                    continue
                probe = {"grid": out.grid, "q": out.marker, "region": out.case.region.code}
                url = page_url(route, out.number)
                r = caller.client.get(url, probe)
                url = f"{url}?{urlencode(probe)}"  # what the caller sent is no leak
                if r.status_code == 405:
                    continue
                body = r.content.decode("utf-8", "replace")
                cells.append(Cell(name, who, "probe", "GET", url, r.status_code))
                problems += check_cell(hw, door, who, "probe", "GET", r, body, url, api=False)
    assert not problems, "\n".join(problems[:40])
    record_figures("matrix", page_cells=len(cells), pages=len(page_routes()))
