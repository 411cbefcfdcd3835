"""Free text from outside: NUL bytes are refused (PostgreSQL cannot store them), whitespace trimmed."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .errors import ValidationFailed


def clean_text(value: Any, *, field: str, max_length: int | None = None) -> str:
    text = "" if value is None else str(value)
    if "\x00" in text:
        raise ValidationFailed(_("The text contains a NUL character."), field=field)
    text = text.strip()
    if max_length is not None and len(text) > max_length:
        raise ValidationFailed(_("At most %(n)d characters.") % {"n": max_length}, field=field)
    return text


def check_json(value: Any, *, field: str) -> None:
    """Refuse NUL anywhere in a JSON value (keys included): jsonb cannot store \\u0000."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationFailed(_("The text contains a NUL character."), field=field)
    elif isinstance(value, dict):
        for k, v in value.items():
            check_json(k, field=field)
            check_json(v, field=f"{field}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_json(v, field=f"{field}[{i}]")
