from __future__ import annotations

import io
import re

import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError

from civicgrid.accounts.models import ApiToken, Role, TokenSource, User
from civicgrid.cases.models import Case, CaseEvent, Source, State
from civicgrid.cases.services import case_sweep_deadlines
from civicgrid.core import clock
from civicgrid.geo.models import GenerationStatus, Grid, GridKind, Region, RegionLevel


def load_small_demo() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("load_demo", "--size", "small", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def shape(geojson):
    return shapely.from_geojson(__import__("json").dumps(geojson))


def test_the_small_demo_has_every_level_role_and_state(db):
    out, err = load_small_demo()

    assert err == ""  # every planned step applied
    levels = {lvl: Region.objects.filter(level=lvl) for lvl in RegionLevel.values}
    assert [r.code for r in levels["district"]] == ["310104"]
    assert levels["subdistrict"].count() == 2 and levels["community"].count() == 4
    assert all(len(r.code) == 9 for r in levels["subdistrict"])
    assert all(len(r.code) == 12 for r in levels["community"])
    assert not Region.objects.filter(boundary__isnull=True).exists()
    grids = Grid.objects.filter(generation__status=GenerationStatus.ACTIVE)
    management = grids.filter(kind=GridKind.MANAGEMENT).select_related("region")
    assert management.count() == 8
    assert all(len(g.code) == 15 and g.code.startswith(g.region.code) for g in management)
    assert grids.filter(kind=GridKind.UNIT).count() == 128
    assert {u.role for u in User.objects.all()} == set(Role.values)
    assert set(Case.objects.values_list("state", flat=True)) == set(State.values)
    assert Case.objects.filter(overdue=True).exists()
    assert Case.objects.filter(source=Source.HOTLINE).exclude(external_id="").exists()
    assert Case.objects.exclude(escalation_level="grid").exists()
    assert CaseEvent.objects.filter(action="transfer").exists()
    assert CaseEvent.objects.filter(action="self_handle").exists()
    assert "demo1234" in out


def test_the_printed_hotline_token_authenticates_as_the_hotline_system(db):
    out, _err = load_small_demo()

    key = re.search(r"cg_[\w-]+", out).group(0)
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    assert token.source == TokenSource.HOTLINE
    assert token.user.role == Role.OPERATOR


def test_unit_grids_tile_management_grids_which_tile_the_district(db):
    load_small_demo()

    grids = Grid.objects.filter(generation__status=GenerationStatus.ACTIVE)
    district = shape(Region.objects.get(level="district").boundary)
    for kind in GridKind.values:
        polys = [shape(g) for g in grids.filter(kind=kind).values_list("geometry", flat=True)]
        union = shapely.unary_union(polys)
        # Same area as the district, and the parts add up to the union: no gaps, no overlaps.
        assert union.symmetric_difference(district).area < district.area * 1e-9
        assert abs(sum(p.area for p in polys) - union.area) < district.area * 1e-9
    for community in Region.objects.filter(level="community"):
        own = [shape(g.geometry) for g in grids.filter(kind="management", region=community)]
        boundary = shape(community.boundary)
        assert shapely.unary_union(own).symmetric_difference(boundary).area < 1e-12
    unit_areas = grids.filter(kind="unit").values_list("area_m2", flat=True)
    assert min(unit_areas) > 6_000 and max(unit_areas) < 14_000  # about 100 m × 100 m


def test_every_timeline_runs_forward_in_the_last_sixty_days_and_flags_are_current(db):
    load_small_demo()

    now = clock.now()
    for case in Case.objects.prefetch_related("timeline"):
        times = [e.at for e in case.timeline.all()]
        assert times == sorted(times)
        assert (now - case.reported_at).days <= 60
        assert times[-1] <= now
    again = case_sweep_deadlines()
    assert again.newly_overdue == [] and again.cleared == 0


def test_a_second_load_is_refused_and_reset_needs_force_without_debug(db):
    load_small_demo()

    with pytest.raises(CommandError, match="--reset"):
        load_small_demo()
    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo", "--reset", "--size", "small", stdout=io.StringIO())
    with pytest.raises(SystemExit) as e:
        call_command("load_demo", "--status", stdout=io.StringIO())
    assert e.value.code == 0
    assert Case.objects.count() > 0
