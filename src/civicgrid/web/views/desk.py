"""Desk pages: the dispatcher's and station head's queues, and the department handler's queue."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from civicgrid.cases import services
from civicgrid.cases.selectors import CaseFilters, case_get_visible_to
from civicgrid.cases.workflow import TRANSITIONS
from civicgrid.core.errors import DomainError, NotFound

from ..forms import CaseFilterForm
from ..selectors import DEPT_QUEUES, DESK_QUEUES, Queue, grids_visible_to, queue_cases, queue_counts
from .common import DEPT_ROLES, DESK_ROLES, STAFF, StaffRequest, paginate, roles_required


def _grid_choices(user: Any) -> list[tuple[str, str]]:
    return [(g.code, g.name or g.code) for g in grids_visible_to(user=user)]


def _role_may(user: Any, action: str) -> bool:
    return any(user.role in rule.roles for (_s, a), rule in TRANSITIONS.items() if a == action)


def _queue_page(
    request: StaffRequest, queues: list[Queue], template: str, title: str
) -> HttpResponse:
    user = request.user
    counts = queue_counts(user=user, queues=queues)
    by_key = {q.key: q for q in queues}
    key = request.GET.get("queue")
    if key not in by_key:
        key = next((q.key for q in queues if counts[q.key]), queues[0].key)
    queue = by_key[key]
    form = CaseFilterForm(request.GET or None, grids=_grid_choices(user))
    filters = CaseFilters(**form.filters()) if form.is_bound else None
    page = paginate(request, queue_cases(user=user, queue=queue, filters=filters))
    quick = queue.quick if queue.quick and _role_may(user, queue.quick) else ""
    context = {
        "title": title,
        "queues": queues,
        "counts": counts,
        "queue": queue,
        "page": page,
        "filter_form": form,
        "quick": quick,
    }
    if request.htmx and request.GET.get("partial") == "queue":
        return render(request, "web/partials/queue.html", context)
    return render(request, template, context)


@roles_required(*DESK_ROLES)
def desk(request: StaffRequest) -> HttpResponse:
    return _queue_page(request, DESK_QUEUES, "web/desk.html", "desk")


@roles_required(*DEPT_ROLES)
def dept(request: StaffRequest) -> HttpResponse:
    return _queue_page(request, DEPT_QUEUES, "web/dept.html", "dept")


QUICK = {
    "accept": services.case_accept,
    "take": services.case_take,
    "close": services.case_close,
}


@roles_required(*STAFF)
@require_POST
def quick_action(request: StaffRequest, number: str, action: str) -> HttpResponse:
    """One-tap actions from a list row (accept, take, close); the row is swapped in place."""
    do = QUICK.get(action)
    if do is None:
        raise Http404(action)
    try:
        case = case_get_visible_to(user=request.user, number=number)
    except NotFound:
        raise Http404(number) from None
    error, status = "", 200
    try:
        case = do(case=case, actor=request.user)
    except DomainError as exc:
        error, status = exc.message, exc.status
    case = case_get_visible_to(user=request.user, number=number)
    return render(
        request,
        "web/partials/case_row.html",
        {"case": case, "row_error": error, "row_done": not error, "quick": action},
        status=status,
    )
