from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.accounts.models import Role, User
from civicgrid.cases import services as cases
from civicgrid.cases.models import Case
from civicgrid.core import clock
from civicgrid.core.testing import INSIDE
from civicgrid.hotspots.models import Hotspot
from civicgrid.hotspots.services import hotspot_refresh

# About 11 m per 0.0001° of latitude here; all these lie within 25 m of the first.
NEAR = [(0, 0), (0.0001, 0.0001), (-0.0001, 0.00005), (0.00015, -0.0001)]


def report(
    world,
    *,
    days_ago: float,
    dx: float = 0,
    dy: float = 0,
    category: str = "0101",
    grid: str = "G1",
    who: str = "operator",
) -> Case:
    lon, lat = INSIDE[grid]
    with clock.frozen(clock.now() - dt.timedelta(days=days_ago)):
        return cases.case_create(
            actor=world.user(who),
            category=category,
            description="垃圾又堆在路口",
            lon=lon + dx,
            lat=lat + dy,
        ).case


@pytest.fixture
def garbage_cases(world) -> list[Case]:
    """Four reports of garbage at one corner of G1 over the last ten days."""
    return [report(world, days_ago=10 - 3 * i, dx=dx, dy=dy) for i, (dx, dy) in enumerate(NEAR)]


@pytest.fixture
def hotspot(garbage_cases) -> Hotspot:
    (spot_id,) = hotspot_refresh().created
    return Hotspot.objects.get(pk=spot_id)


@pytest.fixture
def inspector_b(world) -> User:
    """A second inspector of grid G1."""
    return User.objects.create_user(username="inspector_b", role=Role.INSPECTOR, grid_codes=["G1"])
