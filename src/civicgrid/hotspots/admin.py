from django.contrib import admin

from .models import Hotspot, RecheckPlan, RecheckTask


class ReadOnly(admin.ModelAdmin):
    """Hot spots come from the refresh and plans from their service; the admin only reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Hotspot)
class HotspotAdmin(ReadOnly):
    list_display = ("id", "category", "grid", "case_count", "radius_m", "last_seen", "status")
    list_filter = ("status", "category")
    list_select_related = ("category", "grid")
    raw_id_fields = ("cases",)


class TaskInline(admin.TabularInline):
    model = RecheckTask
    fields = ("due_on", "inspector", "status", "ok", "result_note", "case")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(RecheckPlan)
class RecheckPlanAdmin(ReadOnly):
    list_display = ("id", "hotspot", "frequency", "weeks", "starts_on", "ends_on", "status")
    list_filter = ("status", "frequency")
    inlines = [TaskInline]


@admin.register(RecheckTask)
class RecheckTaskAdmin(ReadOnly):
    list_display = ("id", "plan", "due_on", "inspector", "status", "ok", "case")
    list_filter = ("status", "due_on")
    list_select_related = ("inspector", "case")
