from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECOM = "wecom", _("WeCom")
    EMAIL = "email", _("E-mail")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    # Claimed by one worker that is talking to the provider right now.
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed (gave up)")


class Notification(models.Model):
    """One message to one person on one channel: the outbox row that the sender works from."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # Phone number, e-mail address or WeCom user id, fixed when the message is queued.
    address = models.CharField(_("address"), max_length=254)
    language = models.CharField(_("language"), max_length=10)
    template = models.CharField(_("template"), max_length=50)
    context = models.JSONField(_("context"), default=dict, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    # Who and why, e.g. "case-event:42:user:7": the same cause never queues a second message.
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    last_error = models.TextField(_("last error"), blank=True)
    provider_ref = models.CharField(_("provider reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="notify_idempotency_key"),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="notify_status_known"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="notify_channel_known"
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="notify_sent_has_time",
            ),
            models.CheckConstraint(condition=~Q(address=""), name="notify_has_address"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.template} → {self.address} ({self.get_channel_display()})"


class Preference(models.Model):
    """How a person wants to be reached; without a row they get the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notify_preference",
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    wecom_userid = models.CharField(
        _("WeCom user id"),
        max_length=64,
        blank=True,
        help_text=_("Empty: the username, which most deployments keep equal to the WeCom id."),
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)
