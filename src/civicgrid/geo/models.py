from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    DISTRICT = "district", _("District")
    SUBDISTRICT = "subdistrict", _("Subdistrict")
    AREA = "area", _("Area")
    COMMUNITY = "community", _("Community")
    COMPOUND = "compound", _("Compound")
    BUILDING = "building", _("Building")


# Depth of each level in the tree; escalation walks up this order.
LEVEL_ORDER = [
    RegionLevel.DISTRICT,
    RegionLevel.SUBDISTRICT,
    RegionLevel.AREA,
    RegionLevel.COMMUNITY,
    RegionLevel.COMPOUND,
    RegionLevel.BUILDING,
]


class Region(models.Model):
    """A node of the administrative tree: district → subdistrict → community → compound → building."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of ids ("/1/4/17/"): jurisdiction checks are one indexed prefix match.
    path = models.CharField(_("path"), max_length=255, db_index=True, editable=False, default="")
    boundary = models.JSONField(_("boundary (GeoJSON)"), null=True, blank=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=RegionLevel.values), name="geo_region_level_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class GenerationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class GridGeneration(models.Model):
    """One imported set of grids. Imported as pending, activated atomically, later retired."""

    label = models.CharField(_("label"), max_length=100)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=GenerationStatus.choices,
        default=GenerationStatus.PENDING,
    )
    source = models.CharField(_("source"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("grid generation")
        verbose_name_plural = _("grid generations")
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="geo_one_active_generation"
            ),
            models.CheckConstraint(
                condition=Q(status__in=GenerationStatus.values), name="geo_generation_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_status_display()})"


class GridKind(models.TextChoices):
    MANAGEMENT = "management", _("Management grid")
    UNIT = "unit", _("Unit grid")


class Workstation(models.Model):
    """The staffed office of one or more management grids (网格工作站)."""

    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT)
    address = models.CharField(_("address"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("grid workstation")
        verbose_name_plural = _("grid workstations")

    def __str__(self) -> str:
        return self.name


class Grid(models.Model):
    """A polygon of a generation: a management grid owns cases, a unit grid locates them."""

    generation = models.ForeignKey(
        GridGeneration, verbose_name=_("generation"), on_delete=models.CASCADE, related_name="grids"
    )
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=GridKind.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="grids",
        help_text=_("The lowest region that contains the grid (usually a community)."),
    )
    workstation = models.ForeignKey(
        Workstation,
        verbose_name=_("workstation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grids",
    )
    geometry = models.JSONField(_("geometry (GeoJSON, WGS-84)"))
    min_lon = models.FloatField(editable=False)
    min_lat = models.FloatField(editable=False)
    max_lon = models.FloatField(editable=False)
    max_lat = models.FloatField(editable=False)
    area_m2 = models.FloatField(_("area (m²)"), default=0, editable=False)

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        constraints = [
            models.UniqueConstraint(
                fields=["generation", "code"], name="geo_grid_code_per_generation"
            ),
            models.CheckConstraint(
                condition=Q(min_lon__lte=models.F("max_lon")) & Q(min_lat__lte=models.F("max_lat")),
                name="geo_grid_bbox_ordered",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=GridKind.values), name="geo_grid_kind_known"
            ),
        ]
        indexes = [models.Index(fields=["generation", "kind"])]

    def __str__(self) -> str:
        return f"{self.name or self.code} ({self.code})"
