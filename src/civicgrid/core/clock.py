"""The one source of "now" for domain code, so the demo loader can replay history.

Tests and the demo use `frozen(at)`; everything else gets `timezone.now()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

_frozen: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("frozen", default=None)


def now() -> dt.datetime:
    return _frozen.get() or timezone.now()


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    token = _frozen.set(at)
    try:
        yield
    finally:
        _frozen.reset(token)
