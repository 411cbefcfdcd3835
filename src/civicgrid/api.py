"""The REST API: one NinjaAPI, a router per app, domain errors mapped to HTTP statuses."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from civicgrid.accounts.api import router as accounts_router
from civicgrid.accounts.auth import STAFF_AUTH
from civicgrid.cases.api import public_router as public_cases_router
from civicgrid.cases.api import router as cases_router
from civicgrid.core.errors import DomainError
from civicgrid.geo.api import router as geo_router
from civicgrid.hotspots.api import router as hotspots_router
from civicgrid.ingest.api import router as ingest_router
from civicgrid.metrics.api import router as metrics_router

api = NinjaAPI(
    title="civicgrid API",
    version="1",
    description="Community grid governance: cases, places, grids. Token (Bearer) or session auth.",
    auth=STAFF_AUTH,
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = [
            str(p)
            for p in err.get("loc", ())
            if p not in ("body", "payload", "query", "path", "form")
        ]
        errors.append({"field": ".".join(loc), "message": str(err.get("msg", ""))})
    first = errors[0] if errors else {"field": None, "message": gettext("The input is not valid.")}
    detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return api.create_response(
        request,
        {
            "code": "validation_failed",
            "detail": detail,
            "field": first["field"] or None,
            "errors": errors,
        },
        status=422,
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {
            "code": "unauthenticated",
            "detail": gettext("Sign in or send a valid Bearer token."),
            "field": None,
        },
        status=401,
    )


api.add_router("/cases", cases_router)
api.add_router("/public", public_cases_router)
api.add_router("/geo", geo_router)
api.add_router("/hotspots", hotspots_router)
api.add_router("/metrics", metrics_router)
api.add_router("/ingest", ingest_router)
api.add_router("/", accounts_router)
