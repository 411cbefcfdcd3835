from __future__ import annotations

import pytest

from civicgrid.core.testing import INSIDE, World, build_world


@pytest.fixture
def chinese_default(settings) -> None:
    """The product's default language (settings.base); the test settings run in English."""
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def reported_case(world):
    from civicgrid.cases.services import case_create

    lon, lat = INSIDE["G1"]
    return case_create(
        actor=world.user("resident"), category="0101", description="楼下垃圾堆放", lon=lon, lat=lat
    ).case
