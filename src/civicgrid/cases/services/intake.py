"""Filing a new case: place it on its grids, start its clock, suggest likely duplicates."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Role, User
from civicgrid.audit.services import audit_record
from civicgrid.core import clock
from civicgrid.core.errors import NotAllowed, ValidationFailed
from civicgrid.core.text import check_json, clean_text
from civicgrid.geo.coords import CRS, to_wgs84
from civicgrid.geo.locator import get_locator
from civicgrid.geo.models import Region

from .. import hooks, sla
from ..models import (
    OPEN_STATES,
    AttachmentKind,
    Case,
    CaseAttachment,
    CaseEvent,
    Category,
    Source,
    State,
    Upload,
    Urgency,
)
from ..workflow import Action

MAX_PHOTOS = 9
MAX_DESCRIPTION = 4000

# Which sources each role may file under; the first is its default.
SOURCES_BY_ROLE: dict[str, tuple[str, ...]] = {
    Role.RESIDENT: (Source.RESIDENT,),
    Role.INSPECTOR: (Source.PATROL,),
    Role.OPERATOR: (Source.HOTLINE, Source.RESIDENT, Source.OPINION, Source.API),
    Role.DISPATCHER: (
        Source.HOTLINE,
        Source.PATROL,
        Source.RESIDENT,
        Source.OPINION,
        Source.API,
        Source.DEVICE,
    ),
    Role.STATION_HEAD: (
        Source.PATROL,
        Source.HOTLINE,
        Source.RESIDENT,
        Source.OPINION,
        Source.API,
        Source.DEVICE,
    ),
    Role.ADMIN: tuple(Source.values),
}


@dataclass
class Duplicate:
    case: Case
    distance_m: float


@dataclass
class CreatedCase:
    case: Case
    duplicates: list[Duplicate] = field(default_factory=list)


def _resolve_source(actor: User | None, source: str | None) -> str:
    if actor is None or not actor.is_authenticated:
        allowed: tuple[str, ...] = (Source.RESIDENT,)
    else:
        allowed = SOURCES_BY_ROLE.get(actor.role, ())
    if not allowed:
        raise NotAllowed(_("Your role may not file cases."))
    if source is None:
        return allowed[0]
    if source not in allowed:
        raise ValidationFailed(
            _("You may not file a case with source '%(source)s'.") % {"source": source},
            field="source",
        )
    return source


def _resolve_category(category: Category | str) -> Category:
    if isinstance(category, Category):
        return category
    found = Category.objects.filter(code=category, is_active=True).select_related("parent").first()
    if found is None:
        raise ValidationFailed(
            _("Unknown category '%(code)s'.") % {"code": category}, field="category"
        )
    if found.parent_id is None:
        raise ValidationFailed(
            _("Choose a minor class under '%(name)s', not the major class itself.")
            % {"name": found.name},
            field="category",
        )
    return found


def _check_point(lon: float, lat: float) -> None:
    for name, value, bound in (("lon", lon, 180), ("lat", lat, 90)):
        if not isinstance(value, int | float) or math.isnan(value) or not -bound <= value <= bound:
            raise ValidationFailed(
                _("%(name)s must be a number between -%(bound)d and %(bound)d.")
                % {"name": name, "bound": bound},
                field=name,
            )


def _claim_uploads(ids: Sequence[uuid.UUID | str], field_name: str) -> list[Upload]:
    if len(ids) > MAX_PHOTOS:
        raise ValidationFailed(_("At most %(n)d photos.") % {"n": MAX_PHOTOS}, field=field_name)
    wanted = [str(i) for i in ids]
    # Lock only the upload rows: PostgreSQL refuses FOR UPDATE on the outer-joined attachment.
    uploads = list(
        Upload.objects.select_for_update(of=("self",)).filter(
            pk__in=wanted, attachment__isnull=True
        )
    )
    if len(uploads) != len(set(wanted)):
        raise ValidationFailed(_("Unknown or already used upload id."), field=field_name)
    return uploads


def attach_uploads(
    case: Case, event: CaseEvent, ids: Sequence[uuid.UUID | str], kind: str, field_name: str
) -> None:
    for upload in _claim_uploads(ids, field_name):
        CaseAttachment.objects.create(case=case, event=event, upload=upload, kind=kind)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def duplicate_candidates(
    *,
    category_id: int,
    lon: float,
    lat: float,
    at: dt.datetime,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[Duplicate]:
    """Open cases of the same category within the configured distance and time window."""
    radius = settings.CIVICGRID["DUPLICATE_RADIUS_M"]
    window = dt.timedelta(hours=settings.CIVICGRID["DUPLICATE_WINDOW_HOURS"])
    dlat = radius / 111_320
    dlon = radius / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    # Distances are computed on (id, lon, lat, time) rows; only the few nearest become model
    # objects. At a hot spot the box holds hundreds of open cases, and building every one of
    # them cost more than the rest of an intake (bench/bench_intake.py, issue 6).
    rows = (
        Case.objects.filter(
            category_id=category_id,
            state__in=OPEN_STATES,
            reported_at__gte=at - window,
            reported_at__lte=at,
            lat__range=(lat - dlat, lat + dlat),
            lon__range=(lon - dlon, lon + dlon),
        )
        .exclude(pk=exclude_id or 0)
        .values_list("pk", "lon", "lat", "reported_at")[:200]
    )
    near = [(haversine_m(lon, lat, x, y), -when.timestamp(), pk) for pk, x, y, when in rows]
    near = sorted(n for n in near if n[0] <= radius)[:limit]
    if not near:
        return []
    cases = Case.objects.select_related("category").in_bulk([pk for _, _, pk in near])
    return [Duplicate(cases[pk], distance) for distance, _, pk in near if pk in cases]


def case_create(
    *,
    actor: User | None,
    category: Category | str,
    description: str,
    lon: float,
    lat: float,
    crs: str = CRS.WGS84,
    urgency: str = Urgency.NORMAL,
    source: str | None = None,
    address: str = "",
    reporter_name: str = "",
    reporter_phone: str = "",
    photos: Sequence[uuid.UUID | str] = (),
    external_id: str = "",
    extra: dict[str, Any] | None = None,
) -> CreatedCase:
    """File a case from any channel. The point decides the grid; nothing is written if it is bad."""
    source = _resolve_source(actor, source)
    cat = _resolve_category(category)
    description = clean_text(description, field="description")
    address = clean_text(address, field="address", max_length=255)
    reporter_name = clean_text(reporter_name, field="reporter_name", max_length=100)
    reporter_phone = clean_text(reporter_phone, field="reporter_phone", max_length=32)
    external_id = clean_text(external_id, field="external_id", max_length=64)
    check_json(extra or {}, field="extra")
    if not description:
        raise ValidationFailed(_("Describe the problem."), field="description")
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(_("The description is too long."), field="description")
    if urgency not in Urgency.values:
        raise ValidationFailed(_("Unknown urgency '%(u)s'.") % {"u": urgency}, field="urgency")
    _check_point(lon, lat)
    try:
        lon, lat = to_wgs84(lon, lat, crs)
    except ValueError:
        raise ValidationFailed(
            _("Unknown coordinate system '%(crs)s'.") % {"crs": crs}, field="crs"
        ) from None
    where = get_locator().locate(lon, lat)
    now = clock.now()
    # The locator knows the region's path: no query for it on every intake (issue 6).
    region_path = (
        where.region_path
        or Region.objects.filter(pk=where.region_id).values_list("path", flat=True).get()
    )
    try:
        deadline, policy = sla.deadline_for(category=cat, urgency=urgency, start=now)
    except sla.NoSlaPolicy:
        deadline, policy = None, None
    reporter = actor if actor is not None and actor.is_authenticated else None

    with transaction.atomic():
        case = Case.objects.create(
            number=f"T{uuid.uuid4().hex[:19]}",
            source=source,
            category=cat,
            urgency=urgency,
            description=description,
            address=address,
            lon=lon,
            lat=lat,
            management_grid_id=where.management_grid_id,
            unit_grid_id=where.unit_grid_id,
            region_id=where.region_id,
            region_path=region_path,
            reporter=reporter,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            external_id=external_id,
            extra=extra or {},
            reported_at=now,
            deadline=deadline,
            sla_hours=policy.hours if policy else None,
            sla_hour_type=policy.hour_type if policy else "",
        )
        # Numbers come from the id: no counter row for concurrent reporters to queue on.
        case.number = f"{timezone.localtime(now):%Y%m%d}{case.pk:07d}"
        Case.objects.filter(pk=case.pk).update(number=case.number)
        event = CaseEvent.objects.create(
            case=case,
            action=Action.REPORT,
            from_state="",
            to_state=State.REPORTED,
            actor=reporter,
            actor_role=getattr(reporter, "role", ""),
            at=now,
            data={"source": source},
        )
        attach_uploads(case, event, photos, AttachmentKind.PHOTO, "photos")
        hooks.after_commit(event.pk)
        if reporter is not None and reporter.is_staff_role:
            audit_record(
                actor=reporter, action="case.report", obj=case, after={"number": case.number}
            )
    duplicates = duplicate_candidates(
        category_id=cat.pk, lon=lon, lat=lat, at=now, exclude_id=case.pk
    )
    return CreatedCase(case=case, duplicates=duplicates)
