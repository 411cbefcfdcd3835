"""Reads that may go to a read replica do; writes, and every read in a transaction, go to the primary.

A read may go to the replica when it is marked so (`replica_reads()` around it, or
`@reads_from_replica` on a view: the case list and detail endpoints) and runs outside any
transaction on the primary. Inside a transaction a read must see the transaction's own writes,
so it stays on the primary; and once something in the marked block writes, its later reads stay
on the primary too (read your own writes). Without `DATABASES["replica"]` (no
DATABASE_REPLICA_URL) everything goes to the primary, as on SQLite or a single server.

Nothing here decides what is replica-safe by itself: a read that must not be stale (a service
checking a state before it acts) simply is not marked, and goes to the primary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _Marked:
    wrote: bool = False


_marked: ContextVar[_Marked | None] = ContextVar("civicgrid_replica_reads", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block may go to the replica (when one is configured)."""
    token = _marked.set(_Marked())
    try:
        yield
    finally:
        _marked.reset(token)


def reads_from_replica(view: F) -> F:
    """A view whose reads may go to the replica. Put it outermost, so pagination is inside."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with replica_reads():
            return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class PrimaryReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        marked = _marked.get()
        if (
            marked is None
            or marked.wrote
            or not replica_configured()
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model: Any, **hints: Any) -> str:
        marked = _marked.get()
        if marked is not None:
            marked.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS  # the replica follows the primary, never migrated itself
