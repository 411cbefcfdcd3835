"""Number formats of the screen: shares as percentages, hours with one decimal, none as a dash."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


@register.filter
def indicator(row: dict[str, Any]) -> str:
    value = row.get("value")
    if value is None:
        return "–"
    if row.get("unit") == "hours":
        return _("%(hours).1f h") % {"hours": value}
    return percent(value)
