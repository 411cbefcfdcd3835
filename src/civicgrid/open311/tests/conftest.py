from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client

from civicgrid.open311.services import api_key_create

BASE = "/open311/v2"

QUESTIONS = [
    {
        "code": "PILE",
        "label": "垃圾量",
        "label_en": "How much garbage?",
        "datatype": "singlevaluelist",
        "required": True,
        "values": [
            {"key": "small", "name": "少量", "name_en": "A bag or two"},
            {"key": "large", "name": "大量", "name_en": "A heap"},
        ],
    },
    {"code": "SMELL", "label": "有异味吗", "datatype": "string", "required": False},
]


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    # LocMem outlives a test's database rollback; counters must not leak between tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def garbage_with_questions(world):
    category = world.categories["garbage"]
    category.questions = QUESTIONS
    category.save(update_fields=["questions"])
    return category


def make_key(world, *, name: str = "FixMyStreet", rate: int = 100, source: str = "api") -> str:
    _key, raw = api_key_create(
        actor=world.user("admin"),
        name=name,
        user=world.user("operator"),
        source=source,
        rate_limit_per_minute=rate,
    )
    return raw


@pytest.fixture
def api_key(world) -> str:
    return make_key(world)


class ThirdParty:
    """A 311 client: plain GETs and form-encoded POSTs, nothing of ours (no session, no CSRF)."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")

    def get(self, path: str, **params: Any):
        return self.client.get(f"{BASE}/{path}", params)

    def post(self, path: str, data: dict[str, Any]):
        # Django's test client would send a dict as multipart; 311 clients send urlencoded forms.
        return self.client.post(
            f"{BASE}/{path}",
            urlencode(data, doseq=True),
            content_type="application/x-www-form-urlencoded",
        )


@pytest.fixture
def open311() -> ThirdParty:
    return ThirdParty()


def body_json(response) -> Any:
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def body_xml(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)


def assert_error(response, status: int, fmt: str, mentions: str = "") -> str:
    """The spec's error shape, in either format; returns the description."""
    assert response.status_code == status, response.content
    if fmt == "json":
        errors = body_json(response)
        assert isinstance(errors, list) and len(errors) == 1
        assert set(errors[0]) == {"code", "description"}
        assert errors[0]["code"] == status
        description = errors[0]["description"]
    else:
        root = body_xml(response)
        assert root.tag == "errors"
        (error,) = list(root)
        assert error.tag == "error"
        assert [c.tag for c in error] == ["code", "description"]
        assert error.findtext("code") == str(status)
        description = error.findtext("description") or ""
    assert mentions in description, description
    return description
