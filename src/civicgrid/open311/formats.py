"""GeoReport v2 wire formats: the same data as JSON or XML, w3 datetimes, and the error shape."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}
MIME_TYPES = ["text/xml", "application/json"]

# In XML a list is an element holding one child per item; these are the children's names.
XML_ITEM_TAGS = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def w3(value: dt.datetime | None) -> str | None:
    """A datetime as the spec's W3C profile of ISO 8601, with the local UTC offset."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if value is None:
        return
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _append(element, XML_ITEM_TAGS[tag], item)
    else:
        element.text = str(value)


def to_xml(data: Any, *, root: str, item: str | None = None) -> bytes:
    """`data` is a dict (fields of `root`) or a list (one `item` element per entry)."""
    top = ET.Element(root)
    if isinstance(data, list):
        assert item is not None, "a list needs an item tag"
        for entry in data:
            _append(top, item, entry)
    else:
        for key, value in data.items():
            _append(top, key, value)
    return XML_DECLARATION + ET.tostring(top, encoding="unicode").encode()


def render(
    fmt: str, data: Any, *, root: str, item: str | None = None, status: int = 200
) -> HttpResponse:
    if fmt == "xml":
        body = to_xml(data, root=root, item=item)
    else:
        body = json.dumps(data, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, status: int, description: str) -> HttpResponse:
    """The spec's error list: `[{"code": 400, "description": "..."}]` or `<errors><error>`."""
    errors = [{"code": status, "description": description}]
    return render(fmt, errors, root="errors", item="error", status=status)
