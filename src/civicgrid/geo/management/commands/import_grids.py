"""manage.py import_grids PATH [--label L] [--activate]: a GeoJSON file becomes a grid generation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError
from civicgrid.geo.importers import feature_field, grid_specs_from_geojson, load_json
from civicgrid.geo.services import generation_activate, generation_import


class Command(BaseCommand):
    help = "Import a GeoJSON FeatureCollection of grids as a new (pending) grid generation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="GeoJSON file (see docs/grids.md)")
        parser.add_argument("--label", help="name of the generation (default: the file name)")
        parser.add_argument(
            "--activate", action="store_true", help="make it the active generation at once"
        )

    def handle(
        self, *args: Any, path: Path, label: str | None, activate: bool, **opts: Any
    ) -> None:
        try:
            specs = grid_specs_from_geojson(load_json(path))
            # One transaction: with --activate, a failed activation leaves no pending generation.
            with transaction.atomic():
                generation = generation_import(
                    label=label or path.stem, grids=specs, source=path.name
                )
                if activate:
                    generation = generation_activate(generation=generation)
        except DomainError as e:
            where = feature_field(e.field)
            place = f"{path}: {where}" if where and where != "path" else str(path)
            raise CommandError(f"{place}: {e.message}") from None
        self.stdout.write(
            _("Imported %(n)d grids as generation %(id)d (%(label)s), %(status)s.")
            % {
                "n": len(specs),
                "id": generation.pk,
                "label": generation.label,
                "status": generation.get_status_display(),
            }
        )
        if not activate:
            self.stdout.write(
                _("Activate it with: manage.py activate_generation %(id)d") % {"id": generation.pk}
            )
