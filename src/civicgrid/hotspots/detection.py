"""Finding hot spots: DBSCAN with the haversine metric over one category's recent cases.

Pure functions over plain points, so the method can be tested and tuned without a database.
Why DBSCAN, and why these parameters: docs/hotspots.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from sklearn.cluster import DBSCAN

EARTH_RADIUS_M = 6_371_008.8

DEFAULTS: dict[str, Any] = {
    "HOTSPOT_EPS_M": 50,  # neighbourhood radius of DBSCAN
    "HOTSPOT_MIN_CASES": 3,  # DBSCAN min_samples: a point and two neighbours
    "HOTSPOT_WINDOW_DAYS": 30,  # rolling window of reported_at
    "HOTSPOT_MIN_DAYS": 2,  # distinct local days: one burst on one day is a duplicate, not a pattern
}


def param(name: str) -> Any:
    return settings.CIVICGRID.get(name, DEFAULTS[name])


@dataclass(frozen=True)
class Point:
    case_id: int
    lon: float
    lat: float
    at: dt.datetime
    grid_id: int


@dataclass
class Cluster:
    points: list[Point]
    lon: float
    lat: float
    radius_m: float
    grid_id: int

    @property
    def case_ids(self) -> set[int]:
        return {p.case_id for p in self.points}

    @property
    def first_seen(self) -> dt.datetime:
        return min(p.at for p in self.points)

    @property
    def last_seen(self) -> dt.datetime:
        return max(p.at for p in self.points)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _summarise(points: list[Point]) -> Cluster:
    # The mean of a few points tens of metres apart is as good as a spherical mean.
    lon = sum(p.lon for p in points) / len(points)
    lat = sum(p.lat for p in points) / len(points)
    radius = max(haversine_m(lon, lat, p.lon, p.lat) for p in points)
    # Ties go to the lowest grid id, so a re-run picks the same grid.
    counts = Counter(p.grid_id for p in points)
    grid_id = min(counts, key=lambda g: (-counts[g], g))
    return Cluster(points=points, lon=lon, lat=lat, radius_m=radius, grid_id=grid_id)


def find_clusters(
    points: list[Point],
    *,
    eps_m: float,
    min_cases: int,
    min_days: int = 1,
    tz: dt.tzinfo | None = None,
) -> list[Cluster]:
    """Dense groups of points (one category); noise points belong to no cluster.

    Deterministic for a given input order; the caller passes points sorted by case id.
    """
    if len(points) < min_cases:
        return []
    coords = np.radians(np.array([[p.lat, p.lon] for p in points], dtype=float))
    labels = DBSCAN(
        eps=eps_m / EARTH_RADIUS_M,
        min_samples=min_cases,
        metric="haversine",
        algorithm="ball_tree",
    ).fit_predict(coords)
    groups: dict[int, list[Point]] = {}
    for point, label in zip(points, labels, strict=True):
        if label >= 0:
            groups.setdefault(int(label), []).append(point)
    clusters = []
    for members in groups.values():
        days = {(p.at.astimezone(tz) if tz else p.at).date() for p in members}
        if len(days) >= min_days:
            clusters.append(_summarise(members))
    clusters.sort(key=lambda c: min(c.case_ids))
    return clusters


def overlaps(cluster: Cluster, lon: float, lat: float, radius_m: float, eps_m: float) -> bool:
    """Whether a cluster is the same place as a stored hot spot: their discs (widened by eps) meet."""
    return haversine_m(cluster.lon, cluster.lat, lon, lat) <= cluster.radius_m + radius_m + eps_m
