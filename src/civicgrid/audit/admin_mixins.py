"""Admin edits to reference data land in the audit log like every other staff write."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.forms.models import model_to_dict

from .services import audit_record

# Never copied into the log, even hashed.
_SECRET_FIELDS = {"password", "key_hash"}


def snapshot(obj: Any) -> dict[str, str]:
    if obj is None or obj.pk is None:
        return {}
    data = model_to_dict(obj)
    return {k: str(v) for k, v in data.items() if k not in _SECRET_FIELDS}


class AuditedAdmin(admin.ModelAdmin):
    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        before = snapshot(type(obj).objects.filter(pk=obj.pk).first()) if change else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action=f"admin.{'change' if change else 'add'}",
                obj=obj,
                before=before,
                after=snapshot(obj),
            )

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if form.instance.pk is not None and form.instance._meta.many_to_many:
            audit_record(
                actor=request.user,
                action="admin.change_related",
                obj=form.instance,
                after=snapshot(form.instance),
            )

    def delete_model(self, request: Any, obj: Any) -> None:
        with transaction.atomic():
            audit_record(actor=request.user, action="admin.delete", obj=obj, before=snapshot(obj))
            super().delete_model(request, obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                audit_record(
                    actor=request.user, action="admin.delete", obj=obj, before=snapshot(obj)
                )
            super().delete_queryset(request, queryset)
