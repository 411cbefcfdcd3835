"""GET requests, requests/{id} and tokens/{token}, as a 311 client reads them."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.cases import services as cases
from civicgrid.cases.models import Case
from civicgrid.core import clock
from civicgrid.core.testing import INSIDE

from .conftest import assert_error, body_json, body_xml

REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
    "extended_attributes",
]


def report(world, text: str = "楼下垃圾堆放", grid: str = "G1", category: str = "0101") -> Case:
    lon, lat = INSIDE[grid]
    return cases.case_create(
        actor=world.user("resident"),
        category=category,
        description=text,
        lon=lon,
        lat=lat,
        reporter_name="张三",
        reporter_phone="13900000000",
    ).case


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["service_request_id"]: r for r in rows}


def test_requests_json_has_the_spec_fields_and_no_reporter_data(world, open311):
    case = report(world)
    case = cases.case_accept(case=case, actor=world.user("dispatcher"))
    case = cases.case_dispatch(
        case=case, lead=world.departments["CG"], actor=world.user("dispatcher")
    )

    (row,) = body_json(open311.get("requests.json"))

    assert list(row) == REQUEST_FIELDS
    assert row["service_request_id"] == case.number
    assert row["status"] == "open"
    assert row["extended_attributes"] == {
        "civicgrid_state": "dispatched",
        "civicgrid_state_label": "Dispatched",
        "overdue": False,
    }
    assert row["service_code"] == "0101"
    assert row["service_name"] == "Exposed garbage"
    assert row["agency_responsible"] == "城管"
    assert (row["lat"], row["long"]) == (case.lat, case.lon)
    assert row["requested_datetime"].endswith("+08:00")  # w3 format with the offset
    assert dt.datetime.fromisoformat(row["requested_datetime"]) == case.reported_at.replace(
        microsecond=0
    )
    case.refresh_from_db()
    assert dt.datetime.fromisoformat(row["expected_datetime"]) == case.deadline.replace(
        microsecond=0
    )
    assert "张三" not in str(row) and "13900000000" not in str(row)


def test_requests_xml_has_request_elements_with_the_spec_names(world, open311):
    report(world)

    root = body_xml(open311.get("requests.xml"))

    assert root.tag == "service_requests"
    (request,) = list(root)
    assert request.tag == "request"
    assert [c.tag for c in request] == REQUEST_FIELDS
    assert request.findtext("status") == "open"
    assert request.findtext("extended_attributes/civicgrid_state") == "reported"
    assert request.find("zipcode").text is None  # empty element, not "None"


def test_closed_rejected_and_merged_are_closed_with_the_detail_in_extended_attributes(
    world, open311
):
    rejected = cases.case_reject(
        case=report(world, "甲"), actor=world.user("dispatcher"), reason="不属于本网格的事项"
    )
    target = report(world, "乙", grid="G2")
    duplicate = report(world, "丙", grid="G2")
    cases.case_merge(case=duplicate, into=target, actor=world.user("dispatcher"))
    fixed = cases.case_self_handle(
        case=report(world, "丁"), actor=world.user("inspector"), note="已清理"
    )

    rows = by_id(body_json(open311.get("requests.json")))

    assert rows[rejected.number]["status"] == "closed"
    assert rows[rejected.number]["status_notes"] == "不属于本网格的事项"
    assert rows[rejected.number]["extended_attributes"]["civicgrid_state"] == "rejected"
    assert rows[duplicate.number]["status"] == "closed"
    assert target.number in rows[duplicate.number]["status_notes"]
    assert rows[fixed.number]["status"] == "closed"
    assert rows[fixed.number]["extended_attributes"]["civicgrid_state"] == "closed"
    assert rows[fixed.number]["status_notes"] is None  # staff notes stay internal
    assert rows[target.number]["status"] == "open"


def test_status_filter_takes_open_closed_or_both(world, open311):
    open_case = report(world, "甲")
    closed = cases.case_self_handle(
        case=report(world, "乙"), actor=world.user("inspector"), note="好了"
    )

    only_open = body_json(open311.get("requests.json", status="open"))
    only_closed = body_json(open311.get("requests.json", status="closed"))
    both = body_json(open311.get("requests.json", status="open,closed"))

    assert [r["service_request_id"] for r in only_open] == [open_case.number]
    assert [r["service_request_id"] for r in only_closed] == [closed.number]
    assert len(both) == 2


def test_service_code_filter_takes_a_comma_list(world, open311):
    garbage = report(world, category="0101")
    stall = report(world, category="0102")

    one = body_json(open311.get("requests.json", service_code="0102"))
    two = body_json(open311.get("requests.json", service_code="0101,0102"))

    assert [r["service_request_id"] for r in one] == [stall.number]
    assert {r["service_request_id"] for r in two} == {garbage.number, stall.number}


def test_service_request_id_list_overrides_every_other_argument(world, open311):
    a, b, _c = report(world, "甲"), report(world, "乙"), report(world, "丙")

    rows = body_json(
        open311.get(
            "requests.json",
            service_request_id=f"{a.number},{b.number}",
            service_code="0102",  # would match none of them
            status="closed",
        )
    )

    assert {r["service_request_id"] for r in rows} == {a.number, b.number}


def test_without_dates_the_last_90_days_are_listed(world, open311):
    now = clock.now()
    with clock.frozen(now - dt.timedelta(days=91)):
        old = report(world, "旧")
    recent = report(world, "新")

    default = body_json(open311.get("requests.json"))
    window = body_json(
        open311.get(
            "requests.json",
            start_date=(now - dt.timedelta(days=95)).isoformat(),
            end_date=(now - dt.timedelta(days=85)).isoformat(),
        )
    )
    start_only = body_json(
        open311.get("requests.json", start_date=(now - dt.timedelta(days=92)).isoformat())
    )

    assert [r["service_request_id"] for r in default] == [recent.number]
    assert [r["service_request_id"] for r in window] == [old.number]
    assert [r["service_request_id"] for r in start_only] == [old.number]  # start + 90 days


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "90 days"),
        ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"}, "start_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-01T00:00:00Z"}, "end_date"),
        ({"status": "pending"}, "status"),
        ({"service_request_id": ",".join(str(i) for i in range(1001))}, "service_request_id"),
        ({"service_code": "01\x0001"}, "service_code"),
    ],
)
def test_bad_query_is_a_400_naming_the_parameter(world, open311, fmt, params, mentions):
    assert_error(open311.get(f"requests.{fmt}", **params), 400, fmt, mentions)


def test_invalid_api_key_on_a_read_is_403(world, open311):
    assert_error(open311.get("requests.xml", api_key="o311_wrong"), 403, "xml", "api_key")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_request_by_id_is_a_list_of_one(world, open311, fmt):
    case = report(world)

    response = open311.get(f"requests/{case.number}.{fmt}")

    if fmt == "json":
        (row,) = body_json(response)
        assert row["service_request_id"] == case.number
    else:
        root = body_xml(response)
        assert [r.findtext("service_request_id") for r in root.findall("request")] == [case.number]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_request_id_is_404(world, open311, fmt):
    assert_error(open311.get(f"requests/20990101000001.{fmt}"), 404, fmt, "service_request_id")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_token_gives_the_service_request_id(world, api_key, open311, fmt):
    from .test_post_requests import form

    created = body_json(open311.post("requests.json", form(api_key)))[0]

    response = open311.get(f"tokens/{created['token']}.{fmt}")

    if fmt == "json":
        assert body_json(response) == [
            {"service_request_id": created["service_request_id"], "token": created["token"]}
        ]
    else:
        (request,) = body_xml(response).findall("request")
        assert [c.tag for c in request] == ["service_request_id", "token"]
        assert request.findtext("service_request_id") == created["service_request_id"]


@pytest.mark.parametrize("token", ["00000000-0000-4000-8000-000000000000", "not-a-token"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_token_is_404(world, open311, fmt, token):
    assert_error(open311.get(f"tokens/{token}.{fmt}"), 404, fmt, "token")


def test_photo_of_a_case_is_its_media_url(world, open311, tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG")
    upload = cases.upload_create(
        file=SimpleUploadedFile("a.jpg", buffer.getvalue(), content_type="image/jpeg"),
        actor=world.user("resident"),
    )
    lon, lat = INSIDE["G1"]
    case = cases.case_create(
        actor=world.user("resident"),
        category="0101",
        description="有照片",
        lon=lon,
        lat=lat,
        photos=[upload.pk],
    ).case

    (row,) = body_json(open311.get(f"requests/{case.number}.json"))

    assert row["media_url"].startswith("http://testserver/")
    assert row["media_url"].endswith(".jpg")
