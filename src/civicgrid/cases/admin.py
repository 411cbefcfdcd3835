from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from civicgrid.audit.admin_mixins import AuditedAdmin

from .models import Case, CaseAssignment, CaseEvent, Category, SlaPolicy


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    list_display = ("code", "name", "name_en", "kind", "parent", "default_department", "is_active")
    list_filter = ("kind", "is_active", "parent")
    search_fields = ("code", "name", "name_en")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AuditedAdmin):
    list_display = ("category", "urgency", "hours", "hour_type")
    list_filter = ("urgency", "hour_type")


class EventInline(admin.TabularInline):
    model = CaseEvent
    fields = ("at", "action", "from_state", "to_state", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False


class AssignmentInline(admin.TabularInline):
    model = CaseAssignment
    fields = ("department", "role", "active", "assigned_at", "taken_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Cases are read here; every change goes through the workflow (pages or API), never a raw edit."""

    list_display = (
        "number",
        "state",
        "category",
        "management_grid",
        "source",
        "reported_at",
        "deadline",
        "overdue",
    )
    list_filter = ("state", "source", "urgency", "overdue", "escalation_level")
    search_fields = ("number", "description", "address")
    date_hierarchy = "reported_at"
    inlines = [AssignmentInline, EventInline]
    readonly_fields = [f.name for f in Case._meta.fields]
    list_select_related = ("category", "management_grid")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        from .selectors import case_scope_q

        return super().get_queryset(request).filter(case_scope_q(request.user))


admin.site.site_header = _("civicgrid administration")
admin.site.site_title = _("civicgrid")
