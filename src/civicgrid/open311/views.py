"""The GeoReport v2 endpoint: parse the spec's parameters, call a selector or service, render.

Plain Django views: the `.json`/`.xml` suffix picks the format, POST bodies are form-encoded,
and every refusal is the spec's error list with its HTTP status.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from civicgrid.core import clock
from civicgrid.core.errors import Conflict, DomainError, NotFound, ValidationFailed

from . import presenters, selectors, services
from .attributes import definition_dict
from .formats import CONTENT_TYPES, render, render_errors
from .ratelimit import RateLimited

WINDOW = dt.timedelta(days=90)
ATTRIBUTE = re.compile(r"attribute\[([^\[\]]+)\](?:\[\])?")
# Names our services use for a field, as the 311 client knows it.
FIELD_NAMES = {"lon": "long", "category": "service_code", "location": "lat/long"}

View = Callable[..., HttpResponse]


def _status(exc: DomainError) -> int:
    if isinstance(exc, ValidationFailed | Conflict):
        return 400  # the spec's "invalid data" answer; it knows no 409 or 422
    return exc.status


def _describe(exc: DomainError) -> str:
    field = FIELD_NAMES.get(exc.field or "", exc.field)
    if field and field not in exc.message:
        return f"{field}: {exc.message}"
    return exc.message


def _field_with_nul(request: HttpRequest, path_params: dict[str, Any]) -> str | None:
    """PostgreSQL text cannot hold NUL; such input is refused here, not by the database."""
    for name, value in path_params.items():
        if "\x00" in value:
            return name
    for params in (request.GET, request.POST):
        for name, values in params.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return name.replace("\x00", "")
    return None


def endpoint(*methods: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @csrf_exempt  # third-party clients post forms without our cookie; api_key is the proof
        @wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            if fmt not in CONTENT_TYPES:
                return render_errors(
                    "json",
                    400,
                    _("Format '%(fmt)s' is not served; use json or xml.") % {"fmt": fmt},
                )
            if request.method not in methods:
                response = render_errors(
                    fmt, 405, _("Method %(m)s is not allowed here.") % {"m": request.method}
                )
                response["Allow"] = ", ".join(methods)
                return response
            if (bad := _field_with_nul(request, kwargs)) is not None:
                return render_errors(
                    fmt, 400, _("%(name)s contains a NUL character.") % {"name": bad}
                )
            try:
                return view(request, fmt, **kwargs)
            except RateLimited as exc:
                response = render_errors(fmt, 429, exc.message)
                response["Retry-After"] = str(exc.retry_after)
                return response
            except DomainError as exc:
                return render_errors(fmt, _status(exc), _describe(exc))

        return wrapper

    return decorate


def _check_jurisdiction(params: QueryDict) -> None:
    served = settings.CIVICGRID.get("OPEN311_JURISDICTION_ID") or []
    served = [served] if isinstance(served, str) else list(served)
    given = params.get("jurisdiction_id", "").strip()
    if not given:
        if len(served) > 1:
            raise ValidationFailed(
                _("jurisdiction_id was not provided; this endpoint serves %(ids)s.")
                % {"ids": ", ".join(served)},
                field="jurisdiction_id",
            )
        return
    if given not in served:
        raise NotFound(
            _("jurisdiction_id %(id)s was not found.") % {"id": given}, field="jurisdiction_id"
        )


def _use_key_if_given(request: HttpRequest, params: QueryDict) -> None:
    """Reads are public; a client that sends its key anyway is checked and counted."""
    if "api_key" in params:
        services.api_key_use(raw_key=params.get("api_key", ""))


def _w3_datetime(params: QueryDict, name: str) -> dt.datetime | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
        if value is None and (day := parse_date(raw)) is not None:
            value = dt.datetime.combine(day, dt.time.min)
    except ValueError:
        value = None
    if value is None:
        raise ValidationFailed(
            _("%(name)s must be a w3 datetime such as 2026-05-01T08:30:00+08:00.") % {"name": name},
            field=name,
        )
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _csv(params: QueryDict, name: str) -> list[str] | None:
    items = [v.strip() for v in params.get(name, "").split(",") if v.strip()]
    return items or None


def _coordinate(params: QueryDict, name: str, bound: int) -> float:
    raw = params.get(name, "").strip()
    if not raw:
        raise ValidationFailed(_("%(name)s was not provided.") % {"name": name}, field=name)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise ValidationFailed(
            _("%(name)s must be a number between -%(bound)d and %(bound)d.")
            % {"name": name, "bound": bound},
            field=name,
        )
    return value


def _location(params: QueryDict) -> tuple[float, float]:
    if not params.get("lat", "").strip() and not params.get("long", "").strip():
        if params.get("address_string", "").strip() or params.get("address_id", "").strip():
            raise ValidationFailed(
                _("lat and long are required: this endpoint does not geocode addresses."),
                field="lat/long",
            )
        raise ValidationFailed(_("lat and long were not provided."), field="lat/long")
    return _coordinate(params, "lat", 90), _coordinate(params, "long", 180)


def _attributes(params: QueryDict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in params:
        if match := ATTRIBUTE.fullmatch(name):
            out.setdefault(match.group(1), []).extend(params.getlist(name))
    return out


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    return render(fmt, presenters.discovery_dict(request), root="discovery")


@endpoint("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    _use_key_if_given(request, request.GET)
    _check_jurisdiction(request.GET)
    rows = [presenters.service_dict(c) for c in selectors.service_list()]
    return render(fmt, rows, root="services", item="service")


@endpoint("GET")
def service_definition(request: HttpRequest, fmt: str, service_code: str) -> HttpResponse:
    _use_key_if_given(request, request.GET)
    _check_jurisdiction(request.GET)
    category = selectors.service_get(code=service_code)
    return render(fmt, definition_dict(category), root="service_definition")


def _max_requests() -> int:
    return int(settings.CIVICGRID.get("OPEN311_MAX_REQUESTS", 1000))


def _filters(params: QueryDict) -> selectors.RequestFilters:
    ids = _csv(params, "service_request_id")
    if ids is not None and len(ids) > _max_requests():
        raise ValidationFailed(
            _("At most %(n)d service_request_id values at once.") % {"n": _max_requests()},
            field="service_request_id",
        )
    if ids is not None:
        return selectors.RequestFilters(ids=ids)  # the spec: it overrides every other argument
    statuses = _csv(params, "status")
    for status in statuses or ():
        if status not in ("open", "closed"):
            raise ValidationFailed(
                _("status must be open or closed, not '%(s)s'.") % {"s": status}, field="status"
            )
    start, end = _w3_datetime(params, "start_date"), _w3_datetime(params, "end_date")
    if start and end:
        if start > end:
            raise ValidationFailed(_("start_date must not be after end_date."), field="start_date")
        if end - start > WINDOW:
            raise ValidationFailed(
                _("start_date and end_date may not span more than 90 days."), field="end_date"
            )
    elif start:
        end = start + WINDOW
    elif end:
        start = end - WINDOW
    else:
        end = clock.now()
        start = end - WINDOW
    return selectors.RequestFilters(
        service_codes=_csv(params, "service_code"), start=start, end=end, statuses=statuses
    )


def _request_list(request: HttpRequest, fmt: str) -> HttpResponse:
    _use_key_if_given(request, request.GET)
    _check_jurisdiction(request.GET)
    filters = _filters(request.GET)
    cases = selectors.request_list_public(filters=filters, limit=_max_requests())
    rows = [presenters.request_dict(c, request) for c in cases]
    return render(fmt, rows, root="service_requests", item="request")


def _request_create(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.POST
    key = services.api_key_use(raw_key=params.get("api_key") or request.GET.get("api_key", ""))
    _check_jurisdiction(params)
    service_code = params.get("service_code", "").strip()
    if not service_code:
        raise ValidationFailed(_("service_code was not provided."), field="service_code")
    lat, lon = _location(params)
    contact = services.Contact(
        **{f: params.get(f, "") for f in services.Contact.__dataclass_fields__}
    )
    created = services.service_request_create(
        api_key=key,
        service_code=service_code,
        lat=lat,
        lon=lon,
        description=params.get("description", ""),
        address=params.get("address_string", ""),
        attributes=_attributes(params),
        media_url=params.get("media_url", ""),
        contact=contact,
    )
    row = presenters.created_dict(
        created.case,
        duplicates=[d.case.number for d in created.duplicates],
        account_id=contact.account_id,
    )
    return render(fmt, [row], root="service_requests", item="request")


@endpoint("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _request_create(request, fmt)
    return _request_list(request, fmt)


@endpoint("GET")
def request_detail(request: HttpRequest, fmt: str, service_request_id: str) -> HttpResponse:
    _use_key_if_given(request, request.GET)
    _check_jurisdiction(request.GET)
    case = selectors.request_get_public(service_request_id=service_request_id)
    rows = [presenters.request_dict(case, request)]
    return render(fmt, rows, root="service_requests", item="request")


@endpoint("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    _use_key_if_given(request, request.GET)
    _check_jurisdiction(request.GET)
    case = selectors.request_get_by_token(token=token)
    rows = [{"service_request_id": case.number, "token": token}]
    return render(fmt, rows, root="service_requests", item="request")
