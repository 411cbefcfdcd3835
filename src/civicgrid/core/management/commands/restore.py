"""`manage.py restore PATH`: load an archive from `backup` into an empty database.

Every member is checked against the manifest's SHA-256 before anything is written; rows are
loaded in one transaction, then media files are put back, then the row counts and the audit
chain are checked.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, transaction

from civicgrid.audit.services import audit_verify_chain

from .backup import FORMAT, model_counts, sha256


def read_archive(path: Path, into: Path) -> dict[str, Any]:
    """Unpack into a directory, checking every member against the manifest; the manifest."""
    with tarfile.open(path, "r:gz") as tar:
        tar.extractall(into, filter="data")  # no absolute paths, no links out of the tree
    manifest_path = into / "manifest.json"
    if not manifest_path.exists():
        raise CommandError(f"{path} has no manifest.json: not a civicgrid backup.")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise CommandError(f"Unknown backup format {manifest.get('format')!r}.")
    present = {p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    if present != set(manifest["files"]):
        raise CommandError("The archive's files differ from its manifest.")
    for name, digest in manifest["files"].items():
        if sha256((into / name).read_bytes()) != digest:
            raise CommandError(f"{name} does not match its checksum: the archive is damaged.")
    return manifest


def load_rows(path: Path) -> None:
    """Save every row as it was (primary keys too), then move the sequences past them."""
    rows = json.loads(path.read_text())
    loaded = set()
    with connection.constraint_checks_disabled():
        for obj in serializers.deserialize("python", rows, handle_forward_references=True):
            obj.save()  # save_base(raw=True): no model save() hooks, as loaddata does
            loaded.add(type(obj.object))
    connection.check_constraints(table_names=[m._meta.db_table for m in loaded])
    statements = connection.ops.sequence_reset_sql(no_style(), list(loaded))
    if statements:
        with connection.cursor() as cur:
            for sql in statements:
                cur.execute(sql)


def restore(path: Path, *, flush: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="civicgrid-restore-") as tmp:
        root = Path(tmp)
        manifest = read_archive(path, root)
        with transaction.atomic():
            if flush:
                call_command("flush", interactive=False, verbosity=0)
            elif any(model_counts().get(m) for m in ("accounts.user", "cases.case")):
                raise CommandError("The database is not empty; restore into a new one or --flush.")
            load_rows(root / "db.json")
            counts = model_counts()
            wrong = {
                m: (n, counts.get(m)) for m, n in manifest["counts"].items() if counts.get(m) != n
            }
            if wrong:
                raise CommandError(f"Row counts differ after loading: {wrong}")
            checked, bad = audit_verify_chain()
            if bad:
                raise CommandError(f"The restored audit chain is broken at id {bad[0]}.")
        media_root = Path(settings.MEDIA_ROOT)
        for name in manifest["files"]:
            if name.startswith("media/"):
                target = media_root / name.removeprefix("media/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / name, target)
    manifest["audit_rows_checked"] = checked
    return manifest


class Command(BaseCommand):
    help = "Restore an archive written by `backup` into an empty database (or --flush first)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument(
            "--flush", action="store_true", help="Empty the database first (destroys its data)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        manifest = restore(Path(options["path"]), flush=options["flush"])
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {rows} rows and {len(manifest['files']) - 1} media files; "
                f"{manifest['audit_rows_checked']} audit rows verified."
            )
        )
