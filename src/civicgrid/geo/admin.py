"""Admin for places and grids. Every write goes through geo.services, as everywhere else."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from civicgrid.core.errors import DomainError

from . import services
from .models import GenerationStatus, Grid, GridGeneration, Region, Workstation


class RegionForm(forms.ModelForm):
    class Meta:
        model = Region
        fields = ["code", "name", "level", "parent", "boundary"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            if self.instance.pk is None:
                services.region_check(
                    code=data.get("code", ""),
                    name=data.get("name", ""),
                    level=data.get("level", ""),
                    parent=data.get("parent"),
                )
            if data.get("boundary"):
                services.parse_geometry(data["boundary"], field="boundary")
        except DomainError as e:
            field = e.field if e.field in self.fields else None
            self.add_error(field, e.message)
        return data


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    form = RegionForm
    list_display = ["code", "name", "level", "parent", "path"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    ordering = ["path"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]

    def get_readonly_fields(self, request: HttpRequest, obj: Region | None = None) -> Any:
        # The code, level and parent fix the region's place and path; they are set once.
        return ["code", "level", "parent", "path"] if obj else ["path"]

    def save_model(self, request: HttpRequest, obj: Region, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = services.region_update(
                region=obj, name=data["name"], boundary=data.get("boundary"), actor=request.user
            )
        else:
            saved = services.region_create(
                code=data["code"],
                name=data["name"],
                level=data["level"],
                parent=data.get("parent"),
                boundary=data.get("boundary"),
                actor=request.user,
            )
        obj.pk, obj.path = saved.pk, saved.path

    def has_delete_permission(self, request: HttpRequest, obj: Region | None = None) -> bool:
        return False  # regions are referenced by grids, cases and users: retire, never delete


@admin.action(description=_("Activate the selected generation"), permissions=["change"])
def activate_generation(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[GridGeneration]
) -> None:
    if queryset.count() != 1:
        modeladmin.message_user(
            request, _("Select exactly one generation to activate."), messages.ERROR
        )
        return
    try:
        generation = services.generation_activate(generation=queryset.get(), actor=request.user)
    except DomainError as e:
        modeladmin.message_user(request, e.message, messages.ERROR)
        return
    modeladmin.message_user(
        request, _("%(label)s is now the active generation.") % {"label": generation.label}
    )


@admin.register(GridGeneration)
class GridGenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "label", "status", "grid_count", "created_at", "activated_at"]
    list_filter = ["status"]
    search_fields = ["label"]
    ordering = ["-id"]
    actions = [activate_generation]
    readonly_fields = ["label", "status", "source", "created_at", "activated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[GridGeneration]:
        return super().get_queryset(request).annotate(_grid_count=Count("grids"))

    @admin.display(description=_("grids"), ordering="_grid_count")
    def grid_count(self, obj: GridGeneration) -> int:
        return obj._grid_count  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # generations come from `manage.py import_grids`

    def has_delete_permission(
        self, request: HttpRequest, obj: GridGeneration | None = None
    ) -> bool:
        # Only a pending generation (an import not wanted after all) may go.
        return (
            obj is not None
            and obj.status == GenerationStatus.PENDING
            and super().has_delete_permission(request, obj)
        )


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "region", "generation", "area"]
    list_filter = ["kind", "generation"]
    search_fields = ["code", "name"]
    list_select_related = ["region", "generation"]
    fields = (
        "code",
        "name",
        "kind",
        "region",
        "generation",
        "workstation",
        "area",
        "bbox",
        "geometry_display",
    )
    readonly_fields = fields

    @admin.display(description=_("area (m²)"), ordering="area_m2")
    def area(self, obj: Grid) -> str:
        return f"{obj.area_m2:,.0f}"

    @admin.display(description=_("bounding box"))
    def bbox(self, obj: Grid) -> str:
        return f"{obj.min_lon:.6f}, {obj.min_lat:.6f} — {obj.max_lon:.6f}, {obj.max_lat:.6f}"

    @admin.display(description=_("geometry (GeoJSON, WGS-84)"))
    def geometry_display(self, obj: Grid) -> str:
        return format_html(
            '<pre style="max-height:20em;overflow:auto">{}</pre>',
            json.dumps(obj.geometry, indent=1),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # grids come in whole generations, never one by one

    def has_change_permission(self, request: HttpRequest, obj: Grid | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Grid | None = None) -> bool:
        return False


@admin.register(Workstation)
class WorkstationAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "phone", "address"]
    search_fields = ["name", "address"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]
