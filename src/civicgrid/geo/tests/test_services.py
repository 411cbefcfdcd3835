"""Regions and grid generations: paths, all-or-nothing imports, one active generation."""

from __future__ import annotations

import dataclasses

import pytest
from django.db import IntegrityError, transaction

from civicgrid.audit.models import AuditEntry
from civicgrid.core.errors import Conflict, ValidationFailed
from civicgrid.core.testing import LAT0, LAT1, box
from civicgrid.geo.models import GenerationStatus, Grid, GridGeneration, Region
from civicgrid.geo.services import (
    GridSpec,
    RegionSpec,
    generation_activate,
    generation_import,
    region_create,
    region_import,
    region_update,
)

BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[121.40, 31.20], [121.41, 31.21], [121.41, 31.20], [121.40, 31.21], [121.40, 31.20]]],
}  # fmt: skip


def _specs(n: int = 5) -> list[GridSpec]:
    return [
        GridSpec(code=f"310104001001{i:03d}", kind="management", region_code="310104001001",
                 geometry=box(121.40 + i * 0.01, LAT0, 121.41 + i * 0.01, LAT1))
        for i in range(n)
    ]  # fmt: skip


def test_import_creates_a_pending_generation_with_bbox_and_area(world):
    generation = generation_import(label="2025 survey", grids=_specs(), actor=world.user("admin"))
    assert generation.status == GenerationStatus.PENDING
    grid = generation.grids.get(code="310104001001000")
    assert (grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat) == (121.40, LAT0, 121.41, LAT1)
    assert 1_000_000 < grid.area_m2 < 1_200_000  # 0.01° × 0.01° at 31°N is about 1.05 km²
    assert AuditEntry.objects.filter(action="grid_generation.import").exists()


def _bad(field: str, spec: GridSpec) -> GridSpec:
    match field:
        case "geometry":
            return dataclasses.replace(spec, geometry=BOWTIE)
        case "region":
            return dataclasses.replace(spec, region_code="999999")
        case "code":
            return dataclasses.replace(spec, code="310104001001000")  # the code of grids[0]
        case "kind":
            return dataclasses.replace(spec, kind="district")
    raise AssertionError(field)


@pytest.mark.parametrize("field", ["geometry", "region", "code", "kind"])
def test_a_bad_grid_fails_the_whole_import_naming_its_field(world, field):
    # given five grids of which the fourth is bad
    specs = _specs()
    specs[3] = _bad(field, specs[3])
    generations, grids = GridGeneration.objects.count(), Grid.objects.count()
    # when they are imported
    with pytest.raises(ValidationFailed) as exc:
        generation_import(label="bad", grids=specs)
    # then the error names the fourth grid's field and nothing at all was written
    assert exc.value.field == f"grids[3].{field}"
    assert GridGeneration.objects.count() == generations
    assert Grid.objects.count() == grids


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Point", "coordinates": [121.4, 31.2]},
        {"type": "Polygon", "coordinates": "nope"},
        {"type": "Polygon", "coordinates": [[[500, 31.2], [501, 31.2], [501, 32], [500, 31.2]]]},
        "not json",
    ],
)
def test_geometry_that_is_not_a_valid_lon_lat_polygon_is_refused(world, geometry):
    specs = [dataclasses.replace(_specs(1)[0], geometry=geometry)]
    with pytest.raises(ValidationFailed) as exc:
        generation_import(label="bad", grids=specs)
    assert exc.value.field == "grids[0].geometry"


def test_an_empty_import_is_refused(world):
    with pytest.raises(ValidationFailed) as exc:
        generation_import(label="empty", grids=[])
    assert exc.value.field == "grids"
    assert not GridGeneration.objects.filter(label="empty").exists()


def test_activation_retires_the_previous_generation(world):
    first = GridGeneration.objects.get(status=GenerationStatus.ACTIVE)
    second = generation_activate(
        generation=generation_import(label="v2", grids=_specs()), actor=world.user("admin")
    )
    first.refresh_from_db()
    assert first.status == GenerationStatus.RETIRED
    assert second.status == GenerationStatus.ACTIVE and second.activated_at is not None
    assert GridGeneration.objects.filter(status=GenerationStatus.ACTIVE).count() == 1
    assert AuditEntry.objects.filter(action="grid_generation.activate").exists()


def test_the_database_allows_only_one_active_generation(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        GridGeneration.objects.create(label="rogue", status=GenerationStatus.ACTIVE)


def test_the_database_refuses_an_unknown_grid_kind(world):
    generation = generation_import(label="v2", grids=_specs(1))
    grid = generation.grids.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Grid.objects.filter(pk=grid.pk).update(kind="district")


@pytest.mark.parametrize("status", [GenerationStatus.ACTIVE, GenerationStatus.RETIRED])
def test_activating_a_generation_that_is_not_pending_is_a_conflict(world, status):
    generation = GridGeneration.objects.get(status=GenerationStatus.ACTIVE)
    if status == GenerationStatus.RETIRED:
        generation_activate(generation=generation_import(label="v2", grids=_specs()))
        generation.refresh_from_db()
    with pytest.raises(Conflict):
        generation_activate(generation=generation)
    generation.refresh_from_db()
    assert generation.status == status


def test_a_generation_without_management_grids_cannot_be_activated(world):
    units = [dataclasses.replace(s, kind="unit") for s in _specs(2)]
    generation = generation_import(label="units only", grids=units)
    with pytest.raises(ValidationFailed):
        generation_activate(generation=generation)
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.PENDING


def test_region_paths_are_materialised_from_the_root(world):
    d, s1, c1 = world.regions["D"], world.regions["S1"], world.regions["C1"]
    assert d.path == f"/{d.pk}/"
    assert c1.path == f"/{d.pk}/{s1.pk}/{c1.pk}/"
    compound = region_create(code="310104001001C01", name="小区", level="compound", parent=c1)
    assert Region.objects.get(pk=compound.pk).path == f"{c1.path}{compound.pk}/"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "310104", "level": "district"}, "code"),  # exists
        ({"code": "", "level": "district"}, "code"),
        ({"code": "X" * 40, "level": "district"}, "code"),
        ({"code": "N1", "level": "county"}, "level"),
        ({"code": "N1", "level": "district", "parent": "C1"}, "level"),  # above its parent
        ({"code": "N1", "level": "community", "name": " "}, "name"),
    ],
)
def test_a_bad_region_is_refused_naming_the_field(world, kwargs, field):
    kwargs = {"name": "新", **kwargs}
    if "parent" in kwargs:
        kwargs["parent"] = world.regions[kwargs["parent"]]
    count = Region.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        region_create(**kwargs)
    assert exc.value.field == field
    assert Region.objects.count() == count


def test_region_import_is_all_or_nothing(world):
    rows = [
        RegionSpec(code="310105", name="新区", level="district"),
        RegionSpec(code="310105001", name="新街道", level="subdistrict", parent_code="310105"),
        RegionSpec(code="310105001001", name="新社区", level="community", parent_code="310105009"),
    ]
    with pytest.raises(ValidationFailed) as exc:
        region_import(regions=rows)
    assert exc.value.field == "regions[2].parent_code"
    assert not Region.objects.filter(code__startswith="310105").exists()


def test_region_update_renames_and_keeps_the_place(world):
    c1 = world.regions["C1"]
    region_update(region=c1, name="甲社区（新）", actor=world.user("admin"))
    c1.refresh_from_db()
    assert c1.name == "甲社区（新）" and c1.code == "310104001001"
    assert AuditEntry.objects.filter(action="region.update").exists()
