"""The grid inspector's phone pages: today's work, the grid's open cases, the patrol report."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from civicgrid.cases import services
from civicgrid.cases.models import State
from civicgrid.cases.selectors import case_list_visible_to
from civicgrid.core.errors import DomainError, NotFound, ValidationFailed

from ..forms import ReportForm
from ..selectors import category_tree, due_today, open_cases
from .common import (
    PATROL_ROLES,
    StaffRequest,
    error_status,
    form_response,
    go,
    roles_required,
    show_domain_error,
)
from .common import take_photos as _take_photos
from .public import REPORT_FIELDS


@roles_required(*PATROL_ROLES)
def patrol(request: StaffRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "web/patrol.html",
        {
            "due": list(due_today(user=user)[:50]),
            "to_verify": list(case_list_visible_to(user=user).filter(state=State.HANDLED)[:50]),
            "open": list(open_cases(user=user)[:200]),
        },
    )


def _context(form: ReportForm) -> dict[str, Any]:
    return {"form": form, "tree": category_tree()}


def _file(user: Any, data: dict[str, Any], photos: list[str]) -> Any:
    """File the case and, if the inspector fixed it already, close it in the same transaction."""
    with transaction.atomic():
        created = services.case_create(
            actor=user,
            category=data["category"],
            description=data["description"],
            lon=data["lon"],
            lat=data["lat"],
            crs=data["crs"] or "wgs84",
            urgency=data["urgency"],
            address=data["address"],
            photos=photos,
        )
        if data["fixed_on_spot"]:
            try:
                services.case_self_handle(
                    case=created.case, actor=user, note=data["fix_note"] or data["description"]
                )
            except NotFound:
                raise ValidationFailed(
                    _("You can fix on the spot only inside your own grid."), field="fixed_on_spot"
                ) from None
    return created.case


@roles_required(*PATROL_ROLES)
@require_http_methods(["GET", "POST"])
def patrol_report(request: StaffRequest) -> HttpResponse:
    user = request.user
    if request.method == "GET":
        return render(request, "web/patrol_report.html", _context(ReportForm(variant="patrol")))
    form = ReportForm(request.POST, request.FILES, variant="patrol")
    valid = form.is_valid()
    photos = _take_photos(request, form, actor=user)
    exc = None
    if valid and not form.errors:
        try:
            case = _file(user, form.cleaned_data, photos)
        except DomainError as e:
            exc = e
            show_domain_error(form, e, REPORT_FIELDS)
        else:
            if case.state == State.CLOSED:
                messages.success(
                    request, _("Case %(n)s filed and closed as fixed.") % {"n": case.number}
                )
            else:
                messages.success(request, _("Case %(n)s filed.") % {"n": case.number})
            return go(request, reverse("web:patrol"))
    return form_response(
        request,
        page="web/patrol_report.html",
        partial="web/partials/report_form.html",
        context=_context(form),
        status=error_status(form, exc),
        target="#report-form",
    )
