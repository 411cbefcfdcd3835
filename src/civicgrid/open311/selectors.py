"""Reads behind the Open311 endpoint: public data only, the same for every client."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from civicgrid.cases.models import (
    FINAL_STATES,
    AssignmentRole,
    AttachmentKind,
    Case,
    CaseAssignment,
    CaseAttachment,
    CaseEvent,
    Category,
)
from civicgrid.core.errors import NotFound

# Timeline rows whose note is public Open311 `status_notes`: the reason a case was rejected
# (as on the public tracking page) and what an imported case's own system said about it.
PUBLIC_NOTE_ACTIONS = ("reject", "external_sync")


def service_list() -> QuerySet[Category]:
    """Services are the active minor classes; the major class is their group."""
    return (
        Category.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True)
        .select_related("parent")
        .order_by("code")
    )


def service_get(*, code: str) -> Category:
    category = service_list().filter(code=code).first()
    if category is None:
        raise NotFound(
            _("service_code %(code)s was not found.") % {"code": code}, field="service_code"
        )
    return category


@dataclass(frozen=True)
class RequestFilters:
    ids: list[str] | None = None  # overrides every other filter, as the spec says
    service_codes: list[str] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    statuses: list[str] | None = None  # "open" and/or "closed"

    def apply(self, qs: QuerySet[Case]) -> QuerySet[Case]:
        if self.ids is not None:
            return qs.filter(number__in=self.ids)
        if self.service_codes:
            qs = qs.filter(category__code__in=self.service_codes)
        if self.start is not None:
            qs = qs.filter(reported_at__gte=self.start)
        if self.end is not None:
            qs = qs.filter(reported_at__lte=self.end)
        if self.statuses and set(self.statuses) != {"open", "closed"}:
            final = Q(state__in=FINAL_STATES)
            qs = qs.filter(final if "closed" in self.statuses else ~final)
        return qs


def _with_related(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related("category", "merged_into").prefetch_related(
        Prefetch(
            "assignments",
            queryset=CaseAssignment.objects.filter(
                active=True, role=AssignmentRole.LEAD
            ).select_related("department"),
            to_attr="open311_leads",
        ),
        Prefetch(
            "timeline",
            queryset=CaseEvent.objects.filter(action__in=PUBLIC_NOTE_ACTIONS, public=True)
            .exclude(note="")
            .order_by("-at", "-id"),
            to_attr="open311_notes",
        ),
        Prefetch(
            "attachments",
            queryset=CaseAttachment.objects.filter(kind=AttachmentKind.PHOTO)
            .select_related("upload")
            .order_by("id"),
            to_attr="open311_photos",
        ),
    )


def request_list_public(*, filters: RequestFilters, limit: int) -> list[Case]:
    qs = filters.apply(Case.objects.all()).order_by("-reported_at", "-id")
    return list(_with_related(qs)[:limit])


def request_get_public(*, service_request_id: str) -> Case:
    case = _with_related(Case.objects.filter(number=service_request_id)).first()
    if case is None:
        raise NotFound(
            _("service_request_id %(id)s was not found.") % {"id": service_request_id},
            field="service_request_id",
        )
    return case


def request_get_by_token(*, token: str) -> Case:
    try:
        value = uuid.UUID(token)
    except ValueError:
        value = None
    case = Case.objects.filter(tracking_token=value).first() if value else None
    if case is None:
        raise NotFound(_("token %(token)s was not found.") % {"token": token}, field="token")
    return case
