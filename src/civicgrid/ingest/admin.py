from django.contrib import admin

from .models import RejectedMessage


@admin.register(RejectedMessage)
class RejectedMessageAdmin(admin.ModelAdmin):
    """Read-only: a refused message is evidence, fixed at the device, not edited here."""

    list_display = ["received_at", "channel", "device_id", "event_id", "field", "reason"]
    list_filter = ["channel", "field"]
    search_fields = ["device_id", "event_id", "reason", "topic"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
