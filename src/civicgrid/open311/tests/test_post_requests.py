"""POST requests: a 311 client files a case that enters the same loop as any other."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from civicgrid.cases.models import Case, State
from civicgrid.core import clock
from civicgrid.core.testing import INSIDE, OUTSIDE
from civicgrid.open311.models import ApiKey
from civicgrid.open311.services import api_key_revoke

from .conftest import assert_error, body_json, body_xml, make_key

LON, LAT = INSIDE["G1"]


def form(key: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "api_key": key,
        "service_code": "0102",
        "lat": str(LAT),
        "long": str(LON),
        "description": "路口有人占道卖水果",
        "address_string": "示范路 1 号",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_post_json_files_a_case_on_its_grid_with_sla_timeline_and_the_keys_source(
    world, api_key, open311
):
    response = open311.post(
        "requests.json",
        form(
            api_key,
            first_name="Li",
            last_name="Lei",
            phone="13800000000",
            email="li@example.org",
            device_id="dev-1",
            account_id="acct-9",
            media_url="https://img.example.org/1.jpg",
        ),
    )

    assert response.status_code == 200, response.content
    (row,) = body_json(response)
    assert list(row) == ["service_request_id", "token", "service_notice", "account_id"]
    case = Case.objects.get(number=row["service_request_id"])
    assert row["token"] == str(case.tracking_token)
    assert row["account_id"] == "acct-9"
    assert case.state == State.REPORTED
    assert case.source == "api"
    assert case.reporter == world.user("operator")
    assert case.management_grid.code == "G1"
    assert case.unit_grid is not None
    assert case.deadline is not None  # the SLA applied
    assert case.category.code == "0102"
    assert case.address == "示范路 1 号"
    assert (case.reporter_name, case.reporter_phone) == ("Li Lei", "13800000000")
    assert case.extra["_open311"]["media_url"] == "https://img.example.org/1.jpg"
    assert case.extra["_open311"]["email"] == "li@example.org"
    assert case.extra["_open311"]["device_id"] == "dev-1"
    assert case.extra["_open311"]["system"] == "FixMyStreet"
    assert [e.action for e in case.timeline.all()] == ["report"]


def test_post_xml_answers_with_service_requests_request(world, api_key, open311):
    response = open311.post("requests.xml", form(api_key))

    root = body_xml(response)
    assert root.tag == "service_requests"
    (request,) = list(root)
    assert request.tag == "request"
    assert [c.tag for c in request] == [
        "service_request_id",
        "token",
        "service_notice",
        "account_id",
    ]
    assert Case.objects.filter(number=request.findtext("service_request_id")).exists()


def test_post_stores_attribute_answers_and_checks_them(
    world, api_key, garbage_with_questions, open311
):
    response = open311.post(
        "requests.json",
        form(
            api_key, service_code="0101", **{"attribute[PILE]": "large", "attribute[SMELL]": "有"}
        ),
    )

    (row,) = body_json(response)
    case = Case.objects.get(number=row["service_request_id"])
    assert case.extra["PILE"] == "large"
    assert case.extra["SMELL"] == "有"


def test_description_is_optional_as_in_the_spec(world, api_key, open311):
    response = open311.post("requests.json", form(api_key, description=None))

    (row,) = body_json(response)
    assert Case.objects.get(number=row["service_request_id"]).description == "占道经营"


def test_a_likely_duplicate_is_named_in_the_service_notice(world, api_key, open311):
    first = body_json(open311.post("requests.json", form(api_key)))[0]

    second = body_json(open311.post("requests.json", form(api_key)))[0]

    assert first["service_request_id"] in second["service_notice"]
    assert Case.objects.count() == 2  # suggested, not refused: a dispatcher merges


def test_key_may_be_sent_in_the_query_string(world, api_key, open311):
    body = form(api_key, api_key=None)
    response = open311.client.post(
        f"/open311/v2/requests.json?api_key={api_key}",
        "&".join(f"{k}={v}" for k, v in body.items()),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200


# Every refusal: the spec's error shape, the right status, the field named, nothing written.
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("overrides", "status", "mentions"),
    [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "o311_not-a-key"}, 403, "api_key"),
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "9999"}, 400, "service_code"),
        ({"service_code": "01"}, 400, "service_code"),
        ({"lat": None, "long": None}, 400, "lat"),
        ({"lat": None, "long": None, "address_string": "示范路 1 号"}, 400, "geocode"),
        ({"lat": None}, 400, "lat"),
        ({"long": None}, 400, "long"),
        ({"lat": "north"}, 400, "lat"),
        ({"lat": "91"}, 400, "lat"),
        ({"long": "nan"}, 400, "long"),
        ({"lat": str(OUTSIDE[1]), "long": str(OUTSIDE[0])}, 400, "outside every grid"),
        ({"description": "x" * 4001}, 400, "description"),
        ({"media_url": "file:///etc/passwd"}, 400, "media_url"),
        ({"email": "not-an-address"}, 400, "email"),
        ({"attribute[NOPE]": "1"}, 400, "attribute[NOPE]"),
        ({"description": "NUL\x00byte"}, 400, "description"),
    ],
)
def test_bad_post_is_refused_with_the_spec_error_and_writes_nothing(
    world, api_key, open311, fmt, overrides, status, mentions
):
    response = open311.post(f"requests.{fmt}", form(api_key, **overrides))

    assert_error(response, status, fmt, mentions)
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("answers", "mentions"),
    [
        ({}, "attribute[PILE] is required"),
        ({"attribute[PILE]": "enormous"}, "attribute[PILE] must be one of"),
        ({"attribute[PILE]": ["small", "large"]}, "attribute[PILE] takes one value"),
    ],
)
def test_bad_attribute_answers_are_refused(
    world, api_key, garbage_with_questions, open311, answers, mentions
):
    response = open311.post("requests.json", form(api_key, service_code="0101", **answers))

    assert_error(response, 400, "json", mentions)
    assert not Case.objects.exists()


def test_revoked_key_is_refused(world, open311):
    raw = make_key(world)
    api_key_revoke(actor=world.user("admin"), key=ApiKey.objects.get())

    assert_error(open311.post("requests.json", form(raw)), 403, "json", "api_key")


def test_key_of_a_deactivated_account_is_refused(world, api_key, open311):
    world.user("operator").is_active = False
    world.user("operator").save()

    assert_error(open311.post("requests.json", form(api_key)), 403, "json", "api_key")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_over_the_rate_limit_is_429_with_retry_after_and_writes_nothing(world, open311, fmt):
    raw = make_key(world, rate=2)
    other = make_key(world, name="12345", rate=2)
    at = dt.datetime(2026, 5, 4, 10, 0, 20, tzinfo=dt.UTC)

    with clock.frozen(at):
        ok = [open311.post(f"requests.{fmt}", form(raw)).status_code for _ in range(2)]
        refused = open311.post(f"requests.{fmt}", form(raw))
        others = open311.post(f"requests.{fmt}", form(other))
    with clock.frozen(at + dt.timedelta(seconds=40)):
        next_minute = open311.post(f"requests.{fmt}", form(raw))

    assert ok == [200, 200]
    assert_error(refused, 429, fmt, "Rate limit")
    assert refused["Retry-After"] == "40"
    assert others.status_code == 200  # the limit is per key
    assert next_minute.status_code == 200
    assert Case.objects.count() == 4


def test_number_datetime_and_multivaluelist_answers_are_typed(world, api_key, open311):
    category = world.categories["stall"]
    category.questions = [
        {"code": "COUNT", "label": "摊位数", "datatype": "number", "required": True},
        {"code": "SEEN", "label": "发现时间", "datatype": "datetime"},
        {"code": "GOODS", "label": "商品", "datatype": "multivaluelist", "values": ["果", "菜"]},
    ]
    category.save()

    response = open311.post(
        "requests.json",
        form(
            api_key,
            **{
                "attribute[COUNT]": "3",
                "attribute[SEEN]": "2026-05-01T08:30:00+08:00",
                "attribute[GOODS][]": ["果", "菜"],
            },
        ),
    )
    refused = open311.post("requests.json", form(api_key, **{"attribute[COUNT]": "three"}))

    (row,) = body_json(response)
    extra = Case.objects.get(number=row["service_request_id"]).extra
    assert extra["COUNT"] == 3
    assert extra["SEEN"] == "2026-05-01T08:30:00+08:00"
    assert extra["GOODS"] == ["果", "菜"]
    assert_error(refused, 400, "json", "attribute[COUNT] must be a number")
