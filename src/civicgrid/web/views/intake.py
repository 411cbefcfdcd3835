"""The hotline operator's fast intake form: a 12345 call becomes a case in one screen."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import trigger_client_event

from civicgrid.cases import services
from civicgrid.cases.models import Source
from civicgrid.cases.selectors import case_list_visible_to
from civicgrid.core.errors import DomainError

from ..forms import ReportForm
from ..selectors import category_tree, grid_features, grids_visible_to
from .common import (
    INTAKE_ROLES,
    StaffRequest,
    error_status,
    form_response,
    roles_required,
    show_domain_error,
)
from .public import REPORT_FIELDS


def _recent(user: Any) -> list[Any]:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return list(case_list_visible_to(user=user).filter(reporter=user, reported_at__gte=start)[:20])


def _context(form: ReportForm, **extra: Any) -> dict[str, Any]:
    return {"form": form, "tree": category_tree(), **extra}


@roles_required(*INTAKE_ROLES)
@require_http_methods(["GET", "POST"])
def intake(request: StaffRequest) -> HttpResponse:
    user = request.user
    if request.method == "GET":
        form = ReportForm(variant="intake")
        return render(request, "web/intake.html", _context(form, recent=_recent(user)))
    form = ReportForm(request.POST, variant="intake")
    exc = None
    if form.is_valid():
        d = form.cleaned_data
        try:
            created = services.case_create(
                actor=user,
                source=Source.HOTLINE,
                category=d["category"],
                description=d["description"],
                lon=d["lon"],
                lat=d["lat"],
                crs=d["crs"] or "wgs84",
                urgency=d["urgency"],
                address=d["address"],
                reporter_name=d["reporter_name"],
                reporter_phone=d["reporter_phone"],
            )
        except DomainError as e:
            exc = e
            show_domain_error(form, e, REPORT_FIELDS)
        else:
            # A fresh form for the next call, with the number to read out to this caller.
            context = _context(
                ReportForm(variant="intake"), filed=created.case, duplicates=created.duplicates
            )
            if request.htmx:
                response = render(request, "web/partials/report_form.html", context)
                return trigger_client_event(response, "case-filed")
            context["recent"] = _recent(user)
            return render(request, "web/intake.html", context)
    return form_response(
        request,
        page="web/intake.html",
        partial="web/partials/report_form.html",
        context=_context(form, recent=_recent(user)),
        status=error_status(form, exc),
        target="#report-form",
    )


@roles_required(*INTAKE_ROLES)
@require_GET
def intake_recent(request: StaffRequest) -> HttpResponse:
    return render(request, "web/partials/recent_calls.html", {"recent": _recent(request.user)})


@roles_required(*INTAKE_ROLES)
@require_GET
def place_search(request: StaffRequest) -> HttpResponse:
    """Address search without a geocoder: grid names and addresses of earlier cases."""
    text = (request.GET.get("q") or request.GET.get("address") or "").strip()
    places: list[dict[str, Any]] = []
    if len(text) >= 1:
        grids = grids_visible_to(user=request.user).filter(
            Q(name__icontains=text) | Q(code__icontains=text)
        )
        for feature in grid_features(grids[:5])["features"]:
            p = feature["properties"]
            places.append(
                {
                    "label": f"{p['name']} ({p['code']})",
                    "lon": p["label_lon"],
                    "lat": p["label_lat"],
                }
            )
        seen: set[str] = set()
        rows = (
            case_list_visible_to(user=request.user)
            .filter(address__icontains=text)
            .values_list("address", "lon", "lat")[:40]
        )
        for address, lon, lat in rows:
            if address not in seen and len(seen) < 5:
                seen.add(address)
                places.append({"label": address, "lon": lon, "lat": lat})
    return render(request, "web/partials/place_suggest.html", {"places": places, "q": text})
