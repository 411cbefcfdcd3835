"""Message texts: one Django template per message and language, the first line is the subject.

`notify/messages/<language>/<template>.txt`. A deployment overrides a text by putting a file
of the same name in its own templates directory. A language without a text falls back to the
default language, so a new language can be added one message at a time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.template import Context, engines
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from civicgrid.core.errors import ValidationFailed

from .conf import notify_setting

# Every message the platform sends; a key not in here is a programming error, not a 500 later.
TEMPLATES = frozenset(
    {"dispatch", "near_due", "overdue", "returned", "closed", "escalated", "recheck_missed"}
)
# Context keys that hold instants (ISO 8601 in the JSON context), shown in local time.
DATETIME_KEYS = frozenset({"deadline", "at", "closed_at", "overdue_since"})


def language_of(code: str | None) -> str:
    """The supported language closest to `code` ("en-us" → "en"), or the default one."""
    supported = [c for c, _name in settings.LANGUAGES]
    code = (code or "").lower()
    if code in supported:
        return code
    base = code.split("-")[0]
    for candidate in supported:
        if candidate.split("-")[0] == base and base:
            return candidate
    return notify_setting("DEFAULT_LANGUAGE")


def check_template(template: str) -> None:
    if template not in TEMPLATES:
        raise ValidationFailed(
            _("Unknown message template '%(t)s'.") % {"t": template}, field="template"
        )


def _values(context: dict[str, Any]) -> dict[str, Any]:
    out = dict(context)
    for key in DATETIME_KEYS & out.keys():
        if isinstance(out[key], str) and (parsed := parse_datetime(out[key])):
            out[key] = parsed
    return out


def render(template: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a message in the recipient's language, times in local time."""
    check_template(template)
    engine = engines["django"].engine  # type: ignore[attr-defined]
    language = language_of(language)
    names = [f"notify/messages/{language}/{template}.txt"]
    default = notify_setting("DEFAULT_LANGUAGE")
    if default != language:
        names.append(f"notify/messages/{default}/{template}.txt")
    compiled = engine.select_template(names)
    # Plain text, not HTML: nothing is escaped; times in the deployment's zone.
    with translation.override(language), timezone.override(settings.TIME_ZONE):
        text = compiled.render(Context(_values(context), autoescape=False))
    lines = [line.rstrip() for line in text.strip().splitlines()]
    subject = lines[0] if lines else ""
    body = "\n".join(line for line in lines[1:] if line).strip()
    return subject, body


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
