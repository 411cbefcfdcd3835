"""API authentication: bearer tokens for systems, the session for pages, or nobody where allowed."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from .models import ApiToken, User


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        # key_hash is unique: a slice, not .first(), whose ORDER BY costs on every request.
        rows = list(
            ApiToken.objects.select_related("user").filter(
                key_hash=ApiToken.hash_key(token), revoked_at__isnull=True, user__is_active=True
            )[:1]
        )
        if not rows:
            return None
        row = rows[0]
        if row.last_used_at is None or (timezone.now() - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.user = row.user
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


class ActiveSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


def anonymous(request: HttpRequest) -> Any:
    """Last in an auth list: lets the request through as nobody (for public endpoints)."""
    request.user = AnonymousUser()
    return AnonymousUser()


token_auth = TokenAuth()
session_auth = ActiveSessionAuth()
STAFF_AUTH = [token_auth, session_auth]
OPTIONAL_AUTH = [token_auth, session_auth, anonymous]


def staff_user(request: HttpRequest) -> User:
    """The signed-in user of an endpoint whose auth already refused anonymous requests."""
    return cast(User, request.user)


def actor_of(request: HttpRequest) -> Any:
    """The user behind a request, or None for an anonymous one."""
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
