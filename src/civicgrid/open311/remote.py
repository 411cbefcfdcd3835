"""Service requests as another city's GeoReport v2 endpoint returns them, parsed from JSON or XML."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from civicgrid.core.errors import ValidationFailed

STATUSES = ("open", "closed")


@dataclass(frozen=True)
class RemoteRequest:
    service_request_id: str
    service_code: str
    status: str
    service_name: str = ""
    status_notes: str = ""
    description: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    media_url: str = ""
    agency_responsible: str = ""
    requested_datetime: dt.datetime | None = None
    updated_datetime: dt.datetime | None = None


class RemoteError(Exception):
    """The remote endpoint answered with the spec's error list, or with something unreadable."""


def _text(value: Any) -> str:
    # NUL has no place in text and PostgreSQL refuses it: drop it rather than fail the import.
    return "" if value is None else str(value).replace("\x00", "").strip()


def _float(value: Any) -> float | None:
    try:
        number = float(_text(value))
    except ValueError:
        return None
    return number if number == number else None  # NaN is no place


def _datetime(value: Any) -> dt.datetime | None:
    try:
        return parse_datetime(_text(value))
    except ValueError:
        return None


def request_from_fields(fields: dict[str, Any]) -> RemoteRequest:
    ident = _text(fields.get("service_request_id"))
    if not ident:
        raise ValidationFailed(
            _("A service request has no service_request_id."), field="service_request_id"
        )
    status = _text(fields.get("status")).lower()
    if status not in STATUSES:
        raise ValidationFailed(
            _("Service request %(id)s has status '%(status)s', not open or closed.")
            % {"id": ident, "status": status},
            field="status",
        )
    return RemoteRequest(
        service_request_id=ident,
        service_code=_text(fields.get("service_code")),
        status=status,
        service_name=_text(fields.get("service_name")),
        status_notes=_text(fields.get("status_notes")),
        description=_text(fields.get("description")),
        address=_text(fields.get("address")),
        lat=_float(fields.get("lat")),
        lon=_float(fields.get("long")),
        media_url=_text(fields.get("media_url")),
        agency_responsible=_text(fields.get("agency_responsible")),
        requested_datetime=_datetime(fields.get("requested_datetime")),
        updated_datetime=_datetime(fields.get("updated_datetime")),
    )


def _xml_root(body: bytes) -> ET.Element:
    # A DTD is never needed for GeoReport and is how entity-expansion attacks arrive.
    if b"<!DOCTYPE" in body[:2048].upper() or b"<!ENTITY" in body.upper():
        raise RemoteError(_("The XML document declares a DTD; refused."))
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise RemoteError(_("Unreadable XML: %(error)s") % {"error": exc}) from None


def _errors_text(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{_text(e.get('code'))} {_text(e.get('description'))}" for e in errors)


def parse_errors(body: bytes, fmt: str) -> str:
    """The description of a spec error response, or the start of whatever came instead."""
    try:
        if fmt == "xml":
            root = _xml_root(body)
            items = [{c.tag: c.text for c in e} for e in root.iter("error")]
        else:
            items = [e for e in json.loads(body) if isinstance(e, dict)]
    except (RemoteError, ValueError, TypeError):
        items = []
    return _errors_text(items) if items else body[:200].decode("utf-8", "replace")


def parse_requests(body: bytes, fmt: str) -> list[dict[str, Any]]:
    """Each `request` of a GET requests response as a dict of its fields (strings or values)."""
    if fmt == "xml":
        root = _xml_root(body)
        if root.tag == "errors":
            raise RemoteError(parse_errors(body, fmt))
        if root.tag != "service_requests":
            raise RemoteError(_("Expected <service_requests>, got <%(tag)s>.") % {"tag": root.tag})
        return [{child.tag: child.text for child in req} for req in root.findall("request")]
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise RemoteError(_("Unreadable JSON: %(error)s") % {"error": exc}) from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise RemoteError(_("Expected a JSON list of service requests."))
    if data and set(data[0]) <= {"code", "description"}:
        raise RemoteError(_errors_text(data))
    return data
