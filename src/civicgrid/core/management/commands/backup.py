"""`manage.py backup PATH`: the whole instance (database rows and media files) in one archive.

The archive is a gzipped tar holding `db.json` (every row through Django's serializers, with
primary keys kept and datetimes to the microsecond, so the audit chain still verifies; it loads
into an empty database of either engine), `media/...` and `manifest.json` with the SHA-256 of
every member and the row count of every model. `restore` checks all of it first.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import tarfile
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import django
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

FORMAT = 1
# Rebuilt by migrate (content types, permissions) or worthless elsewhere (sessions, lockouts).
EXCLUDE = ["contenttypes", "auth.permission", "sessions", "axes"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def backed_up_models() -> list[Any]:
    """Models in dependency order (what a row points at comes first)."""
    app_list = [(a, None) for a in apps.get_app_configs() if a.models_module is not None]
    ordered = serializers.sort_dependencies(app_list, allow_cycles=True)
    return [
        m
        for m in ordered
        if m._meta.app_label not in EXCLUDE
        and m._meta.label_lower not in EXCLUDE
        and m._meta.managed
        and not m._meta.proxy
    ]


def model_counts() -> dict[str, int]:
    return {m._meta.label_lower: m._default_manager.count() for m in backed_up_models()}


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # full precision: DjangoJSONEncoder would cut microseconds
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"Cannot back up a {type(value).__name__}")


def dump_rows() -> bytes:
    rows: list[dict[str, Any]] = []
    for model in backed_up_models():
        rows += serializers.serialize(
            "python",
            model._default_manager.order_by("pk").iterator(chunk_size=2000),
            use_natural_foreign_keys=True,
        )
    return json.dumps(rows, default=_encode, ensure_ascii=False).encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(dt.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


def backup(path: Path) -> dict[str, Any]:
    """Write the archive; returns its manifest."""
    # One snapshot: rows and counts from the same moment (REPEATABLE READ on PostgreSQL).
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        db = dump_rows()
        counts = model_counts()
    files: dict[str, str] = {"db.json": sha256(db)}
    media_root = Path(settings.MEDIA_ROOT)
    media = sorted(p for p in media_root.rglob("*") if p.is_file()) if media_root.exists() else []
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tarfile.open(tmp, "w:gz") as tar:
        _add(tar, "db.json", db)
        for file in media:
            data = file.read_bytes()
            name = "media/" + file.relative_to(media_root).as_posix()
            files[name] = sha256(data)
            _add(tar, name, data)
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "django": django.get_version(),
            "database": connection.vendor,
            "counts": counts,
            "files": files,
        }
        _add(tar, "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
    tmp.replace(path)  # a half-written archive never carries the final name
    return manifest


class Command(BaseCommand):
    help = "Dump the whole instance (database and media) into one archive with a manifest."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "path", help="Archive to write, e.g. backups/civicgrid-2026-05-01.tar.gz"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if path.exists():
            raise CommandError(f"{path} exists; choose a new file name.")
        manifest = backup(path)
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {path}: {rows} rows, {len(manifest['files']) - 1} media files."
            )
        )
