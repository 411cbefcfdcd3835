from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    INSPECTOR = "inspector", _("Grid inspector")
    OPERATOR = "operator", _("Intake operator")
    DISPATCHER = "dispatcher", _("Dispatcher")
    STATION_HEAD = "station_head", _("Station head")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    OPS_CENTER = "ops_center", _("Operations centre")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = frozenset(Role) - {Role.RESIDENT}


class Department(models.Model):
    """A responsible party: 城管, 市场监管, 消防, 市容绿化, 物业 ..."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.RESIDENT)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    # Jurisdiction of staff: the regions (and everything below them) and management grids
    # (by code, so it survives a new grid generation) where they may see and act.
    regions = models.ManyToManyField(
        "geo.Region", verbose_name=_("jurisdiction: regions"), blank=True, related_name="staff"
    )
    grid_codes = models.JSONField(_("jurisdiction: grid codes"), default=list, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="department_handler") | Q(department__isnull=False),
                name="accounts_handler_has_department",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES


class TokenSource(models.TextChoices):
    """What a system token's cases count as (the `source` of a case)."""

    API = "api", _("Other system (API)")
    HOTLINE = "hotline", _("12345 hotline")
    DEVICE = "device", _("Device")


class ApiToken(models.Model):
    """A bearer token for a system or a script. Only a hash is stored; the key is shown once."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    source = models.CharField(
        _("case source"), max_length=10, choices=TokenSource.choices, default=TokenSource.API
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def new_key() -> str:
        return "cg_" + secrets.token_urlsafe(32)
