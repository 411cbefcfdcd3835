"""Discovery, the service list and service definitions, as a 311 client reads them."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from .conftest import assert_error, body_json, body_xml

SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
ATTRIBUTE_FIELDS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
]


def served(*ids: str):
    return override_settings(CIVICGRID={**settings.CIVICGRID, "OPEN311_JURISDICTION_ID": list(ids)})


def test_discovery_json_names_the_v2_endpoint_and_both_formats(world, open311):
    data = body_json(open311.get("discovery.json"))

    (endpoint,) = data["endpoints"]
    assert set(data) == {"changeset", "contact", "key_service", "endpoints"}
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["changeset"].endswith("+08:00")


def test_discovery_xml_has_the_spec_elements(world, open311):
    root = body_xml(open311.get("discovery.xml"))

    assert root.tag == "discovery"
    assert [c.tag for c in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert [c.tag for c in endpoint] == [
        "specification",
        "url",
        "changeset",
        "type",
        "formats",
    ]
    assert [f.text for f in endpoint.findall("formats/format")] == [
        "text/xml",
        "application/json",
    ]


def test_services_json_lists_minor_classes_grouped_by_their_major_class(world, open311):
    services = body_json(open311.get("services.json"))

    assert [s["service_code"] for s in services] == ["0101", "0102"]  # not the major class 01
    garbage = services[0]
    assert list(garbage) == SERVICE_FIELDS
    assert garbage["service_name"] == "Exposed garbage"  # English client, English name
    assert garbage["group"] == "City appearance"
    assert garbage["type"] == "realtime"
    assert garbage["metadata"] is False


def test_services_follow_the_clients_language(world, open311):
    response = open311.client.get("/open311/v2/services.json", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert body_json(response)[0]["service_name"] == "暴露垃圾"


def test_services_xml_has_one_service_element_per_service(world, garbage_with_questions, open311):
    root = body_xml(open311.get("services.xml"))

    assert root.tag == "services"
    assert [s.tag for s in root] == ["service", "service"]
    first = root.find("service")
    assert [c.tag for c in first] == SERVICE_FIELDS
    assert first.findtext("metadata") == "true"  # it has questions now


def test_inactive_category_is_not_a_service(world, open311):
    world.categories["stall"].is_active = False
    world.categories["stall"].save()

    codes = [s["service_code"] for s in body_json(open311.get("services.json"))]

    assert codes == ["0101"]


def test_service_definition_json_turns_questions_into_attributes(
    world, garbage_with_questions, open311
):
    data = body_json(open311.get("services/0101.json"))

    assert data["service_code"] == "0101"
    pile, smell = data["attributes"]
    assert list(pile) == [*ATTRIBUTE_FIELDS, "values"]
    assert pile["code"] == "PILE"
    assert pile["variable"] is True
    assert pile["datatype"] == "singlevaluelist"
    assert pile["required"] is True
    assert pile["order"] == 1
    assert pile["description"] == "How much garbage?"
    assert pile["values"] == [
        {"key": "small", "name": "A bag or two"},
        {"key": "large", "name": "A heap"},
    ]
    assert list(smell) == ATTRIBUTE_FIELDS  # no values for a free-text attribute
    assert smell["description"] == "有异味吗"  # no English label: the Chinese one, not nothing


def test_service_definition_xml_has_attribute_and_value_elements(
    world, garbage_with_questions, open311
):
    root = body_xml(open311.get("services/0101.xml"))

    assert root.tag == "service_definition"
    assert [c.tag for c in root] == ["service_code", "attributes"]
    first = root.find("attributes/attribute")
    assert [c.tag for c in first] == [*ATTRIBUTE_FIELDS, "values"]
    assert first.findtext("variable") == "true"
    assert [(v.findtext("key"), v.findtext("name")) for v in first.findall("values/value")] == [
        ("small", "A bag or two"),
        ("large", "A heap"),
    ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_code_is_404(world, open311, fmt):
    assert_error(open311.get(f"services/9999.{fmt}"), 404, fmt, "service_code")


def test_major_class_is_not_a_service(world, open311):
    assert_error(open311.get("services/01.json"), 404, "json", "service_code")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_jurisdiction_is_404(world, open311, fmt):
    with served("310104"):
        response = open311.get(f"services.{fmt}", jurisdiction_id="elsewhere")

    assert_error(response, 404, fmt, "jurisdiction_id")


def test_served_jurisdiction_is_accepted_and_may_be_left_out_when_it_is_the_only_one(
    world, open311
):
    with served("310104"):
        named = open311.get("services.json", jurisdiction_id="310104")
        omitted = open311.get("services.json")

    assert named.status_code == 200
    assert omitted.status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_jurisdiction_id_is_required_when_several_are_served(world, open311, fmt):
    with served("310104", "310105"):
        response = open311.get(f"services/0101.{fmt}")

    assert_error(response, 400, fmt, "jurisdiction_id")


def test_jurisdiction_id_is_refused_when_none_is_configured(world, open311):
    with served():
        response = open311.get("services.json", jurisdiction_id="310104")

    assert_error(response, 404, "json", "jurisdiction_id")


def test_unsupported_format_is_a_400_in_json(world, open311):
    assert_error(open311.get("services.csv"), 400, "json", "csv")


def test_wrong_method_is_405_in_the_error_shape(world, open311):
    response = open311.client.delete("/open311/v2/services.xml")

    assert_error(response, 405, "xml")
    assert response["Allow"] == "GET"
