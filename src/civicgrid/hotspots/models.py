from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class HotspotStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    # Not found again by the latest refresh: its cases have aged out of the window.
    FADED = "faded", _("Faded")


class Hotspot(models.Model):
    """Recurring cases of one category near one place (一件事到一类事), found by clustering."""

    category = models.ForeignKey(
        "cases.Category", verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    lon = models.FloatField(_("centroid longitude"))
    lat = models.FloatField(_("centroid latitude"))
    radius_m = models.FloatField(_("radius (m)"))
    case_count = models.PositiveIntegerField(_("cases"))
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    # The management grid holding most of its cases: whose station owns the follow-up.
    grid = models.ForeignKey(
        "geo.Grid", verbose_name=_("management grid"), on_delete=models.PROTECT, related_name="+"
    )
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+"
    )
    region_path = models.CharField(max_length=255, db_index=True, editable=False)
    cases = models.ManyToManyField("cases.Case", verbose_name=_("cases"), related_name="hotspots")
    status = models.CharField(
        _("status"), max_length=10, choices=HotspotStatus.choices, default=HotspotStatus.ACTIVE
    )
    detected_at = models.DateTimeField(_("detected at"))
    refreshed_at = models.DateTimeField(_("refreshed at"))

    class Meta:
        verbose_name = _("hot spot")
        verbose_name_plural = _("hot spots")
        ordering = ["-case_count", "-last_seen", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=HotspotStatus.values), name="hotspots_status_known"
            ),
            models.CheckConstraint(
                condition=Q(lon__gte=-180, lon__lte=180, lat__gte=-90, lat__lte=90),
                name="hotspots_point_in_range",
            ),
            models.CheckConstraint(condition=Q(radius_m__gte=0), name="hotspots_radius_positive"),
            models.CheckConstraint(
                condition=Q(first_seen__lte=models.F("last_seen")), name="hotspots_seen_ordered"
            ),
        ]
        indexes = [models.Index(fields=["category", "status"])]

    def __str__(self) -> str:
        return f"{self.category} @ {self.grid.code} ({self.case_count})"


class Frequency(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class PlanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")


MAX_WEEKS = 52


class RecheckPlan(models.Model):
    """A re-inspection plan (复诊): patrol a hot spot daily or weekly for some weeks."""

    hotspot = models.ForeignKey(
        Hotspot, verbose_name=_("hot spot"), on_delete=models.PROTECT, related_name="plans"
    )
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    weeks = models.PositiveSmallIntegerField(_("weeks"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    inspectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("inspectors"), related_name="recheck_plans"
    )
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.ACTIVE
    )
    # Copied from the hot spot, so scoping a plan needs no join and survives a re-clustering.
    grid = models.ForeignKey(
        "geo.Grid", verbose_name=_("management grid"), on_delete=models.PROTECT, related_name="+"
    )
    region_path = models.CharField(max_length=255, db_index=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("re-inspection plan")
        verbose_name_plural = _("re-inspection plans")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["hotspot"],
                condition=Q(status="active"),
                name="hotspots_one_active_plan",
            ),
            models.CheckConstraint(
                condition=Q(weeks__gte=1, weeks__lte=MAX_WEEKS), name="hotspots_plan_weeks_range"
            ),
            models.CheckConstraint(
                condition=Q(frequency__in=Frequency.values), name="hotspots_frequency_known"
            ),
            models.CheckConstraint(
                condition=Q(starts_on__lte=models.F("ends_on")), name="hotspots_plan_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hotspot} {self.get_frequency_display()} ×{self.weeks}w"


class TaskStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")


class RecheckTask(models.Model):
    """One patrol of a plan: due on a day, for one inspector, with its result."""

    plan = models.ForeignKey(
        RecheckPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="tasks"
    )
    due_on = models.DateField(_("due on"))
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        on_delete=models.PROTECT,
        related_name="recheck_tasks",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.PENDING
    )
    ok = models.BooleanField(_("no problem found"), null=True, blank=True)
    result_note = models.TextField(_("result"), blank=True)
    photos = models.ManyToManyField("cases.Upload", verbose_name=_("photos"), blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case filed"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    missed_at = models.DateTimeField(_("flagged missed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("re-inspection task")
        verbose_name_plural = _("re-inspection tasks")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "due_on"], name="hotspots_one_task_per_day"),
            models.CheckConstraint(
                condition=Q(status__in=TaskStatus.values), name="hotspots_task_status_known"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(recorded_at__isnull=False, ok__isnull=False),
                name="hotspots_done_has_result",
            ),
            models.CheckConstraint(
                condition=~Q(status="missed") | Q(missed_at__isnull=False),
                name="hotspots_missed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(case__isnull=True) | Q(ok=False), name="hotspots_case_only_if_failed"
            ),
        ]
        indexes = [
            models.Index(fields=["inspector", "due_on"]),
            models.Index(fields=["status", "due_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.due_on}"
