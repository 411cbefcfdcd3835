from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civicgrid.cases.models import Source

# The key under which `Case.extra` keeps what Open311 knows about a case, beside the answers.
META = "_open311"


def default_rate_limit() -> int:
    return int(settings.CIVICGRID.get("OPEN311_RATE_LIMIT_PER_MINUTE", 60))


class ApiKey(models.Model):
    """The `api_key` an Open311 client sends. Bound to one source system; only a hash is kept.

    Cases filed with the key are reported by `user` (the system's account, whose role decides
    which `source` it may file under) and carry `source`, like any other channel.
    """

    name = models.CharField(
        _("source system"),
        max_length=100,
        help_text=_("The system that uses this key, e.g. a 311 app or the city hotline."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("files cases as"),
        on_delete=models.PROTECT,
        related_name="open311_keys",
    )
    source = models.CharField(
        _("case source"), max_length=10, choices=Source.choices, default=Source.API
    )
    prefix = models.CharField(_("key prefix"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=default_rate_limit
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_limit_per_minute__gte=1), name="open311_rate_limit_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def new_key() -> str:
        return "o311_" + secrets.token_urlsafe(32)
