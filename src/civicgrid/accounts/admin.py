from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from civicgrid.audit.admin_mixins import AuditedAdmin

from .models import ApiToken, Department, User
from .services import api_token_create


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    list_display = ("username", "display_name", "role", "department", "is_active")
    list_filter = ("role", "department", "is_active")
    search_fields = ("username", "display_name", "phone")
    filter_horizontal = ("regions", "groups", "user_permissions")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (
            _("Role and jurisdiction"),
            {"fields": ("role", "display_name", "phone", "department", "regions", "grid_codes")},
        ),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Role and jurisdiction"), {"fields": ("role", "department")}),
    )


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ("code", "name", "phone", "is_active")
    search_fields = ("code", "name")


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ("name", "user", "prefix", "source", "created_at", "last_used_at", "revoked_at")
    list_filter = ("source",)
    readonly_fields = ("prefix", "created_at", "last_used_at")
    fields = ("user", "name", "source", "prefix", "created_at", "last_used_at", "revoked_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New tokens go through the service: the key is generated, hashed and shown once.
        token, key = api_token_create(
            user=obj.user, name=obj.name, source=obj.source, actor=request.user
        )
        obj.pk, obj.prefix, obj.key_hash = token.pk, token.prefix, token.key_hash
        obj._state.adding = False
        messages.warning(
            request,
            _("The new token is %(key)s. Copy it now: it is not shown again.") % {"key": key},
        )
