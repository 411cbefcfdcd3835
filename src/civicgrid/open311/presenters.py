"""Services and cases as GeoReport v2 dicts, in the spec's field names and order."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

from civicgrid.cases.models import FINAL_STATES, Case, Category, State

from .attributes import attributes_of, localized
from .formats import MIME_TYPES, w3
from .models import META

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's capabilities last changed; bump it with any change to what it serves.
CHANGESET = "2026-11-23T00:00:00+08:00"


def open311_status(case: Case) -> str:
    """Our loop has twelve states; Open311 has two. The detail goes in extended_attributes."""
    return "closed" if case.state in FINAL_STATES else "open"


def discovery_dict(request: HttpRequest) -> dict[str, Any]:
    conf = settings.CIVICGRID
    return {
        "changeset": CHANGESET,
        "contact": conf.get("OPEN311_CONTACT", ""),
        "key_service": conf.get("OPEN311_KEY_SERVICE")
        or _("Ask the administrator of this platform for an API key."),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": request.build_absolute_uri(".").rstrip("/"),
                "changeset": CHANGESET,
                "type": conf.get("OPEN311_ENDPOINT_TYPE", "production"),
                "formats": MIME_TYPES,
            }
        ],
    }


def service_dict(category: Category) -> dict[str, Any]:
    group = localized(category.parent.name, category.parent.name_en) if category.parent else ""
    name = localized(category.name, category.name_en)
    return {
        "service_code": category.code,
        "service_name": name,
        "description": f"{group} / {name}" if group else name,
        "metadata": bool(attributes_of(category)),
        "type": "realtime",  # the case is filed synchronously: POST returns its id at once
        "keywords": category.kind,
        "group": group,
    }


def _status_notes(case: Case) -> str | None:
    if case.state == State.MERGED and case.merged_into_id and case.merged_into:
        return _("Duplicate of case %(number)s.") % {"number": case.merged_into.number}
    notes = getattr(case, "open311_notes", None) or []
    return notes[0].note if notes else None


def _media_url(case: Case, request: HttpRequest) -> str | None:
    meta = case.extra.get(META, {}) if isinstance(case.extra, dict) else {}
    if meta.get("media_url"):
        return meta["media_url"]
    photos = getattr(case, "open311_photos", None) or []
    return request.build_absolute_uri(photos[0].upload.file.url) if photos else None


def request_dict(case: Case, request: HttpRequest) -> dict[str, Any]:
    """One service request as GET requests returns it. No reporter data, ever."""
    leads = getattr(case, "open311_leads", None) or []
    return {
        "service_request_id": case.number,
        "status": open311_status(case),
        "status_notes": _status_notes(case),
        "service_name": localized(case.category.name, case.category.name_en),
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": leads[0].department.name if leads else None,
        "service_notice": None,
        "requested_datetime": w3(case.reported_at),
        "updated_datetime": w3(case.updated_at),
        "expected_datetime": w3(case.deadline),
        "address": case.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": _media_url(case, request),
        "extended_attributes": {
            "civicgrid_state": case.state,
            "civicgrid_state_label": str(case.get_state_display()),
            "overdue": case.overdue,
        },
    }


def created_dict(case: Case, *, duplicates: list[str], account_id: str) -> dict[str, Any]:
    """The POST answer: the id at once (type realtime), and the token for tokens/{token}."""
    notice = _("Filed as case %(number)s.") % {"number": case.number}
    if duplicates:
        notice += " " + _("Similar open cases nearby: %(numbers)s.") % {
            "numbers": ", ".join(duplicates)
        }
    return {
        "service_request_id": case.number,
        "token": str(case.tracking_token),
        "service_notice": notice,
        "account_id": account_id or None,
    }
