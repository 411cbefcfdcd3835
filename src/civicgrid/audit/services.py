"""Writing the audit log. Called inside the caller's transaction, so the row lands with the write."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import connection

from civicgrid.core import clock

from .models import AuditEntry


def _digest(entry: AuditEntry) -> str:
    body = json.dumps(
        [
            entry.prev_hash,
            entry.at.isoformat(),
            entry.actor_id,
            entry.actor_label,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.before,
            entry.after,
        ],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


_CHAIN_LOCK = 7_300_001


def _lock_chain() -> None:
    """Serialise appends until commit, so the chain never forks under concurrent writers.

    SQLite already serialises writers (IMMEDIATE transactions); PostgreSQL needs a lock that
    covers the read of the last hash, which a row lock cannot (a new last row is not yet visible).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    _lock_chain()
    last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
    entry = AuditEntry(
        at=clock.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor) if actor is not None else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before or {},
        after=after or {},
        prev_hash=last or "",
    )
    entry.hash = _digest(entry)
    entry.save()
    return entry


def audit_verify_chain() -> tuple[int, list[int]]:
    """Recompute every row's hash; returns (rows checked, ids whose hash or link is wrong)."""
    bad: list[int] = []
    prev = ""
    count = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        count += 1
        if entry.prev_hash != prev or entry.hash != _digest(entry):
            bad.append(entry.id)
        prev = entry.hash
    return count, bad
