"""import_grids, import_regions and activate_generation, on small files written per test."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from civicgrid.core.testing import LAT0, LAT1, box
from civicgrid.geo.coords import from_wgs84
from civicgrid.geo.locator import get_locator, reset_locator
from civicgrid.geo.models import GenerationStatus, Grid, GridGeneration, Region


def _feature(code: Any, kind: str, region: str, geometry: Any, **extra: Any) -> dict[str, Any]:
    props = {"code": code, "kind": kind, "region": region, **extra}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _collection(*features: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **top, "features": list(features)}


GOOD = _collection(
    _feature(310104001001001, "management", "310104001001", box(121.40, LAT0, 121.41, LAT1),
             name="甲一网格"),
    _feature("310104001002001", "management", "310104001002", box(121.41, LAT0, 121.42, LAT1)),
    _feature("310104001001001U01", "unit", "310104001001", box(121.40, LAT0, 121.405, 31.205)),
)  # fmt: skip


def _write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _run(*args: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- import_grids ---


def test_import_grids_makes_a_pending_generation(world, tmp_path):
    path = _write(tmp_path, "grids-2025.geojson", GOOD)
    out = _run("import_grids", str(path))
    generation = GridGeneration.objects.get(label="grids-2025")
    assert generation.status == GenerationStatus.PENDING and generation.source == path.name
    assert f"activate_generation {generation.pk}" in out
    grid = generation.grids.get(code="310104001001001")  # a numeric code is kept as its digits
    assert grid.name == "甲一网格" and grid.region.code == "310104001001"
    assert generation.grids.filter(kind="unit").count() == 1


def test_import_grids_with_activate_makes_it_active_and_locatable(world, tmp_path):
    path = _write(tmp_path, "g.geojson", GOOD)
    _run("import_grids", str(path), "--label", "2025", "--activate")
    generation = GridGeneration.objects.get(label="2025")
    assert generation.status == GenerationStatus.ACTIVE
    reset_locator()
    where = get_locator().locate(121.402, 31.202)
    assert where.management_grid_code == "310104001001001"
    assert where.unit_grid_code == "310104001001001U01"


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_import_grids_converts_gcj02_and_bd09_vertices_to_wgs84(world, tmp_path, crs):
    # given a grid whose corners are the WGS-84 box's corners written in another datum
    wgs = box(121.40, LAT0, 121.41, LAT1)
    ring = [list(from_wgs84(x, y, crs)) for x, y in wgs["coordinates"][0]]
    geometry = {"type": "Polygon", "coordinates": [ring]}
    path = _write(tmp_path, "g.geojson", _collection(
        _feature("G", "management", "310104001001", geometry), crs=crs))  # fmt: skip
    # when imported
    _run("import_grids", str(path), "--label", crs)
    # then the stored vertices are WGS-84 again, to 1e-6 degrees
    stored = Grid.objects.get(generation__label=crs).geometry["coordinates"][0]
    for (x, y), (sx, sy) in zip(wgs["coordinates"][0], stored, strict=True):
        assert abs(x - sx) < 1e-6 and abs(y - sy) < 1e-6


def test_import_grids_accepts_the_geojson_2008_crs84_name(world, tmp_path):
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    path = _write(tmp_path, "g.geojson", {**GOOD, "crs": crs})
    _run("import_grids", str(path), "--label", "crs84")
    stored = Grid.objects.get(generation__label="crs84", code="310104001002001")
    assert stored.min_lon == 121.41


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"type": "FeatureCollection", "features": [', "Not valid JSON at line 1"),
        ({"type": "Feature", "geometry": None, "properties": {}}, "FeatureCollection"),
        ({"type": "FeatureCollection", "features": {}}, "features"),
        (_collection({"type": "Feature", "geometry": None}), "features[0].properties"),
        (_collection({"type": "Point"}), "features[0]"),
        (_collection(_feature("X", "management", "310104001001", None)), "features[0].geometry"),
        ({**GOOD, "crs": "epsg:3857"}, "crs"),
        (_collection(*GOOD["features"][:1], _feature("Y", "management", "310104001001",
                     {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]})),
         "features[1].geometry"),
        (_collection(_feature("X", "management", "999", box(121.4, 31.2, 121.41, 31.21))),
         "features[0].properties.region"),
        (_collection(_feature("X", "block", "310104001001", box(121.4, 31.2, 121.41, 31.21))),
         "features[0].properties.kind"),
        (_collection(*GOOD["features"][:1], GOOD["features"][0]), "features[1].properties.code"),
        (_collection(), "no grids"),
    ],
)  # fmt: skip
def test_import_grids_refuses_a_malformed_file_clearly_and_writes_nothing(
    world, tmp_path, content, message
):
    path = _write(tmp_path, "bad.geojson", content)
    before = GridGeneration.objects.count()
    with pytest.raises(CommandError) as exc:
        _run("import_grids", str(path))
    assert message in str(exc.value)
    assert GridGeneration.objects.count() == before


def test_import_grids_names_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read the file"):
        _run("import_grids", str(tmp_path / "nope.geojson"))


def test_a_failed_activation_leaves_no_pending_generation(world, tmp_path):
    units = _collection(GOOD["features"][2])
    path = _write(tmp_path, "units.geojson", units)
    before = GridGeneration.objects.count()
    with pytest.raises(CommandError, match="management grid"):
        _run("import_grids", str(path), "--activate")
    assert GridGeneration.objects.count() == before


# --- activate_generation ---


def test_activate_generation_activates_a_pending_one(world, tmp_path):
    _run("import_grids", str(_write(tmp_path, "g.geojson", GOOD)), "--label", "next")
    generation = GridGeneration.objects.get(label="next")
    out = _run("activate_generation", str(generation.pk))
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.ACTIVE
    assert "now active" in out


def test_activate_generation_refuses_unknown_and_non_pending_ids(world):
    active = GridGeneration.objects.get(status=GenerationStatus.ACTIVE)
    with pytest.raises(CommandError, match="pending"):
        _run("activate_generation", str(active.pk))
    with pytest.raises(CommandError, match="No grid generation"):
        _run("activate_generation", "99999")


# --- import_regions ---


def test_import_regions_from_csv_builds_the_tree(db, tmp_path):
    csv_text = (
        "\ufeffcode,name,level,parent_code\n"
        "310104,徐汇区,district,\n"
        "310104001,湖南路街道,subdistrict,310104\n"
        "310104001001,某某社区,community,310104001\n"
    )
    out = _run("import_regions", str(_write(tmp_path, "regions.csv", csv_text)))
    assert "3" in out
    d, s, c = (Region.objects.get(code=x) for x in ("310104", "310104001", "310104001001"))
    assert c.parent == s and s.parent == d
    assert c.path == f"/{d.pk}/{s.pk}/{c.pk}/"


def test_import_regions_from_json_accepts_nested_children(db, tmp_path):
    data = {"regions": [
        {"code": "310104", "name": "徐汇区", "level": "district", "children": [
            {"code": "310104001", "name": "湖南路街道", "level": "subdistrict", "children": [
                {"code": "310104001001", "name": "某某社区", "level": "community"}]}]},
        {"code": "310104002", "name": "天平路街道", "level": "subdistrict",
         "parent_code": "310104"},
    ]}  # fmt: skip
    _run("import_regions", str(_write(tmp_path, "regions.json", data)))
    assert Region.objects.get(code="310104001001").parent.code == "310104001"
    assert Region.objects.get(code="310104002").parent.code == "310104"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.csv", "code,name\n1,x\n", "level"),
        ("r.csv", "code,name,level,parent_code\n310104,区,district,\n3101,x,town,310104\n",
         "regions[1].level"),
        ("r.csv", "code,name,level,parent_code\n310104001,街道,subdistrict,310199\n",
         "regions[0].parent_code"),
        ("r.json", "[{", "Not valid JSON"),
        ("r.json", {"code": "1"}, "list of regions"),
        ("r.json", [{"code": "310104", "name": "区", "level": "district"}, "x"], "regions[1]"),
    ],
)  # fmt: skip
def test_import_regions_refuses_a_bad_file_and_writes_nothing(db, tmp_path, name, content, message):
    with pytest.raises(CommandError) as exc:
        _run("import_regions", str(_write(tmp_path, name, content)))
    assert message in str(exc.value)
    assert not Region.objects.exists()
