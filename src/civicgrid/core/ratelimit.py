"""Rate limits for the public doors: anonymous reports, uploads, tracking, QR pages, Open311 POST.

Counts live in Django's cache in fixed windows (`limit` requests per `window` seconds) per client:
a verified API token, else a signed-in user, else the client's IP address. An unverified bearer
token counts as its IP, so inventing tokens buys no extra requests. Staff (and their tokens) get
`STAFF_FACTOR` times the limit: a hotline system files hundreds of cases an hour on purpose.

The default LocMem cache counts per process: a deployment with several web processes must point
CACHES at a shared cache (the production settings do; see docs/security.md).

Configured in `CIVICGRID["RATE_LIMITS"]`:
    ENABLED        bool, default True
    RULES          {rule: {"limit": int, "window": seconds}}
    ROUTES         [(pattern, "GET,POST", rule)]: fnmatch on the resolved view name or on the
                   URL route (django-ninja names one path after its first method, so API routes
                   go by route), so "shops:*" covers QR pages the day the shops app lands
    STAFF_FACTOR   int, default 20
    PROXY_COUNT    how many reverse proxies append to X-Forwarded-For (0: use REMOTE_ADDR)
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError

DEFAULT_RULES: dict[str, dict[str, int]] = {
    "report": {"limit": 20, "window": 600},
    "upload": {"limit": 60, "window": 600},
    "public_action": {"limit": 30, "window": 600},
    "public_read": {"limit": 300, "window": 60},
}


class RateLimited(DomainError):
    """429: the client used up its requests for this window; `retry_after` says for how long."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, rule: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rule = rule


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window: int


def config() -> dict[str, Any]:
    return settings.CIVICGRID.get("RATE_LIMITS") or {}


def enabled() -> bool:
    return bool(config().get("ENABLED", True))


def rule(name: str) -> Rule:
    spec = {**DEFAULT_RULES.get(name, {}), **(config().get("RULES") or {}).get(name, {})}
    if not spec:
        raise KeyError(f"No rate limit rule '{name}' in CIVICGRID['RATE_LIMITS']['RULES'].")
    return Rule(name=name, limit=int(spec["limit"]), window=int(spec["window"]))


def rule_for(*, view_name: str, route: str, method: str) -> Rule | None:
    """The rule guarding this view or route and method, from ROUTES (first match wins)."""
    for pattern, methods, name in config().get("ROUTES") or ():
        allowed = {m.strip().upper() for m in methods.split(",")}
        if method.upper() in allowed and (
            fnmatch.fnmatchcase(view_name, pattern) or fnmatch.fnmatchcase(route, pattern)
        ):
            return rule(name)
    return None


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the address the nearest trusted proxy saw, never a client-chosen one."""
    proxies = int(config().get("PROXY_COUNT", 0))
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _bearer(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, key = header.partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def client_key(request: HttpRequest) -> tuple[str, bool]:
    """(who is counted, whether they are staff). Tokens are checked, never taken on trust."""
    key = _bearer(request)
    if key is not None:
        from civicgrid.accounts.models import ApiToken

        row = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if row is not None:
            return f"token:{row.pk}", row.user.is_staff_role
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}", bool(getattr(user, "is_staff_role", False))
    return f"ip:{client_ip(request)}", False


def hit(rule: Rule, who: str, *, staff: bool = False, now: float | None = None) -> int | None:
    """Count one request; the seconds to wait when `who` is over the limit, else None."""
    now = time.time() if now is None else now
    limit = rule.limit * (int(config().get("STAFF_FACTOR", 20)) if staff else 1)
    window = int(now // rule.window)
    digest = hashlib.sha256(who.encode()).hexdigest()[:32]  # bounded, cache-safe key
    cache_key = f"ratelimit:{rule.name}:{digest}:{window}"
    # add() is a no-op when the counter exists; incr() is atomic in every shared cache backend.
    cache.add(cache_key, 0, timeout=rule.window * 2)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add() and incr()
        cache.set(cache_key, 1, timeout=rule.window * 2)
        count = 1
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * rule.window - now))


def check(request: HttpRequest, rule_name: str | Rule) -> None:
    """Count this request against a rule; raises RateLimited when the client is over it."""
    if not enabled():
        return
    current = rule_name if isinstance(rule_name, Rule) else rule(rule_name)
    who, staff = client_key(request)
    wait = hit(current, who, staff=staff)
    if wait is not None:
        raise RateLimited(
            _("Too many requests; try again in %(s)d seconds.") % {"s": wait},
            retry_after=wait,
            rule=current.name,
        )


def rate_limited(rule_name: str) -> Any:
    """Decorator for a view outside ROUTES: the same counting, the same 429 answer."""

    def decorate(view: Any) -> Any:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            from civicgrid.core.middleware import too_many_requests

            try:
                check(request, rule_name)
            except RateLimited as exc:
                return too_many_requests(request, exc)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
