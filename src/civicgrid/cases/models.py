from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    REPORTED = "reported", _("Reported")
    ACCEPTED = "accepted", _("Accepted")
    DISPATCHED = "dispatched", _("Dispatched")
    IN_PROGRESS = "in_progress", _("In progress")
    HANDLED = "handled", _("Handled")
    VERIFIED = "verified", _("Verified")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned")
    REWORK = "rework", _("Rework")
    SUSPENDED = "suspended", _("Suspended")
    MERGED = "merged", _("Merged")


# States in which the case still needs work: deadlines and overdue flags apply.
OPEN_STATES = frozenset(
    {
        State.REPORTED,
        State.ACCEPTED,
        State.DISPATCHED,
        State.IN_PROGRESS,
        State.HANDLED,
        State.VERIFIED,
        State.RETURNED,
        State.REWORK,
    }
)
# Suspended cases keep their deadline but the clock is stopped; they are not overdue.
FINAL_STATES = frozenset({State.CLOSED, State.REJECTED, State.MERGED})


class Source(models.TextChoices):
    PATROL = "patrol", _("Inspector patrol")
    HOTLINE = "hotline", _("12345 hotline")
    RESIDENT = "resident", _("Resident")
    DEVICE = "device", _("Device")
    OPINION = "opinion", _("Opinion collection")
    API = "api", _("Other system")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")
    CRITICAL = "critical", _("Critical")


class EscalationLevel(models.TextChoices):
    GRID = "grid", _("Grid")
    SUBDISTRICT = "subdistrict", _("Subdistrict")
    DISTRICT = "district", _("District")


class CategoryKind(models.TextChoices):
    COMPONENT = "component", _("Component")
    EVENT = "event", _("Event")


