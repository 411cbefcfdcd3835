"""Open311 API keys in the Django admin: created, changed and revoked through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.models import User
from civicgrid.core.errors import DomainError

from . import services
from .models import ApiKey


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "user", "source", "rate_limit_per_minute"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user = data.get("user") or getattr(self.instance, "user", None)
        if user is not None and data.get("source") and data.get("rate_limit_per_minute"):
            try:
                services.check_binding(user, data["source"], data["rate_limit_per_minute"])
            except DomainError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "user",
        "source",
        "rate_limit_per_minute",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["source", "revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A key stays bound to the account it was issued for; issue a new key to change it.
        return [*self.readonly_fields, "user"] if obj is not None else self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return services.can_manage_keys(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return services.can_manage_keys(request.user) and allowed

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the key's history stays in the audit log

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        actor = request.user
        assert isinstance(actor, User)  # the admin site only lets signed-in staff this far
        data = form.cleaned_data
        if change:
            saved = services.api_key_update(
                actor=actor,
                key=obj,
                name=data["name"],
                source=data["source"],
                rate_limit_per_minute=data["rate_limit_per_minute"],
            )
        else:
            saved, raw = services.api_key_create(
                actor=actor,
                name=data["name"],
                user=data["user"],
                source=data["source"],
                rate_limit_per_minute=data["rate_limit_per_minute"],
            )
            messages.warning(
                request,
                _(
                    "The new API key is %(key)s. Copy it now: it is not stored and will not be shown again."
                )
                % {"key": raw},
            )
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description=gettext_lazy("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        actor = request.user
        assert isinstance(actor, User)
        for key in queryset:
            services.api_key_revoke(actor=actor, key=key)
        self.message_user(request, _("%(n)d key(s) revoked.") % {"n": queryset.count()})
