"""Backup and restore round-trip a whole instance: cases, timelines, uploads, audit chain."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from PIL import Image

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.services import audit_verify_chain
from civicgrid.cases import services as cases
from civicgrid.cases.models import Case, CaseEvent, Upload
from civicgrid.core.management.commands.reliability_report import record_figures
from civicgrid.core.testing import INSIDE

pytestmark = [pytest.mark.hard, pytest.mark.django_db]


def photo() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, format="PNG")
    return SimpleUploadedFile("p.png", out.getvalue(), content_type="image/png")


@pytest.fixture
def instance(world, settings, tmp_path):
    """A few cases through their loop, with photos, so every kind of row is there."""
    settings.MEDIA_ROOT = tmp_path / "media"
    lon, lat = INSIDE["G1"]
    for i in range(3):
        upload = cases.upload_create(file=photo(), actor=None)
        case = cases.case_create(
            actor=world.user("resident"),
            category="0101",
            description=f"第{i}件 垃圾",
            lon=lon,
            lat=lat,
            photos=[upload.pk],
        ).case
        cases.case_accept(case=case, actor=world.user("dispatcher"))
        cases.case_dispatch(case=case, lead=world.departments["CG"], actor=world.user("head"))
    return world


def snapshot() -> dict[str, object]:
    def rows(qs, *fields):
        return sorted(tuple(str(v) for v in r) for r in qs.values_list(*fields))

    uploads = {}
    for u in Upload.objects.all():
        with u.file.open("rb") as f:
            uploads[str(u.pk)] = f.read()
    return {
        "cases": rows(
            Case.objects.all(), "number", "state", "description", "lon", "lat", "deadline"
        ),
        "timeline": rows(CaseEvent.objects.all(), "case__number", "action", "at", "actor_id"),
        "audit": rows(AuditEntry.objects.all(), "id", "hash", "prev_hash"),
        "uploads": uploads,
    }


# Real commits: flushing (TRUNCATE) inside the test's own transaction is refused by PostgreSQL.
@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_round_trip_a_whole_instance(instance, tmp_path):
    before = snapshot()
    archive = tmp_path / "civicgrid.tar.gz"
    call_command("backup", str(archive), stdout=io.StringIO())
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"db.json", "manifest.json"} <= names
    assert sum(n.startswith("media/") for n in names) == Upload.objects.count() == 3

    # Lose everything: rows and files.
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(settings.MEDIA_ROOT)
    assert Case.objects.count() == 0

    out = io.StringIO()
    call_command("restore", str(archive), stdout=out)

    assert snapshot() == before
    assert audit_verify_chain()[1] == []
    assert "Restored" in out.getvalue()
    # The database goes on numbering after the restored rows (sequences were reset).
    lon, lat = INSIDE["G2"]
    new = cases.case_create(actor=None, category="0102", description="新", lon=lon, lat=lat).case
    assert new.pk > max(Case.objects.exclude(pk=new.pk).values_list("pk", flat=True))
    record_figures(
        "backup",
        cases=len(before["cases"]),
        timeline_rows=len(before["timeline"]),
        audit_rows=len(before["audit"]),
        media_files=len(before["uploads"]),
        database=connection.vendor,
    )


def test_restore_refuses_a_damaged_archive_and_a_full_database(instance, tmp_path):
    archive = tmp_path / "b.tar.gz"
    call_command("backup", str(archive), stdout=io.StringIO())
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(archive), stdout=io.StringIO())

    # One flipped byte in a media file: nothing is written.
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.startswith("media/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    cases_before = Case.objects.count()
    with pytest.raises(CommandError, match="checksum"):
        call_command("restore", str(damaged), flush=True, stdout=io.StringIO())
    assert Case.objects.count() == cases_before


def test_backup_never_overwrites_an_archive(instance, tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"keep me")
    with pytest.raises(CommandError, match="exists"):
        call_command("backup", str(archive), stdout=io.StringIO())
    assert Path(archive).read_bytes() == b"keep me"
