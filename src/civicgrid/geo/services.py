"""Writes to places and grids: regions with their paths, grid generations imported then activated."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.audit.services import audit_record
from civicgrid.core.errors import Conflict, ValidationFailed

from .locator import expire_locator
from .models import LEVEL_ORDER, GenerationStatus, Grid, GridGeneration, GridKind, Region

CODE_MAX = Region._meta.get_field("code").max_length or 32
NAME_MAX = Region._meta.get_field("name").max_length or 100


def _text(value: Any, *, field: str, max_length: int, what: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValidationFailed(_("The %(what)s is required.") % {"what": what}, field=field)
    if len(text) > max_length:
        raise ValidationFailed(
            _("The %(what)s is longer than %(n)d characters.") % {"what": what, "n": max_length},
            field=field,
        )
    return text


def region_check(
    *, code: str, name: str, level: str, parent: Region | None, prefix: str = ""
) -> tuple[str, str]:
    """The cleaned code and name of a new region, or ValidationFailed naming the field.

    Shared by region_create and the admin form, so both refuse the same things.
    """
    code = _text(code, field=f"{prefix}code", max_length=CODE_MAX, what=_("code"))
    name = _text(name, field=f"{prefix}name", max_length=NAME_MAX, what=_("name"))
    depth = {str(lv): i for i, lv in enumerate(LEVEL_ORDER)}
    if level not in depth:
        raise ValidationFailed(
            _("Unknown region level '%(l)s'.") % {"l": level}, field=f"{prefix}level"
        )
    # A child sits strictly below its parent (a community under a subdistrict, never above).
    if parent is not None and depth[level] <= depth[parent.level]:
        raise ValidationFailed(
            _("A %(child)s cannot be inside a %(parent)s.")
            % {"child": level, "parent": parent.level},
            field=f"{prefix}level",
        )
    if Region.objects.filter(code=code).exists():
        raise ValidationFailed(
            _("A region with code %(c)s exists already.") % {"c": code}, field=f"{prefix}code"
        )
    return code, name


def region_create(
    *,
    code: str,
    name: str,
    level: str,
    parent: Region | None = None,
    boundary: Mapping[str, Any] | None = None,
    actor: Any = None,
) -> Region:
    """A region below `parent`, with its materialised path ("/1/4/17/") set in the same transaction."""
    code, name = region_check(code=code, name=name, level=level, parent=parent)
    if boundary:
        parse_geometry(boundary, field="boundary")
    try:
        with transaction.atomic():
            region = Region.objects.create(
                code=code,
                name=name,
                level=level,
                parent=parent,
                boundary=dict(boundary) if boundary else None,
            )
            region.path = f"{parent.path if parent else '/'}{region.pk}/"
            Region.objects.filter(pk=region.pk).update(path=region.path)
            if actor is not None:
                audit_record(
                    actor=actor,
                    action="region.create",
                    obj=region,
                    after={"code": code, "name": name, "level": level},
                )
    except IntegrityError:  # the same code created by someone else since the check
        raise ValidationFailed(
            _("A region with code %(c)s exists already.") % {"c": code}, field="code"
        ) from None
    return region


def region_update(
    *,
    region: Region,
    name: str,
    boundary: Mapping[str, Any] | None = None,
    actor: Any = None,
) -> Region:
    """Rename a region or change its boundary; its code, level and place in the tree stay."""
    name = _text(name, field="name", max_length=NAME_MAX, what=_("name"))
    if boundary:
        parse_geometry(boundary, field="boundary")
    with transaction.atomic():
        region = Region.objects.select_for_update().get(pk=region.pk)
        before = {"name": region.name, "boundary": region.boundary is not None}
        region.name = name
        region.boundary = dict(boundary) if boundary else None
        region.save(update_fields=["name", "boundary"])
        if actor is not None:
            audit_record(
                actor=actor,
                action="region.update",
                obj=region,
                before=before,
                after={"name": name, "boundary": region.boundary is not None},
            )
    return region


@dataclass(frozen=True)
class RegionSpec:
    code: str
    name: str
    level: str
    parent_code: str = ""


def region_import(*, regions: Iterable[RegionSpec], actor: Any = None) -> list[Region]:
    """Create a tree of regions, parents first; all or nothing, errors name `regions[i].field`."""
    created: list[Region] = []
    by_code: dict[str, Region] = {}
    with transaction.atomic():
        for i, spec in enumerate(regions):
            where = f"regions[{i}]."
            parent = None
            parent_code = str(spec.parent_code or "").strip()
            if parent_code:
                parent = by_code.get(parent_code) or Region.objects.filter(code=parent_code).first()
                if parent is None:
                    raise ValidationFailed(
                        _("Unknown parent region '%(c)s' (parents must come first).")
                        % {"c": parent_code},
                        field=f"{where}parent_code",
                    )
            code, name = region_check(
                code=spec.code, name=spec.name, level=spec.level, parent=parent, prefix=where
            )
            region = region_create(
                code=code, name=name, level=spec.level, parent=parent, actor=actor
            )
            by_code[code] = region
            created.append(region)
    return created


def parse_geometry(geometry: Any, *, field: str = "geometry") -> shapely.Geometry:
    """A valid, non-empty Polygon or MultiPolygon from GeoJSON, or a clear error."""
    try:
        text = geometry if isinstance(geometry, str) else json.dumps(geometry)
        geom = shapely.from_geojson(text)
    except (shapely.errors.GEOSException, TypeError, ValueError) as e:
        raise ValidationFailed(_("Not valid GeoJSON: %(e)s") % {"e": e}, field=field) from None
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise ValidationFailed(_("A grid must be a Polygon or MultiPolygon."), field=field)
    lon0, lat0, lon1, lat1 = geom.bounds
    if not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
        raise ValidationFailed(_("Coordinates must be WGS-84 longitude/latitude."), field=field)
    if not geom.is_valid:
        raise ValidationFailed(
            _("The polygon is not valid: %(why)s") % {"why": shapely.is_valid_reason(geom)},
            field=field,
        )
    return geom


def area_m2(geom: shapely.Geometry) -> float:
    """Area on a local equirectangular projection: within 0.1% for grid-sized polygons."""
    lat0 = geom.centroid.y
    kx = 111_320.0 * math.cos(math.radians(lat0))
    ky = 110_574.0
    projected = shapely.transform(geom, lambda xy: xy * [kx, ky])
    return float(projected.area)


@dataclass(frozen=True)
class GridSpec:
    code: str
    kind: str
    region_code: str
    geometry: Mapping[str, Any]
    name: str = ""


def generation_import(
    *,
    label: str,
    grids: Iterable[GridSpec],
    source: str = "",
    actor: Any = None,
    batch_size: int = 2000,
) -> GridGeneration:
    """Import grids as a pending generation; nothing is written if any grid is bad."""
    label = _text(label, field="label", max_length=100, what=_("label"))
    regions = dict(Region.objects.values_list("code", "id"))
    with transaction.atomic():
        generation = GridGeneration.objects.create(label=label, source=source[:255])
        batch: list[Grid] = []
        seen: set[str] = set()
        for i, spec in enumerate(grids):
            where = f"grids[{i}]"
            if spec.kind not in GridKind.values:
                raise ValidationFailed(
                    _("Unknown grid kind '%(k)s'.") % {"k": spec.kind}, field=f"{where}.kind"
                )
            code = _text(spec.code, field=f"{where}.code", max_length=CODE_MAX, what=_("code"))
            if code in seen:
                raise ValidationFailed(
                    _("Grid code '%(c)s' is repeated.") % {"c": code}, field=f"{where}.code"
                )
            seen.add(code)
            name = str(spec.name or "").strip()
            if len(name) > NAME_MAX:
                raise ValidationFailed(
                    _("The name is longer than %(n)d characters.") % {"n": NAME_MAX},
                    field=f"{where}.name",
                )
            region_id = regions.get(spec.region_code)
            if region_id is None:
                raise ValidationFailed(
                    _("Unknown region code '%(c)s'.") % {"c": spec.region_code},
                    field=f"{where}.region",
                )
            geom = parse_geometry(spec.geometry, field=f"{where}.geometry")
            lon0, lat0, lon1, lat1 = geom.bounds
            batch.append(
                Grid(
                    generation=generation,
                    code=code,
                    name=name,
                    kind=spec.kind,
                    region_id=region_id,
                    geometry=json.loads(shapely.to_geojson(geom)),
                    min_lon=lon0,
                    min_lat=lat0,
                    max_lon=lon1,
                    max_lat=lat1,
                    area_m2=area_m2(geom),
                )
            )
            if len(batch) >= batch_size:
                Grid.objects.bulk_create(batch)
                batch = []
        Grid.objects.bulk_create(batch)
        if not seen:
            raise ValidationFailed(_("The file holds no grids."), field="grids")
        if actor is not None:
            audit_record(
                actor=actor,
                action="grid_generation.import",
                obj=generation,
                after={"label": label, "grids": len(seen)},
            )
    return generation


def generation_activate(*, generation: GridGeneration, actor: Any = None) -> GridGeneration:
    """Make a pending generation the active one, retiring the old one, in one transaction.

    Every process picks the new generation up at its next recheck (locator.RECHECK_SECONDS),
    this one at its next lookup; lookups meanwhile answer from the old index, never pause.
    """
    with transaction.atomic():
        generation = GridGeneration.objects.select_for_update().get(pk=generation.pk)
        if generation.status != GenerationStatus.PENDING:
            raise Conflict(_("Only a pending generation can be activated."), field="status")
        if not generation.grids.filter(kind=GridKind.MANAGEMENT).exists():
            raise ValidationFailed(
                _("A generation needs at least one management grid."), field="grids"
            )
        previous = GridGeneration.objects.filter(status=GenerationStatus.ACTIVE).first()
        GridGeneration.objects.filter(status=GenerationStatus.ACTIVE).update(
            status=GenerationStatus.RETIRED
        )
        generation.status = GenerationStatus.ACTIVE
        generation.activated_at = timezone.now()
        generation.save(update_fields=["status", "activated_at"])
        if actor is not None:
            audit_record(
                actor=actor,
                action="grid_generation.activate",
                obj=generation,
                before={"active": previous.pk if previous else None},
                after={"active": generation.pk},
            )
        transaction.on_commit(expire_locator)
    return generation
