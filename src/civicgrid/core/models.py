from __future__ import annotations

from django.db import models


class ScheduledRun(models.Model):
    """One row per (job, time slot): however many schedulers run, each slot is enqueued once."""

    job = models.CharField(max_length=100)
    slot = models.DateTimeField()
    enqueued_at = models.DateTimeField(auto_now_add=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "slot"], name="core_one_run_per_slot")
        ]
