"""Writes of the Open311 app: API keys and requests filed by 311 clients (imports: `sync`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Role, User
from civicgrid.audit.services import audit_record
from civicgrid.cases.models import Source
from civicgrid.cases.services import case_create
from civicgrid.cases.services.intake import SOURCES_BY_ROLE, CreatedCase
from civicgrid.core.errors import NotAllowed, NotFound, ValidationFailed

from .attributes import answers_check
from .models import META, ApiKey
from .ratelimit import RateLimited, rate_limit_hit
from .selectors import service_get


def can_manage_keys(user: Any) -> bool:
    return bool(
        user.is_authenticated and user.is_active and (user.is_superuser or user.role == Role.ADMIN)
    )


def _require_admin(actor: User) -> None:
    if not can_manage_keys(actor):
        raise NotAllowed(_("Only an administrator may manage Open311 API keys."))


def check_binding(user: User, source: str, rate_limit_per_minute: int) -> None:
    if source not in Source.values:
        raise ValidationFailed(_("Unknown source '%(s)s'.") % {"s": source}, field="source")
    if source not in SOURCES_BY_ROLE.get(user.role, ()):
        raise ValidationFailed(
            _("The account %(user)s (%(role)s) may not file cases with source '%(source)s'.")
            % {"user": user, "role": user.get_role_display(), "source": source},
            field="source",
        )
    if rate_limit_per_minute < 1:
        raise ValidationFailed(
            _("The rate limit must be at least 1 request per minute."),
            field="rate_limit_per_minute",
        )


def api_key_create(
    *, actor: User, name: str, user: User, source: str, rate_limit_per_minute: int
) -> tuple[ApiKey, str]:
    """A new key for a source system. The key itself is returned once and never stored."""
    _require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name the system that will use the key."), field="name")
    check_binding(user, source, rate_limit_per_minute)
    raw = ApiKey.new_key()
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name[:100],
            user=user,
            source=source,
            prefix=raw[:8],
            key_hash=ApiKey.hash_key(raw),
            rate_limit_per_minute=rate_limit_per_minute,
        )
        audit_record(
            actor=actor,
            action="open311.api_key_create",
            obj=key,
            after={"name": key.name, "user": user.username, "source": source},
        )
    return key, raw


def api_key_update(
    *, actor: User, key: ApiKey, name: str, source: str, rate_limit_per_minute: int
) -> ApiKey:
    _require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name the system that will use the key."), field="name")
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().select_related("user").get(pk=key.pk)
        check_binding(key.user, source, rate_limit_per_minute)
        before = {"name": key.name, "source": key.source, "rate": key.rate_limit_per_minute}
        key.name, key.source, key.rate_limit_per_minute = name[:100], source, rate_limit_per_minute
        key.save(update_fields=["name", "source", "rate_limit_per_minute"])
        audit_record(
            actor=actor,
            action="open311.api_key_update",
            obj=key,
            before=before,
            after={"name": key.name, "source": source, "rate": rate_limit_per_minute},
        )
    return key


def api_key_revoke(*, actor: User, key: ApiKey) -> ApiKey:
    _require_admin(actor)
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="open311.api_key_revoke", obj=key)
    return key


def api_key_use(*, raw_key: str) -> ApiKey:
    """The live key behind `api_key`, counted against its rate limit (403 or 429 otherwise)."""
    raw_key = (raw_key or "").strip()
    if not raw_key:
        raise NotAllowed(_("api_key was not provided."), field="api_key")
    key = (
        ApiKey.objects.select_related("user")
        .filter(key_hash=ApiKey.hash_key(raw_key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if key is None:
        raise NotAllowed(_("api_key is invalid."), field="api_key")
    wait = rate_limit_hit(key_id=key.pk, limit=key.rate_limit_per_minute)
    if wait is not None:
        raise RateLimited(
            _("Rate limit of %(n)d requests per minute exceeded; retry in %(s)d seconds.")
            % {"n": key.rate_limit_per_minute, "s": wait},
            retry_after=wait,
        )
    now = timezone.now()
    # At most one write a minute per key, not one per request.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


@dataclass(frozen=True)
class Contact:
    """Who reported, as the 311 client sends it. Kept with the case, never shown over Open311."""

    email: str = ""
    device_id: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""


def _check_media_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    try:
        if len(url) > 1000:
            raise ValidationError("too long")
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationFailed(
            _("media_url must be an http or https URL."), field="media_url"
        ) from None
    return url


def _contact_meta(contact: Contact) -> dict[str, str]:
    email = contact.email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationFailed(_("email is not a valid address."), field="email") from None
    meta = {
        "email": email,
        "device_id": contact.device_id.strip()[:200],
        "account_id": contact.account_id.strip()[:200],
    }
    return {k: v for k, v in meta.items() if v}


def service_request_create(
    *,
    api_key: ApiKey,
    service_code: str,
    lat: float,
    lon: float,
    description: str = "",
    address: str = "",
    attributes: Mapping[str, Sequence[str]] | None = None,
    media_url: str = "",
    contact: Contact | None = None,
) -> CreatedCase:
    """POST requests: a case like any other, filed by the key's system account and source."""
    contact = contact or Contact()
    try:
        category = service_get(code=service_code)
    except NotFound as exc:
        # The request names a service that does not exist: invalid data, not a missing page.
        raise ValidationFailed(exc.message, field="service_code") from None
    answers = answers_check(category, attributes or {})
    meta: dict[str, Any] = {"system": api_key.name, "api_key": api_key.prefix}
    if media_url := _check_media_url(media_url):
        meta["media_url"] = media_url  # a link only: remote files are never fetched
    meta.update(_contact_meta(contact))
    name = " ".join(p.strip() for p in (contact.first_name, contact.last_name) if p.strip())
    return case_create(
        actor=api_key.user,
        category=category,
        # The spec makes description optional; a case needs one, so the service names it.
        description=(description or "").strip() or category.name,
        lon=lon,
        lat=lat,
        source=api_key.source,
        address=address,
        reporter_name=name,
        reporter_phone=contact.phone,
        extra={**answers, META: meta},
    )
