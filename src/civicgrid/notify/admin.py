from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from civicgrid.core.errors import DomainError

from .models import Notification, Preference
from .services import notification_retry


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, read-only: rows are written by the sender; the one change is "retry"."""

    list_display = (
        "created_at",
        "template",
        "channel",
        "address",
        "recipient",
        "case",
        "status",
        "attempts",
        "next_attempt_at",
    )
    list_filter = ("status", "channel", "template", "language")
    search_fields = ("address", "idempotency_key", "case__number", "recipient__username")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Notification._meta.fields]
    list_select_related = ("recipient", "case")
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Retry sending the selected notifications"))
    def retry(self, request, queryset):
        done = 0
        for notification in queryset:
            try:
                notification_retry(notification=notification, actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"{notification}: {exc.message}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(
                request, _("%(n)d notification(s) queued again.") % {"n": done}, messages.SUCCESS
            )


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "language", "wecom_userid")
    search_fields = ("user__username", "wecom_userid")
    autocomplete_fields = ("user",)
