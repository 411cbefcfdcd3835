"""What ingestion keeps of its own: the messages it refused, with the reason. Cases live in cases."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    MQTT = "mqtt", _("MQTT")
    HTTP = "http", _("HTTP webhook")


class RejectedMessage(models.Model):
    """A device message that could not become a case: kept, with why, for someone to look at."""

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    topic = models.CharField(_("topic"), max_length=255, blank=True)
    event_id = models.CharField(_("event id"), max_length=64, blank=True)
    device_id = models.CharField(_("device id"), max_length=64, blank=True)
    payload = models.TextField(_("payload"), blank=True)
    reason = models.TextField(_("reason"))
    field = models.CharField(_("field"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("rejected message")
        verbose_name_plural = _("rejected messages")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="ingest_rejection_has_reason"),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="ingest_channel_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.event_id or '?'}: {self.reason[:60]}"
