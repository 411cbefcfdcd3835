"""API authentication: bearer tokens for systems, the session for pages, or nobody where allowed."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from .models import ApiToken, User


@functools.cache
def _token_sql() -> str:
    """The user of a live token, and the token's id, source and whether its last use is stale.

    Written once in SQL: every API call runs it, and building it through the ORM cost twice
    as long as running it. `User.objects.raw` still converts the user's fields as usual.
    """
    q = connection.ops.quote_name
    user, token = User._meta, ApiToken._meta
    return (
        f"SELECT u.*, t.{q('id')} AS token_id, t.{q('source')} AS token_source,"
        f" CASE WHEN t.{q('last_used_at')} IS NULL OR t.{q('last_used_at')} < %s"
        f" THEN 1 ELSE 0 END AS token_stale"
        f" FROM {q(user.db_table)} u JOIN {q(token.db_table)} t"
        f" ON t.{q(str(token.get_field('user').column))} = u.{q(str(user.pk.column))}"
        f" WHERE t.{q('key_hash')} = %s AND t.{q('revoked_at')} IS NULL"
        f" AND u.{q('is_active')} = %s"
    )


class TokenAuth(HttpBearer):
    # How often a token's last use is written down: not on every call.
    TOUCH_SECONDS = 60

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        now = timezone.now()
        stale_before = now - dt.timedelta(seconds=self.TOUCH_SECONDS)
        # key_hash is unique: one row at most.
        rows = list(
            User.objects.raw(
                _token_sql(),
                [
                    connection.ops.adapt_datetimefield_value(stale_before),
                    ApiToken.hash_key(token),
                    True,
                ],
            )
        )
        if not rows:
            return None
        user = rows[0]
        if user.token_stale:  # type: ignore[attr-defined]
            ApiToken.objects.filter(pk=user.token_id).update(last_used_at=now)  # type: ignore[attr-defined]
        # What callers read of the token (its source); other fields load on first use.
        api_token = ApiToken.from_db(
            None,
            ["id", "user_id", "source"],
            (user.token_id, user.pk, user.token_source),  # type: ignore[attr-defined]
        )
        request.user = user
        request.api_token = api_token  # type: ignore[attr-defined]
        return user


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
