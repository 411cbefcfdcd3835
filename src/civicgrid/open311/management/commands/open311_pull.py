"""open311_pull ENDPOINT_URL --source api: file (or update) a case per remote service request."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from civicgrid.cases.models import Source
from civicgrid.core.errors import DomainError
from civicgrid.open311.client import pull
from civicgrid.open311.remote import RemoteError
from civicgrid.open311.sync import system_actor_get_or_create


def _since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = dt.datetime.combine(day, dt.time.min)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(
            _("--since %(value)s is not a date or a w3 datetime.") % {"value": value}
        )
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _code_map(path: str | None) -> dict[str, str] | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"--service-code-map {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CommandError(
            _("--service-code-map %(path)s: expected a JSON object of remote code to our code.")
            % {"path": path}
        )
    return {str(k): str(v) for k, v in data.items()}


class Command(BaseCommand):
    help = (
        "Pull service requests from another city's Open311 GeoReport v2 endpoint into cases. "
        "Idempotent: a re-run updates the cases it filed before and never files them twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("endpoint", help="Base URL, e.g. https://311.example.org/open311/v2")
        parser.add_argument("--source", required=True, choices=Source.values)
        parser.add_argument("--jurisdiction-id", default="")
        parser.add_argument("--api-key", default="")
        parser.add_argument(
            "--service-code-map",
            help="JSON file {remote service_code: our category code}; unmapped codes are skipped.",
        )
        parser.add_argument("--format", dest="fmt", choices=["json", "xml"], default="json")
        parser.add_argument("--since", help="Pull requests filed since this date (90-day windows).")
        parser.add_argument(
            "--actor",
            default=settings.CIVICGRID.get("OPEN311_PULL_ACTOR", "open311-import"),
            help="Username imported cases are filed by (created as an operator if missing).",
        )
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = system_actor_get_or_create(username=options["actor"])
        try:
            report = pull(
                options["endpoint"],
                source=options["source"],
                actor=actor,
                fmt=options["fmt"],
                jurisdiction_id=options["jurisdiction_id"],
                api_key=options["api_key"],
                code_map=_code_map(options["service_code_map"]),
                since=_since(options["since"]),
                timeout=options["timeout"],
            )
        except (RemoteError, DomainError) as exc:
            raise CommandError(str(exc)) from None
        for ident, why in report.skipped:
            self.stderr.write(_("skipped %(id)s: %(why)s") % {"id": ident, "why": why})
        counts = report.counts
        self.stdout.write(
            _("created %(c)d, updated %(u)d, unchanged %(n)d, skipped %(s)d")
            % {
                "c": counts["created"],
                "u": counts["updated"],
                "n": counts["unchanged"],
                "s": len(report.skipped),
            }
        )