class Category(models.Model):
    """Two-level taxonomy (GB/T 30428.2 style): a major class with minor classes under it."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=CategoryKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("major class"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    default_department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("default department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    # Extra questions asked when reporting (also Open311 service attributes).
    questions = models.JSONField(_("extra questions"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_minor(self) -> bool:
        return self.parent_id is not None


class HourType(models.TextChoices):
    CALENDAR = "calendar", _("Calendar hours")
    WORKING = "working", _("Working hours")


class SlaPolicy(models.Model):
    """How long a case of a category and urgency may take, counted from dispatch."""

    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policies",
        help_text=_("Empty: the default for every category."),
    )
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    hours = models.PositiveIntegerField(_("hours"))
    hour_type = models.CharField(
        _("hour type"), max_length=10, choices=HourType.choices, default=HourType.WORKING
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "urgency"], name="cases_sla_per_category_urgency"
            ),
            models.UniqueConstraint(
                fields=["urgency"],
                condition=Q(category__isnull=True),
                name="cases_sla_default_per_urgency",
            ),
            models.CheckConstraint(condition=Q(hours__gt=0), name="cases_sla_hours_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.category or _('default')} / {self.get_urgency_display()}: {self.hours}h"


class Case(models.Model):
    number = models.CharField(_("case number"), max_length=20, unique=True)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.REPORTED
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT)
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL
    )
    description = models.TextField(_("description"))
    address = models.CharField(_("address"), max_length=255, blank=True)
    # WGS-84, whatever the reporter's phone or map sent.
    lon = models.FloatField(_("longitude"))
    lat = models.FloatField(_("latitude"))
    management_grid = models.ForeignKey(
        "geo.Grid",
        verbose_name=_("management grid"),
        on_delete=models.PROTECT,
        related_name="cases",
    )
    unit_grid = models.ForeignKey(
        "geo.Grid",
        verbose_name=_("unit grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="unit_cases",
    )
    region = models.ForeignKey("geo.Region", verbose_name=_("region"), on_delete=models.PROTECT)
    region_path = models.CharField(max_length=255, db_index=True, editable=False)
    escalation_level = models.CharField(
        _("escalation level"),
        max_length=12,
        choices=EscalationLevel.choices,
        default=EscalationLevel.GRID,
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    reporter_name = models.CharField(_("reporter name"), max_length=100, blank=True)
    reporter_phone = models.CharField(_("reporter phone"), max_length=32, blank=True)
    # Lets an anonymous reporter follow, rate and reopen their case without an account.
    tracking_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(_("external id"), max_length=64, blank=True)
    extra = models.JSONField(_("answers to extra questions"), default=dict, blank=True)

    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    deadline = models.DateTimeField(_("deadline"), null=True, blank=True, db_index=True)
    sla_hours = models.PositiveIntegerField(null=True, blank=True, editable=False)
    sla_hour_type = models.CharField(
        max_length=10, choices=HourType.choices, blank=True, editable=False
    )
    # Written by the periodic sweep from the stored deadline, so lists can filter cheaply.
    overdue = models.BooleanField(_("overdue"), default=False, db_index=True)
    near_due = models.BooleanField(_("near due"), default=False)
    overdue_since = models.DateTimeField(_("overdue since"), null=True, blank=True)
    suspended_from = models.CharField(
        max_length=12, choices=State.choices, blank=True, editable=False
    )
    suspended_at = models.DateTimeField(null=True, blank=True, editable=False)

    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_cases",
    )
    supporters_count = models.PositiveIntegerField(_("supporters"), default=0)
    reopen_count = models.PositiveIntegerField(_("times reopened"), default=0)
    rework_count = models.PositiveIntegerField(_("times reworked"), default=0)
    # Bumped by every transition: a stale writer's conditional update matches no row.
    version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lon__gte=-180, lon__lte=180), name="cases_lon_range"
            ),
            models.CheckConstraint(condition=Q(lat__gte=-90, lat__lte=90), name="cases_lat_range"),
            models.CheckConstraint(
                condition=~Q(state="merged") | Q(merged_into__isnull=False),
                name="cases_merged_has_target",
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | ~Q(merged_into=models.F("id")),
                name="cases_not_merged_into_itself",
            ),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="cases_external_id_per_source",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "deadline"]),
            models.Index(fields=["category", "reported_at"]),
            models.Index(fields=["management_grid", "state"]),
            models.Index(fields=["lat", "lon"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("Lead department")
    CO_HANDLER = "co_handler", _("Co-handler")


class CaseAssignment(models.Model):
    """One department's part in a case (吹哨报到: one lead, any number of co-handlers)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    department = models.ForeignKey(
        "accounts.Department", verbose_name=_("department"), on_delete=models.PROTECT
    )
    role = models.CharField(_("role"), max_length=10, choices=AssignmentRole.choices)
    active = models.BooleanField(default=True)
    assigned_at = models.DateTimeField(_("assigned at"))
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "department"],
                condition=Q(active=True),
                name="cases_one_active_assignment",
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(active=True, role="lead"), name="cases_one_active_lead"
            ),
        ]


class CaseEvent(models.Model):
    """One row of a case's timeline: who did what, when, from which state to which."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timeline")
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from state"), max_length=12, choices=State.choices, blank=True)
    to_state = models.CharField(_("to state"), max_length=12, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_role = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(_("at"))
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Whether residents see this row on the public tracking page.
    public = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"])]


class Upload(models.Model):
    """A checked image uploaded ahead of the report or action that will attach it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to="uploads/%Y/%m/")
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    EVIDENCE = "evidence", _("Evidence of handling")
    BEFORE = "before", _("Before")
    AFTER = "after", _("After")


class CaseAttachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    upload = models.OneToOneField(Upload, on_delete=models.PROTECT, related_name="attachment")
    kind = models.CharField(
        max_length=10, choices=AttachmentKind.choices, default=AttachmentKind.PHOTO
    )

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


class CaseSupport(models.Model):
    """A resident saying "me too" instead of filing a duplicate; they then follow the case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="supported_cases"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="cases_support_once")]


class Feedback(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"))
    text = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__gte=1, satisfaction__lte=5), name="cases_satisfaction_1_5"
            ),
        ]
