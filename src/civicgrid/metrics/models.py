"""Rollups: each case's contribution, and the counters summed per place, dimension and period.

`CaseContribution` is what each case adds to the rollups now (a few rows per case). When a
case changes, its contribution is computed again from the case's own rows and only the
difference is added to `Rollup`; so processing an event twice, or late, changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .counters import COUNTERS

ALL_TIME = dt.date(1970, 1, 1)  # the `period` of a span=all row


class Span(models.TextChoices):
    DAY = "d", _("Day")
    MONTH = "m", _("Month")
    ALL = "a", _("All time")


class Dim(models.TextChoices):
    """The one dimension a rollup row is broken down by (none: the total of the node)."""

    TOTAL = "", _("Total")
    CATEGORY = "c", _("Category")
    SOURCE = "s", _("Source")
    DEPARTMENT = "d", _("Department")


def _counters(field: type[models.Field]) -> dict[str, models.Field]:
    return {name: field(default=0) for name in COUNTERS}


ContributionCounters = type(
    "ContributionCounters",
    (models.Model,),
    {
        "__module__": __name__,
        "Meta": type("Meta", (), {"abstract": True}),
        **_counters(models.IntegerField),
    },
)
RollupCounters = type(
    "RollupCounters",
    (models.Model,),
    {
        "__module__": __name__,
        "Meta": type("Meta", (), {"abstract": True}),
        **_counters(models.BigIntegerField),
    },
)


class CaseContribution(ContributionCounters):  # type: ignore[misc, valid-type]
    """What one case adds to the rollups on one day for one department (0: none)."""

    pk = models.CompositePrimaryKey("case_id", "day", "department")
    # No database foreign key: this is a cache of what the case's own rows say, rebuilt and
    # checked by the reconcile job (which also takes out the rows of a deleted case); a key
    # would make a rebuild check ten million rows one by one for nothing.
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    day = models.DateField()
    department = models.IntegerField(default=0)  # accounts.Department id, 0 for none
    region_path = models.CharField(max_length=255)
    grid_code = models.CharField(max_length=32)
    category = models.IntegerField()  # cases.Category id
    source = models.CharField(max_length=10)

    class Meta:
        verbose_name = _("case contribution")
        verbose_name_plural = _("case contributions")
        indexes = [
            # The reconcile job looks at the cases these rows say are overdue.
            models.Index(
                fields=["case"], condition=Q(overdue__gt=0), name="metrics_contrib_overdue"
            ),
        ]


class Rollup(RollupCounters):  # type: ignore[misc, valid-type]
    """Counters summed for one node (a region or a grid), one period and one dimension value.

    `node` is a region's path ("/1/4/") or a grid's: its region's path plus "g:<code>/",
    so everything under a region is a prefix match, like `Case.region_path`.
    """

    span = models.CharField(max_length=1, choices=Span.choices)
    period = models.DateField()  # the day, the first of the month, or ALL_TIME
    node = models.CharField(max_length=300)
    level = models.CharField(max_length=16)  # a RegionLevel, or "grid"
    dim = models.CharField(max_length=1, choices=Dim.choices, blank=True)
    key = models.CharField(max_length=32, blank=True)  # category id, source, department id

    class Meta:
        verbose_name = _("rollup")
        verbose_name_plural = _("rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["span", "period", "node", "dim", "key"], name="metrics_rollup_key"
            ),
        ]
        indexes = [
            # A level's nodes in a period: the rankings.
            models.Index(fields=["span", "period", "level", "dim"]),
            # One node's rows of one dimension over a range of days: the figures, trends and
            # breakdowns of a place.
            models.Index(fields=["node", "dim", "span", "period"], name="metrics_rollup_node"),
        ]


class RollupState(models.Model):
    """One row: taken FOR UPDATE by a rebuild, FOR SHARE by every incremental update."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    last_drift = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rollup state")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="metrics_state_singleton")]
