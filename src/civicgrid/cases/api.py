"""Case endpoints: parse, call a service, render. Scoping lives in selectors, rules in services."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from civicgrid.accounts.auth import OPTIONAL_AUTH, actor_of, staff_user
from civicgrid.accounts.models import Department
from civicgrid.core.errors import NotFound, ValidationFailed
from civicgrid.core.routers import reads_from_replica

from . import services
from .models import Case, CaseAttachment, Category
from .presenters import case_detail_dict, case_dict, event_dict, public_case_dict
from .schemas import (
    CaseCreatedOut,
    CaseDetailOut,
    CaseIn,
    CaseOut,
    CategoryOut,
    DispatchIn,
    EventOut,
    ExtendIn,
    FeedbackIn,
    HandledIn,
    MergeIn,
    NoteIn,
    PublicCaseOut,
    ReasonIn,
    SelfHandleIn,
    TokenFeedbackIn,
    TokenReopenIn,
    TransferIn,
    UploadOut,
    VerifyIn,
)
from .selectors import (
    HEAVY_RELATED,
    CaseFilters,
    case_get_public,
    case_get_visible_to,
    case_list_visible_to,
)

router = Router(tags=["cases"])
public_router = Router(tags=["public"], auth=OPTIONAL_AUTH)


class CaseFilterQuery(Schema):
    state: list[str] | None = None
    category: str | None = None
    grid: str | None = None
    region: str | None = None
    department: str | None = None
    overdue: bool | None = None
    source: str | None = None
    reported_from: dt.datetime | None = None
    reported_to: dt.datetime | None = None
    q: str | None = None
    escalation_level: str | None = None


@router.get("", response=list[CaseOut], summary="List cases visible to the caller")
@reads_from_replica  # a read replica may answer lists and details (core/routers.py)
@paginate(LimitOffsetPagination)
def list_cases(request: HttpRequest, filters: Query[CaseFilterQuery]) -> Any:
    qs = case_list_visible_to(user=staff_user(request), filters=CaseFilters(**filters.dict()))
    return _ListAsDicts(qs.select_related("merged_into"))


class _ListAsDicts:
    """Lets the paginator slice the queryset, then renders only that page."""

    def __init__(self, qs: Any) -> None:
        self.qs = qs

    def __len__(self) -> int:
        return self.qs.count()

    def count(self) -> int:
        return self.qs.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [case_dict(c) for c in self.qs[item]]


def _created(request: HttpRequest, payload: CaseIn) -> Status:
    token = getattr(request, "api_token", None)
    source = payload.source or (token.source if token is not None else None)
    created = services.case_create(
        actor=actor_of(request), source=source, **payload.dict(exclude={"source"})
    )
    # One query for the grids and region the answer names, not one lazy load each (issue 6).
    case = (
        Case.objects.select_related("category", "management_grid", "unit_grid", "region")
        .defer(*HEAVY_RELATED)
        .get(pk=created.case.pk)
    )
    return Status(
        201,
        {
            "case": case_dict(case),
            "tracking_token": created.case.tracking_token,
            "duplicates": [
                {
                    "number": d.case.number,
                    "state": d.case.state,
                    "description": d.case.description,
                    "distance_m": round(d.distance_m, 1),
                    "reported_at": d.case.reported_at,
                }
                for d in created.duplicates
            ],
        },
    )


@router.post("", response={201: CaseCreatedOut}, auth=OPTIONAL_AUTH, summary="Report a case")
def create_case(request: HttpRequest, payload: CaseIn) -> Status:
    return _created(request, payload)


@router.get("/categories", response=list[CategoryOut], auth=OPTIONAL_AUTH)
def categories(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": c.code,
            "name": c.name,
            "name_en": c.name_en,
            "kind": c.kind,
            "parent": c.parent.code if c.parent else None,
            "default_department": c.default_department.code if c.default_department else None,
        }
        for c in Category.objects.filter(is_active=True).select_related(
            "parent", "default_department"
        )
    ]


@router.post("/uploads", response={201: UploadOut}, auth=OPTIONAL_AUTH, summary="Upload a photo")
def upload(request: HttpRequest, file: File[UploadedFile]) -> Status:
    return Status(201, services.upload_create(file=file, actor=actor_of(request)))


@router.get("/{number}", response=CaseDetailOut)
@reads_from_replica
def get_case(request: HttpRequest, number: str) -> dict[str, Any]:
    case = case_get_visible_to(user=staff_user(request), number=number)
    return case_detail_dict(case, staff_user(request))


@router.get("/{number}/timeline", response=list[EventOut])
@reads_from_replica
def timeline(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    case = case_get_visible_to(user=staff_user(request), number=number)
    events = case.timeline.select_related("actor").prefetch_related(
        Prefetch("attachments", queryset=CaseAttachment.objects.select_related("upload"))
    )
    return [event_dict(e) for e in events]


def _detail(request: HttpRequest, number: str) -> dict[str, Any]:
    user = staff_user(request)
    return case_detail_dict(case_get_visible_to(user=user, number=number), user)


def _act(
    request: HttpRequest, number: str, service: Callable[..., Any], **kwargs: Any
) -> dict[str, Any]:
    """Run one workflow service on a case the caller can see, then render it as they see it now."""
    user = staff_user(request)
    service(case=case_get_visible_to(user=user, number=number), actor=user, **kwargs)
    return _detail(request, number)


def _department(code: str, field: str) -> Department:
    dept = Department.objects.filter(code=code).first()
    if dept is None:
        raise ValidationFailed(_("Unknown department '%(c)s'.") % {"c": code}, field=field)
    return dept


@router.post("/{number}/accept", response=CaseDetailOut)
def accept(request: HttpRequest, number: str, payload: NoteIn) -> dict[str, Any]:
    return _act(request, number, services.case_accept, note=payload.note)


@router.post("/{number}/reject", response=CaseDetailOut)
def reject(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    return _act(request, number, services.case_reject, reason=payload.reason)


@router.post("/{number}/merge", response=CaseDetailOut)
def merge(request: HttpRequest, number: str, payload: MergeIn) -> dict[str, Any]:
    case = case_get_visible_to(user=staff_user(request), number=number)
    try:
        into = case_get_visible_to(user=staff_user(request), number=payload.into)
    except NotFound as e:
        raise NotFound(e.message, field="into") from None
    services.case_merge(case=case, into=into, actor=staff_user(request), note=payload.note)
    return _detail(request, number)


@router.post("/{number}/dispatch", response=CaseDetailOut)
def dispatch(request: HttpRequest, number: str, payload: DispatchIn) -> dict[str, Any]:
    case = case_get_visible_to(user=staff_user(request), number=number)
    services.case_dispatch(
        case=case,
        lead=_department(payload.lead, "lead"),
        co_handlers=[_department(c, "co_handlers") for c in payload.co_handlers],
        actor=staff_user(request),
        note=payload.note,
    )
    return _detail(request, number)


@router.post("/{number}/take", response=CaseDetailOut)
def take(request: HttpRequest, number: str, payload: NoteIn) -> dict[str, Any]:
    return _act(request, number, services.case_take, note=payload.note)


@router.post("/{number}/report-handled", response=CaseDetailOut)
def report_handled(request: HttpRequest, number: str, payload: HandledIn) -> dict[str, Any]:
    return _act(
        request, number, services.case_report_handled, note=payload.note, evidence=payload.evidence
    )


@router.post("/{number}/return", response=CaseDetailOut)
def return_case(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    return _act(request, number, services.case_return, reason=payload.reason)


@router.post("/{number}/verify", response=CaseDetailOut)
def verify(request: HttpRequest, number: str, payload: VerifyIn) -> dict[str, Any]:
    return _act(
        request,
        number,
        services.case_verify,
        ok=payload.ok,
        note=payload.note,
        photos=payload.photos,
    )


@router.post("/{number}/close", response=CaseDetailOut)
def close(request: HttpRequest, number: str, payload: NoteIn) -> dict[str, Any]:
    return _act(request, number, services.case_close, note=payload.note)


@router.post("/{number}/reopen", response=CaseDetailOut)
def reopen(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    return _act(request, number, services.case_reopen, reason=payload.reason)


@router.post("/{number}/transfer", response=CaseDetailOut)
def transfer(request: HttpRequest, number: str, payload: TransferIn) -> dict[str, Any]:
    case = case_get_visible_to(user=staff_user(request), number=number)
    services.case_transfer(
        case=case, actor=staff_user(request), grid_code=payload.grid, reason=payload.reason
    )
    # After a transfer the case may be outside the caller's jurisdiction.
    return _detail_or_public(request, number)


def _detail_or_public(request: HttpRequest, number: str) -> dict[str, Any]:
    try:
        return _detail(request, number)
    except NotFound:
        case = case_get_public(number=number)
        out = case_detail_dict(case, staff_user(request))
        out.update(reporter_name="", reporter_phone="", attachments=[])
        return out


@router.post("/{number}/escalate", response=CaseDetailOut)
def escalate(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    return _act(request, number, services.case_escalate, reason=payload.reason)


@router.post("/{number}/self-handle", response=CaseDetailOut)
def self_handle(request: HttpRequest, number: str, payload: SelfHandleIn) -> dict[str, Any]:
    return _act(
        request, number, services.case_self_handle, note=payload.note, photos=payload.photos
    )


@router.post("/{number}/extend", response=CaseDetailOut)
def extend(request: HttpRequest, number: str, payload: ExtendIn) -> dict[str, Any]:
    return _act(request, number, services.case_extend, until=payload.until, reason=payload.reason)


@router.post("/{number}/suspend", response=CaseDetailOut)
def suspend(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    return _act(request, number, services.case_suspend, reason=payload.reason)


@router.post("/{number}/resume", response=CaseDetailOut)
def resume(request: HttpRequest, number: str, payload: NoteIn) -> dict[str, Any]:
    return _act(request, number, services.case_resume, note=payload.note)


@router.post("/{number}/feedback", response=CaseDetailOut)
def feedback(request: HttpRequest, number: str, payload: FeedbackIn) -> dict[str, Any]:
    return _act(
        request,
        number,
        services.case_feedback,
        satisfaction=payload.satisfaction,
        text=payload.text,
    )


# --- Public: tracking by number, support, and the anonymous reporter's token actions ---


@public_router.get("/cases/{number}", response=PublicCaseOut, summary="Track a case by its number")
def public_case(request: HttpRequest, number: str) -> dict[str, Any]:
    return public_case_dict(case_get_public(number=number))


@public_router.post(
    "/cases/{number}/support", response=PublicCaseOut, summary="Me too: support and follow"
)
def support(request: HttpRequest, number: str) -> dict[str, Any]:
    case = services.case_support(case=case_get_public(number=number), actor=actor_of(request))
    return public_case_dict(case)


@public_router.post("/cases/{number}/feedback", response=PublicCaseOut)
def public_feedback(request: HttpRequest, number: str, payload: TokenFeedbackIn) -> dict[str, Any]:
    case = case_get_public(number=number)
    services.case_feedback(
        case=case,
        actor=actor_of(request),
        satisfaction=payload.satisfaction,
        text=payload.text,
        reporter_token=payload.tracking_token,
    )
    return public_case_dict(case_get_public(number=number))


@public_router.post("/cases/{number}/reopen", response=PublicCaseOut)
def public_reopen(request: HttpRequest, number: str, payload: TokenReopenIn) -> dict[str, Any]:
    case = case_get_public(number=number)
    services.case_reopen(
        case=case,
        actor=actor_of(request),
        reason=payload.reason,
        reporter_token=payload.tracking_token,
    )
    return public_case_dict(case_get_public(number=number))
