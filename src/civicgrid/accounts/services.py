"""Writes to accounts: API tokens for systems."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.audit.services import audit_record
from civicgrid.core.errors import ValidationFailed

from .models import ApiToken, Role, TokenSource, User


def api_token_create(
    *, user: User, name: str, source: str = TokenSource.API, actor: User | None = None
) -> tuple[ApiToken, str]:
    """A new bearer token for a system acting as `user`; returns the row and the key (shown once).

    Only the hash is stored. The token acts with the user's role and jurisdiction, and the
    cases it files count as `source` (hotline, api or device).
    """
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(_("Give the token a name of at most 100 characters."), field="name")
    if source not in TokenSource.values:
        raise ValidationFailed(
            _("source must be one of: %(v)s.") % {"v": ", ".join(TokenSource.values)},
            field="source",
        )
    if not user.is_active or user.role == Role.RESIDENT:
        raise ValidationFailed(
            _("Tokens are for active staff accounts, not for %(u)s.") % {"u": user.username},
            field="user",
        )
    key = ApiToken.new_key()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=key[:8], key_hash=ApiToken.hash_key(key), source=source
        )
        audit_record(
            actor=actor,
            action="api_token.create",
            obj=token,
            after={"user": user.username, "name": name, "source": source},
        )
    return token, key
