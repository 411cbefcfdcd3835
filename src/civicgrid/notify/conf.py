"""The notification settings, `settings.CIVICGRID_NOTIFY` over these defaults (docs/notifications.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

CONSOLE = "civicgrid.notify.backends.ConsoleBackend"

DEFAULTS: dict[str, Any] = {
    # One backend per channel (dotted path), built with OPTIONS[channel] as keyword arguments.
    "BACKENDS": {"sms": CONSOLE, "wecom": CONSOLE, "email": CONSOLE},
    "OPTIONS": {},
    # Staff and reporters get one message per event, on the first of these channels for which
    # they have an address (WeCom: their WeCom user id or username; SMS: phone; e-mail).
    "STAFF_CHANNELS": ["wecom", "sms", "email"],
    "REPORTER_CHANNELS": ["sms", "email"],
    # Retries: attempt n failed → next try after BASE * 2**(n-1) seconds, capped; give up after MAX.
    "MAX_ATTEMPTS": 5,
    "RETRY_BASE_SECONDS": 60,
    "RETRY_MAX_SECONDS": 6 * 3600,
    # A message claimed for sending longer ago than this was lost with its worker: try again.
    "STALE_SENDING_SECONDS": 600,
    "RETRY_EVERY_SECONDS": 60,
    # Empty: settings.LANGUAGE_CODE.
    "DEFAULT_LANGUAGE": "",
    # Prefix for links in messages ("https://grid.example.gov.cn"); empty: no links.
    "SITE_URL": "",
}


def notify_setting(name: str) -> Any:
    value = getattr(settings, "CIVICGRID_NOTIFY", {}).get(name, DEFAULTS[name])
    if name == "BACKENDS":
        return {**DEFAULTS["BACKENDS"], **value}
    if name == "DEFAULT_LANGUAGE":
        return value or settings.LANGUAGE_CODE
    return value
