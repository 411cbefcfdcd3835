"""The geo admin writes through the services: region paths, audited activation, read-only grids."""

from __future__ import annotations

import pytest
from django.test import Client

from civicgrid.accounts.models import Role, User
from civicgrid.audit.models import AuditEntry
from civicgrid.core.testing import LAT0, LAT1, box
from civicgrid.geo.models import GenerationStatus, Grid, GridGeneration, Region
from civicgrid.geo.services import GridSpec, generation_import


@pytest.fixture
def admin_client(world) -> Client:
    root = User.objects.create_superuser("root", "root@example.org", "pw-root", role=Role.ADMIN)
    client = Client()
    client.force_login(root)
    return client


@pytest.mark.parametrize("model", ["region", "gridgeneration", "grid", "workstation"])
def test_each_changelist_renders(admin_client, model):
    assert admin_client.get(f"/admin/geo/{model}/").status_code == 200


def test_adding_a_region_in_the_admin_sets_its_path_and_audits(admin_client, world):
    c1 = world.regions["C1"]
    response = admin_client.post(
        "/admin/geo/region/add/",
        {"code": "310104001001C01", "name": "某小区", "level": "compound", "parent": c1.pk},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    region = Region.objects.get(code="310104001001C01")
    assert region.path == f"{c1.path}{region.pk}/"
    assert AuditEntry.objects.filter(action="region.create", object_id=str(region.pk)).exists()


def test_the_admin_form_refuses_a_region_above_its_parent(admin_client, world):
    response = admin_client.post(
        "/admin/geo/region/add/",
        {"code": "NEWD", "name": "错", "level": "district", "parent": world.regions["C1"].pk},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "cannot be inside" in response.content.decode()
    assert not Region.objects.filter(code="NEWD").exists()


def test_the_activate_action_activates_through_the_service(admin_client, world):
    spec = GridSpec(code="N", kind="management", region_code="310104001001",
                    geometry=box(121.40, LAT0, 121.41, LAT1))  # fmt: skip
    pending = generation_import(label="v2", grids=[spec])
    response = admin_client.post(
        "/admin/geo/gridgeneration/",
        {"action": "activate_generation", "_selected_action": [pending.pk]},
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == GenerationStatus.ACTIVE
    assert AuditEntry.objects.filter(action="grid_generation.activate").exists()


def test_the_activate_action_reports_a_conflict_and_changes_nothing(admin_client, world):
    active = GridGeneration.objects.get(status=GenerationStatus.ACTIVE)
    response = admin_client.post(
        "/admin/geo/gridgeneration/",
        {"action": "activate_generation", "_selected_action": [active.pk]},
        follow=True,
    )
    assert "Only a pending generation can be activated." in response.content.decode()
    active.refresh_from_db()
    assert active.status == GenerationStatus.ACTIVE


def test_a_grid_is_shown_read_only_with_its_geometry(admin_client, world):
    grid = Grid.objects.get(code="G1", generation__status="active")
    page = admin_client.get(f"/admin/geo/grid/{grid.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "&quot;Polygon&quot;" in html and 'name="code"' not in html
    before = Grid.objects.get(pk=grid.pk).name
    admin_client.post(f"/admin/geo/grid/{grid.pk}/change/", {"name": "changed"})
    assert Grid.objects.get(pk=grid.pk).name == before
