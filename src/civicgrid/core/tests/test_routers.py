"""Replica-safe reads go to the replica; writes and reads in a transaction stay on the primary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from civicgrid.cases.models import Case
from civicgrid.cases.services import case_create
from civicgrid.core import routers
from civicgrid.core.routers import PrimaryReplicaRouter, replica_reads
from civicgrid.core.testing import INSIDE, build_world
from civicgrid.geo.locator import reset_locator

SRC = Path(__file__).resolve().parents[3]


@pytest.fixture
def with_replica(monkeypatch):
    monkeypatch.setattr(routers, "replica_configured", lambda: True)


def test_unmarked_reads_and_all_writes_go_to_the_primary(with_replica):
    router = PrimaryReplicaRouter()
    assert router.db_for_read(Case) == "default"
    with replica_reads():
        assert router.db_for_write(Case) == "default"


def test_marked_reads_outside_a_transaction_go_to_the_replica(with_replica):
    router = PrimaryReplicaRouter()
    with replica_reads():
        assert router.db_for_read(Case) == "replica"


def test_marked_reads_inside_a_transaction_stay_on_the_primary(with_replica, transactional_db):
    router = PrimaryReplicaRouter()
    with replica_reads(), transaction.atomic():
        assert router.db_for_read(Case) == "default"  # they must see the transaction's writes


def test_after_a_write_the_rest_of_the_block_reads_the_primary(with_replica):
    router = PrimaryReplicaRouter()
    with replica_reads():
        router.db_for_write(Case)
        assert router.db_for_read(Case) == "default"  # read your own writes
    with replica_reads():
        assert router.db_for_read(Case) == "replica"  # the next block starts afresh


@pytest.mark.skipif("replica" in settings.DATABASES, reason="this run has a replica")
def test_without_a_replica_everything_goes_to_the_primary():
    with replica_reads():
        assert PrimaryReplicaRouter().db_for_read(Case) == "default"


def test_with_a_replica_configured_case_reads_over_http_use_it():
    """Runs the test below in a process whose settings have DATABASE_REPLICA_URL set."""
    if "replica" in settings.DATABASES:
        pytest.skip("this run has a replica configured: the test below runs directly")
    env = dict(os.environ)
    # A second alias to the same server (or SQLite file) stands in for a real replica;
    # Django's test MIRROR makes it use the test database.
    env["DATABASE_REPLICA_URL"] = env.get("DATABASE_URL") or "sqlite:///unused.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         f"{__file__}::test_case_reads_over_http_use_the_replica"],
        env=env, cwd=SRC.parent, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout


@pytest.mark.skipif(
    "replica" not in settings.DATABASES,
    reason="needs DATABASE_REPLICA_URL; the test above runs it in a process that has it",
)
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_case_reads_over_http_use_the_replica(client):
    # given a world and a case, committed (the replica only sees committed rows)
    world = build_world()
    reset_locator()
    lon, lat = INSIDE["G1"]
    case = case_create(
        actor=world.user("operator"), category="0101", description="x", lon=lon, lat=lat
    ).case
    client.force_login(world.user("dispatcher"))
    primary, replica = connections["default"], connections["replica"]
    # when the dispatcher lists cases and opens one
    with CaptureQueriesContext(primary) as on_primary, CaptureQueriesContext(replica) as on_replica:
        listed = client.get("/api/cases")
        detail = client.get(f"/api/cases/{case.number}")
        timeline = client.get(f"/api/cases/{case.number}/timeline")
    # then the case tables are read from the replica, and not from the primary
    assert listed.status_code == detail.status_code == timeline.status_code == 200
    assert listed.json()["items"][0]["number"] == case.number
    case_reads = [q["sql"] for q in on_replica.captured_queries if '"cases_case"' in q["sql"]]
    assert len(case_reads) >= 2
    assert not [q for q in on_primary.captured_queries if 'FROM "cases_case"' in q["sql"]]
    # when a case is created over HTTP, then it is written to the primary only
    with CaptureQueriesContext(primary) as on_primary, CaptureQueriesContext(replica) as on_replica:
        created = client.post(
            "/api/cases",
            {"category": "0101", "description": "y", "lon": lon, "lat": lat},
            content_type="application/json",
        )
    assert created.status_code == 201
    assert any(q["sql"].startswith('INSERT INTO "cases_case"') for q in on_primary.captured_queries)
    assert not on_replica.captured_queries
    # and a service's reads inside its transaction stay on the primary even in a marked block
    with replica_reads(), transaction.atomic(), CaptureQueriesContext(replica) as on_replica:
        assert Case.objects.filter(pk=case.pk).exists()
    assert not on_replica.captured_queries
