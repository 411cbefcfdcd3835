"""The staff map: management grids coloured by open cases, and the cases on them, filterable."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from civicgrid.cases.models import State
from civicgrid.cases.selectors import CaseFilters, case_list_visible_to

from ..forms import CaseFilterForm
from ..selectors import ACTIVE_STATES, case_features, grid_features, grids_visible_to
from .common import STAFF, StaffRequest, paginate, roles_required

MAX_POINTS = 5000


def _filtered(request: StaffRequest) -> tuple[CaseFilterForm, Any]:
    user = request.user
    grids = [(g.code, g.name or g.code) for g in grids_visible_to(user=user)]
    form = CaseFilterForm(request.GET or None, grids=grids)
    extra = form.filters() if form.is_bound else {}
    state = form.cleaned_data.get("state") if form.is_bound and form.is_valid() else ""
    states = [state] if state in State.values else ACTIVE_STATES
    qs = case_list_visible_to(user=user, filters=CaseFilters(state=states, **extra))
    return form, qs


@roles_required(*STAFF)
@require_GET
def map_page(request: StaffRequest) -> HttpResponse:
    form, qs = _filtered(request)
    context = {"filter_form": form, "page": paginate(request, qs)}
    if request.htmx and request.GET.get("partial") == "list":
        return render(request, "web/partials/map_list.html", context)
    return render(request, "web/map.html", context)


@roles_required(*STAFF)
@require_GET
def grids_geojson(request: StaffRequest) -> JsonResponse:
    grids = grids_visible_to(user=request.user)
    return JsonResponse(grid_features(grids, counts_for=request.user))


@roles_required(*STAFF)
@require_GET
def cases_geojson(request: StaffRequest) -> JsonResponse:
    _form, qs = _filtered(request)
    return JsonResponse(case_features(qs.select_related("category")[:MAX_POINTS]))
