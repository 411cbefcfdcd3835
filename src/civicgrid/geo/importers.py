"""Reading grid and region files into the specs the services take.

Only the shape of the file is checked here (is it a FeatureCollection, does each feature have
properties); the values (kinds, codes, regions, polygons) are checked by the services, which
name the row at fault as `grids[i]` / `regions[i]`, the i-th feature or row counted from 0.
Coordinates in GCJ-02 or BD-09 are converted to WGS-84 here, at the edge.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext as _

from civicgrid.core.errors import ValidationFailed

from .coords import CRS, to_wgs84_array
from .services import GridSpec, RegionSpec, parse_geometry

# The GeoJSON 2008 "crs" member, by name; anything naming plain lon/lat WGS-84 is accepted.
_WGS84_NAMES = {"urn:ogc:def:crs:ogc:1.3:crs84", "epsg:4326", "urn:ogc:def:crs:epsg::4326"}


def load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ValidationFailed(
            _("Cannot read the file: %(e)s") % {"e": e.strerror or e}, field="path"
        ) from None
    except UnicodeDecodeError:
        raise ValidationFailed(_("The file is not UTF-8 text."), field="path") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValidationFailed(
            _("Not valid JSON at line %(line)d, column %(col)d: %(msg)s")
            % {"line": e.lineno, "col": e.colno, "msg": e.msg},
            field="path",
        ) from None


def _crs_of(data: dict[str, Any]) -> CRS:
    value = data.get("crs", CRS.WGS84)
    if isinstance(value, dict):  # {"type": "name", "properties": {"name": "EPSG:4326"}}
        name = str((value.get("properties") or {}).get("name", "")).lower()
        if name in _WGS84_NAMES:
            return CRS.WGS84
        value = name
    try:
        return CRS(str(value).lower())
    except ValueError:
        raise ValidationFailed(
            _("Unknown coordinate system '%(crs)s': use wgs84, gcj02 or bd09.") % {"crs": value},
            field="crs",
        ) from None


def _to_wgs84_geojson(geometry: Any, crs: CRS, field: str) -> dict[str, Any]:
    if crs == CRS.WGS84:
        return geometry
    geom = parse_geometry(geometry, field=field)

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84_array(xy[:, 0], xy[:, 1], crs)
        return np.column_stack([lon, lat])

    return json.loads(shapely.to_geojson(shapely.transform(geom, convert)))


def grid_specs_from_geojson(data: Any) -> list[GridSpec]:
    """GridSpecs, in file order, from a FeatureCollection (see docs/grids.md for the format)."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValidationFailed(_("The file must hold a GeoJSON FeatureCollection."), field="type")
    crs = _crs_of(data)
    features = data.get("features")
    if not isinstance(features, list):
        raise ValidationFailed(_("'features' must be a list."), field="features")
    specs = []
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise ValidationFailed(_("Each item must be a GeoJSON Feature."), field=where)
        props = feature.get("properties")
        if not isinstance(props, dict):
            raise ValidationFailed(
                _("A feature needs properties code, kind and region."), field=f"{where}.properties"
            )
        if feature.get("geometry") is None:
            raise ValidationFailed(_("A feature needs a geometry."), field=f"{where}.geometry")
        specs.append(
            GridSpec(
                code=_prop(props.get("code")),
                kind=_prop(props.get("kind")),
                region_code=_prop(props.get("region")),
                name=_prop(props.get("name")),
                geometry=_to_wgs84_geojson(feature["geometry"], crs, f"grids[{i}].geometry"),
            )
        )
    return specs


def _prop(value: Any) -> str:
    # Codes are often written as JSON numbers; a code is text, so take its digits as written.
    return "" if value is None else str(value).strip()


_SPEC_FIELD = re.compile(r"^grids\[(\d+)\]\.(\w+)$")


def feature_field(field: str | None) -> str | None:
    """The place in the GeoJSON file of a service error: grids[3].region → features[3].properties.region."""
    m = _SPEC_FIELD.match(field or "")
    if not m:
        return field
    i, name = m.groups()
    return f"features[{i}].geometry" if name == "geometry" else f"features[{i}].properties.{name}"


REGION_COLUMNS = ("code", "name", "level", "parent_code")


def region_specs_from_file(path: Path) -> list[RegionSpec]:
    """Rows of a region CSV (header code,name,level,parent_code) or JSON file, parents first.

    JSON is a list of objects (or {"regions": [...]}); an object may hold its `children`
    instead of each child naming its `parent_code`.
    """
    if path.suffix.lower() == ".csv":
        return _regions_from_csv(path)
    data = load_json(path)
    if isinstance(data, dict) and "regions" in data:
        data = data["regions"]
    if not isinstance(data, list):
        raise ValidationFailed(_("The file must hold a list of regions."), field="regions")
    return list(_flatten(data, parent_code="", where="regions"))


def _flatten(items: list[Any], *, parent_code: str, where: str) -> Iterator[RegionSpec]:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed(_("Each region must be an object."), field=f"{where}[{i}]")
        spec = RegionSpec(
            code=_prop(item.get("code")),
            name=_prop(item.get("name")),
            level=_prop(item.get("level")),
            parent_code=_prop(item.get("parent_code")) or parent_code,
        )
        yield spec
        children = item.get("children") or []
        if not isinstance(children, list):
            raise ValidationFailed(_("'children' must be a list."), field=f"{where}[{i}].children")
        yield from _flatten(children, parent_code=spec.code, where=f"{where}[{i}].children")


def _regions_from_csv(path: Path) -> list[RegionSpec]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a BOM
    except OSError as e:
        raise ValidationFailed(
            _("Cannot read the file: %(e)s") % {"e": e.strerror or e}, field="path"
        ) from None
    except UnicodeDecodeError:
        raise ValidationFailed(_("The file is not UTF-8 text."), field="path") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REGION_COLUMNS[:3] if c not in header]
    if missing:
        raise ValidationFailed(
            _("The CSV header lacks the column(s) %(cols)s.") % {"cols": ", ".join(missing)},
            field="header",
        )
    reader.fieldnames = header
    return [
        RegionSpec(
            code=_prop(row.get("code")),
            name=_prop(row.get("name")),
            level=_prop(row.get("level")),
            parent_code=_prop(row.get("parent_code")),
        )
        for row in reader
    ]
