"""Writes of hot spots: the periodic refresh. Re-inspection plans are in `rechecks.py`."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from civicgrid.cases.models import Case, State
from civicgrid.core import clock
from civicgrid.geo.models import Grid

from .detection import Cluster, Point, find_clusters, haversine_m, overlaps, param
from .models import Hotspot, HotspotStatus
from .rechecks import (
    recheck_plan_create,
    recheck_task_flag_missed,
    recheck_task_record,
)

# A rejected report was not a real problem, and a merged one is counted in the case it joined.
NOT_COUNTED = (State.REJECTED, State.MERGED)
_REFRESH_LOCK = 7_300_002


@dataclass
class RefreshResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    faded: list[int] = field(default_factory=list)


def _points(category_id: int, since: dt.datetime, until: dt.datetime) -> list[Point]:
    rows = (
        Case.objects.filter(category_id=category_id, reported_at__gte=since, reported_at__lte=until)
        .exclude(state__in=NOT_COUNTED)
        .order_by("id")
        .values_list("id", "lon", "lat", "reported_at", "management_grid_id")
    )
    return [Point(*row) for row in rows]


def _match(
    cluster: Cluster, candidates: list[Hotspot], members: dict[int, set[int]], eps_m: float
) -> Hotspot | None:
    """The stored hot spot this cluster continues: most shared cases, else the nearest overlap."""
    best, best_key = None, None
    for spot in candidates:
        shared = len(cluster.case_ids & members[spot.pk])
        if not shared and not overlaps(cluster, spot.lon, spot.lat, spot.radius_m, eps_m):
            continue
        key = (-shared, haversine_m(cluster.lon, cluster.lat, spot.lon, spot.lat), spot.pk)
        if best_key is None or key < best_key:
            best, best_key = spot, key
    return best


# How far a stored hot spot's centre may lie beyond a cluster's edge and still overlap it:
# eps plus the widest hot spot we expect. Only a prefilter; `overlaps` decides.
_NEAR_MARGIN_M = 500


def _near_q(cluster: Cluster, eps_m: float) -> Q:
    reach = cluster.radius_m + eps_m + _NEAR_MARGIN_M
    dlat = reach / 111_320
    dlon = reach / (111_320 * max(math.cos(math.radians(cluster.lat)), 0.01))
    return Q(
        lat__range=(cluster.lat - dlat, cluster.lat + dlat),
        lon__range=(cluster.lon - dlon, cluster.lon + dlon),
    )


def _save(spot: Hotspot, cluster: Cluster, grids: dict[int, Grid], now: dt.datetime) -> None:
    grid = grids[cluster.grid_id]
    spot.lon, spot.lat, spot.radius_m = cluster.lon, cluster.lat, round(cluster.radius_m, 1)
    spot.case_count = len(cluster.case_ids)
    # first_seen remembers when the place first became a hot spot, beyond the rolling window.
    spot.first_seen = min(spot.first_seen, cluster.first_seen) if spot.pk else cluster.first_seen
    spot.last_seen = cluster.last_seen
    spot.grid, spot.region = grid, grid.region
    spot.region_path = grid.region.path
    spot.status = HotspotStatus.ACTIVE
    spot.refreshed_at = now
    spot.save()
    spot.cases.set(sorted(cluster.case_ids))


def _lock() -> None:
    # Two refreshes at once (the job and the command) must not both create the same hot spot.
    # SQLite already serialises writers; PostgreSQL needs a lock over "read, then insert".
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_REFRESH_LOCK])


def _refresh_category(
    category_id: int, clusters: list[Cluster], *, now: dt.datetime
) -> RefreshResult:
    result = RefreshResult()
    eps_m = float(param("HOTSPOT_EPS_M"))
    with transaction.atomic():
        _lock()
        near = Q(status=HotspotStatus.ACTIVE)
        for cluster in clusters:
            near |= _near_q(cluster, eps_m)  # a faded spot that comes back is the same spot
        candidates = list(Hotspot.objects.filter(near, category_id=category_id).order_by("id"))
        members: dict[int, set[int]] = {spot.pk: set() for spot in candidates}
        for spot_id, case_id in Hotspot.cases.through.objects.filter(
            hotspot_id__in=members
        ).values_list("hotspot_id", "case_id"):
            members[spot_id].add(case_id)
        grids = {
            g.pk: g
            for g in Grid.objects.select_related("region").filter(
                pk__in={c.grid_id for c in clusters}
            )
        }
        matched: set[int] = set()
        for cluster in clusters:
            free = [s for s in candidates if s.pk not in matched]
            spot = _match(cluster, free, members, eps_m)
            if spot is None:
                spot = Hotspot(category_id=category_id, detected_at=now)
                _save(spot, cluster, grids, now)
                result.created.append(spot.pk)
            else:
                _save(spot, cluster, grids, now)
                result.updated.append(spot.pk)
            matched.add(spot.pk)
        for spot in candidates:
            if spot.pk not in matched and spot.status == HotspotStatus.ACTIVE:
                Hotspot.objects.filter(pk=spot.pk).update(
                    status=HotspotStatus.FADED, refreshed_at=now
                )
                result.faded.append(spot.pk)
    return result


def hotspot_refresh(
    *, now: dt.datetime | None = None, category_ids: list[int] | None = None
) -> RefreshResult:
    """Cluster each category's recent cases and bring the stored hot spots in line. Idempotent.

    A re-run on the same cases updates the same rows: a cluster continues the stored hot spot of
    its category that shares most of its cases, or else whose disc overlaps it; clusters that
    continue nothing are new hot spots; active hot spots that nothing continues have faded.
    """
    now = now or clock.now()
    since = now - dt.timedelta(days=param("HOTSPOT_WINDOW_DAYS"))
    if category_ids is None:
        recent = (
            Case.objects.filter(reported_at__gte=since, reported_at__lte=now)
            .order_by()  # no default ordering: it would make DISTINCT per case
            .values_list("category_id", flat=True)
            .distinct()
        )
        active = Hotspot.objects.filter(status=HotspotStatus.ACTIVE).values_list(
            "category_id", flat=True
        )
        category_ids = sorted(set(recent) | set(active))
    total = RefreshResult()
    tz = timezone.get_default_timezone()
    for category_id in category_ids:
        clusters = find_clusters(
            _points(category_id, since, now),
            eps_m=float(param("HOTSPOT_EPS_M")),
            min_cases=int(param("HOTSPOT_MIN_CASES")),
            min_days=int(param("HOTSPOT_MIN_DAYS")),
            tz=tz,
        )
        part = _refresh_category(category_id, clusters, now=now)
        total.created += part.created
        total.updated += part.updated
        total.faded += part.faded
    return total


__all__ = [
    "RefreshResult",
    "hotspot_refresh",
    "recheck_plan_create",
    "recheck_task_flag_missed",
    "recheck_task_record",
]
