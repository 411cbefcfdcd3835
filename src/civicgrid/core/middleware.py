"""Cross-cutting HTTP guards: rate limits, API input no endpoint can store, security headers.

Both read their configuration from `settings.CIVICGRID` (docs/security.md lists it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django.utils.translation import gettext as _

from . import ratelimit

Handler = Callable[[HttpRequest], HttpResponse]


def too_many_requests(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
    """The 429 in the dialect of the door that was knocked on, always with Retry-After."""
    match = getattr(request, "resolver_match", None)
    response: HttpResponse
    if match is not None and match.view_name.startswith("open311:"):
        from civicgrid.open311.formats import render_errors

        response = render_errors(match.kwargs.get("fmt", "json"), 429, exc.message)
    elif request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        body = {"code": exc.code, "detail": exc.message, "field": None}
        response = HttpResponse(
            json.dumps(body, ensure_ascii=False), status=429, content_type="application/json"
        )
    else:
        response = HttpResponse(
            f"<!doctype html><title>429</title><p>{escape(exc.message)}</p>",
            status=429,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(exc.retry_after)
    return response


class RateLimitMiddleware:
    """Counts requests to the routes of `CIVICGRID["RATE_LIMITS"]["ROUTES"]`; 429 past the limit.

    Runs in process_view, after authentication, so a verified token or a signed-in user is
    counted as themselves and everyone else by IP address.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if not ratelimit.enabled() or request.resolver_match is None:
            return None
        rule = ratelimit.rule_for(
            view_name=request.resolver_match.view_name,
            route=request.resolver_match.route,
            method=request.method or "GET",
        )
        if rule is None:
            return None
        try:
            ratelimit.check(request, rule)
        except ratelimit.RateLimited as exc:
            return too_many_requests(request, exc)
        return None


# PostgreSQL's bigint; Django slices the pagination offset straight into SQL.
_MAX_INT = 2**63 - 1
_PAGINATION = ("limit", "offset")


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ][\d:.]+(Z|[+-]\d{2}:?\d{2}(:?\d{2})?)")
# PostgreSQL stores offsets up to 15:59; the API's parser takes up to 23:59.
_MAX_OFFSET = dt.timedelta(hours=15, minutes=59)


def unstorable(text: str) -> str | None:
    """Why PostgreSQL could not take this text as it is, or None."""
    if "\x00" in text:
        return _("The text contains a NUL character.")
    if len(text) < 40 and _ISO_DATETIME.fullmatch(text.strip()):
        try:
            value = dt.datetime.fromisoformat(text.strip())
            offset = value.utcoffset() or dt.timedelta(0)
            value.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            return None  # not a date after all, or the API refuses it itself
        if abs(offset) > _MAX_OFFSET:
            return _("The time zone offset is out of range.")
    return None


def _unstorable_in(value: Any, path: str) -> tuple[str, str] | None:
    """(where, why) of the first unstorable string in a parsed JSON value, keys included."""
    if isinstance(value, str):
        why = unstorable(value)
        return (path, why) if why else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here.replace("\x00", ""), _("The text contains a NUL character.")
            if (found := _unstorable_in(item, here)) is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := _unstorable_in(item, f"{path}[{i}]")) is not None:
                return found
    return None


def _bad_api_input(request: HttpRequest) -> tuple[str, str] | None:
    """(field, message) for input no endpoint can store or use: NUL, offsets, absurd numbers."""
    if "\x00" in request.path:
        return "path", _("The address contains a NUL character.")
    for name, values in request.GET.lists():
        if "\x00" in name:
            return name.replace("\x00", ""), _("The text contains a NUL character.")
        for v in values:
            if why := unstorable(v):
                return name, why
        if name in _PAGINATION:
            for v in values:
                if v.strip().lstrip("+-").isdigit() and abs(int(v)) > _MAX_INT:
                    return name, _("The number is out of range.")
    if not (request.content_type or "").startswith("multipart/") and request.body:
        try:
            data = json.loads(request.body)
        except ValueError:
            return None  # the API answers malformed JSON itself
        if (found := _unstorable_in(data, "")) is not None:
            return found
    return None


class ApiInputGuardMiddleware:
    """Refuses, with a 422 naming the field, API input that no endpoint could store or use.

    PostgreSQL text cannot hold NUL, its integers stop at 2**63 and its time zone offsets at
    15:59: without this guard each endpoint that looks a value up (a category code, a page
    offset, a date filter) would have to remember it, and the one that forgot would answer 500. Forms already refuse NUL (Django's
    CharField), and Open311 answers in its own format, so this covers /api/ only.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            bad = _bad_api_input(request)
            if bad is not None:
                field, message = bad
                body = {
                    "code": "validation_failed",
                    "detail": f"{field}: {message}",
                    "field": field,
                    "errors": [{"field": field, "message": message}],
                }
                return HttpResponse(
                    json.dumps(body, ensure_ascii=False),
                    status=422,
                    content_type="application/json",
                )
        return self.get_response(request)


def _origin_pattern(url: str) -> str | None:
    """The CSP source of a tile URL template: its scheme and host, a `{s}` label as `*`."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    labels = ["*" if "{" in label or "}" in label else label for label in parts.netloc.split(".")]
    return f"{parts.scheme}://{'.'.join(labels)}"


def content_security_policy(nonce: str) -> str:
    """The policy of `CIVICGRID["CSP"]`, with the basemap's tile host allowed where maps need it."""
    conf = settings.CIVICGRID.get("CSP") or {}
    directives: dict[str, list[str]] = {k: list(v) for k, v in conf.get("DIRECTIVES", {}).items()}
    tiles = _origin_pattern(settings.CIVICGRID.get("BASEMAP_TILE_URL", "") or "")
    if tiles:
        for name in ("img-src", "connect-src"):
            directives.setdefault(name, ["'self'"]).append(tiles)
    parts = []
    for name, sources in directives.items():
        sources = [f"'nonce-{nonce}'" if s == "'nonce'" else s for s in sources]
        parts.append(" ".join([name, *sources]).strip())
    return "; ".join(parts)


class SecurityHeadersMiddleware:
    """Content-Security-Policy with a per-request nonce, and Permissions-Policy.

    Templates give their inline scripts `nonce="{{ request.csp_nonce }}"`; nothing else inline
    runs. Django's SecurityMiddleware already sends nosniff, Referrer-Policy, COOP and HSTS.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        conf = settings.CIVICGRID.get("CSP") or {}
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if conf.get("ENABLED", True) and "Content-Security-Policy" not in response:
            exempt = any(request.path.startswith(p) for p in conf.get("EXEMPT_PATHS", ()))
            if not exempt:
                header = (
                    "Content-Security-Policy-Report-Only"
                    if conf.get("REPORT_ONLY")
                    else "Content-Security-Policy"
                )
                response[header] = content_security_policy(nonce)
        if conf.get("PERMISSIONS_POLICY") and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = conf["PERMISSIONS_POLICY"]
        return response
