"""The operations screen (一屏观天下): one page, refreshed by polling, drilled into by clicking."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from civicgrid.accounts.models import Role
from civicgrid.core.errors import NotFound
from civicgrid.web.views.common import StaffRequest, roles_required

from . import screen

SCREEN_ROLES = (Role.OPS_CENTER, Role.ADMIN, Role.STATION_HEAD)
REFRESH_SECONDS = 10


def _target(request: StaffRequest) -> Any:
    try:
        return screen.screen_target(
            user=request.user, region=request.GET.get("region"), grid=request.GET.get("grid")
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _context(request: StaffRequest) -> dict[str, Any]:
    target = _target(request)
    return {
        "target": target,
        "data": screen.screen_data(user=request.user, target=target),
        "crumbs": screen.breadcrumbs(user=request.user, target=target),
        "query": request.GET.urlencode(),
        "refresh_seconds": REFRESH_SECONDS,
    }


@roles_required(*SCREEN_ROLES)
@require_GET
def screen_page(request: StaffRequest) -> HttpResponse:
    context = _context(request)
    context["labels"] = screen.labels()
    return render(request, "metrics/screen.html", context)


@roles_required(*SCREEN_ROLES)
@require_GET
def screen_panel(request: StaffRequest) -> HttpResponse:
    """The live part of the screen, polled by htmx; its JSON block feeds the charts and map."""
    return render(request, "metrics/partials/screen_live.html", _context(request))


@roles_required(*SCREEN_ROLES)
@require_GET
def screen_json(request: StaffRequest) -> JsonResponse:
    target = _target(request)
    return JsonResponse(screen.screen_data(user=request.user, target=target))


@roles_required(*SCREEN_ROLES)
@require_GET
def screen_grids(request: StaffRequest) -> JsonResponse:
    return JsonResponse(screen.grid_features(target=_target(request)))
