"""Small filters for the page templates: names in the page's language, labels of codes."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils.html import json_script
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from civicgrid.cases.models import Category, State
from civicgrid.cases.workflow import Action

from ..selectors import category_name

register = template.Library()


@register.filter
def cat_name(category: Category | None) -> str:
    return category_name(category) if category is not None else ""


@register.filter
def action_label(value: str) -> str:
    try:
        return str(Action(value).label)
    except ValueError:
        return value


@register.filter
def state_label(value: str) -> str:
    try:
        return str(State(value).label)
    except ValueError:
        return value


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if mapping else None


@register.simple_tag
def map_config() -> str:
    """Settings the map script reads: the basemap tiles (empty: grids on a plain ground)."""
    return json_script(
        {
            "basemap": settings.CIVICGRID.get("BASEMAP_TILE_URL", ""),
            "attribution": settings.CIVICGRID.get("BASEMAP_ATTRIBUTION", ""),
            "failed": str(
                _("The map cannot be shown on this device. Type the coordinates instead.")
            ),
        },
        "map-config",
    )


@register.simple_tag(takes_context=True)
def nav_current(context: dict[str, Any], name: str) -> str:
    """aria-current for the navigation link of the page being shown."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    return mark_safe('aria-current="page"') if match and match.view_name == name else ""
