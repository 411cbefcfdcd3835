"""Pulling service requests from another city's GeoReport v2 endpoint into our cases."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from civicgrid.accounts.models import User
from civicgrid.cases.services.intake import SOURCES_BY_ROLE
from civicgrid.core import clock
from civicgrid.core.errors import DomainError, ValidationFailed

from .formats import w3
from .remote import RemoteError, parse_errors, parse_requests, request_from_fields
from .sync import case_sync_external

WINDOW = dt.timedelta(days=90)  # the most one GET requests may span, per the spec
MAX_BODY = 50 * 1024 * 1024
ACCEPT = {"json": "application/json", "xml": "text/xml"}


@dataclass
class PullReport:
    counts: Counter[str] = field(default_factory=Counter)  # created / updated / unchanged
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (service_request_id, why)


def request_urls(
    endpoint: str,
    fmt: str,
    *,
    jurisdiction_id: str = "",
    api_key: str = "",
    since: dt.datetime | None = None,
) -> list[str]:
    """One URL without dates (the server's default window), or one per 90 days since `since`."""
    base = f"{endpoint.rstrip('/')}/requests.{fmt}"
    params = {k: v for k, v in (("jurisdiction_id", jurisdiction_id), ("api_key", api_key)) if v}
    windows: list[dict[str, str]] = [{}]
    if since is not None:
        windows, start, now = [], since, clock.now()
        while True:
            end = min(start + WINDOW, now)
            windows.append({"start_date": w3(start) or "", "end_date": w3(end) or ""})
            if end >= now:
                break
            start = end
    out = []
    for dates in windows:
        query = urllib.parse.urlencode({**params, **dates})
        out.append(f"{base}?{query}" if query else base)
    return out


def fetch(url: str, fmt: str, *, timeout: float = 30) -> bytes:
    request = urllib.request.Request(
        url, headers={"Accept": ACCEPT[fmt], "User-Agent": "civicgrid-open311-pull/1"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        raise RemoteError(
            _("%(url)s answered %(status)d: %(errors)s")
            % {"url": url, "status": exc.code, "errors": parse_errors(exc.read(64_000), fmt)}
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise RemoteError(
            _("Cannot reach %(url)s: %(error)s") % {"url": url, "error": exc}
        ) from None
    if len(body) > MAX_BODY:
        raise RemoteError(_("The answer from %(url)s is too large.") % {"url": url})
    return body


def pull(
    endpoint: str,
    *,
    source: str,
    actor: User,
    fmt: str = "json",
    jurisdiction_id: str = "",
    api_key: str = "",
    code_map: Mapping[str, str] | None = None,
    since: dt.datetime | None = None,
    timeout: float = 30,
) -> PullReport:
    """Fetch, then file or update one case per remote request. Safe to run again and again."""
    if source not in SOURCES_BY_ROLE.get(actor.role, ()):
        raise ValidationFailed(
            _("The account %(user)s may not file cases with source '%(source)s'.")
            % {"user": actor, "source": source},
            field="source",
        )
    report = PullReport()
    seen: set[str] = set()
    urls = request_urls(
        endpoint, fmt, jurisdiction_id=jurisdiction_id, api_key=api_key, since=since
    )
    for url in urls:
        for fields in parse_requests(fetch(url, fmt, timeout=timeout), fmt):
            ident = str(fields.get("service_request_id") or "?")
            try:
                remote = request_from_fields(fields)
            except ValidationFailed as exc:
                report.skipped.append((ident, exc.message))
                continue
            if remote.service_request_id in seen:
                continue  # windows share their edges
            seen.add(remote.service_request_id)
            code = remote.service_code if code_map is None else code_map.get(remote.service_code)
            if not code:
                report.skipped.append(
                    (
                        ident,
                        _("service_code %(code)s is not in the service code map.")
                        % {"code": remote.service_code},
                    )
                )
                continue
            try:
                result = case_sync_external(
                    remote=remote, source=source, category_code=code, actor=actor, origin=endpoint
                )
            except DomainError as exc:
                report.skipped.append((ident, exc.message))
                continue
            report.counts[result.outcome] += 1
    return report
