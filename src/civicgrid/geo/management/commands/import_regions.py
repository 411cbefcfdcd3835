"""manage.py import_regions PATH: a region tree from CSV or JSON, parents first, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError
from civicgrid.geo.importers import region_specs_from_file
from civicgrid.geo.services import region_import


class Command(BaseCommand):
    help = "Import regions (code, name, level, parent_code) from a CSV or JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="CSV with a header row, or JSON")

    def handle(self, *args: Any, path: Path, **opts: Any) -> None:
        try:
            regions = region_import(regions=region_specs_from_file(path))
        except DomainError as e:
            raise CommandError(
                f"{path}: {e.field}: {e.message}" if e.field else e.message
            ) from None
        self.stdout.write(_("Imported %(n)d regions.") % {"n": len(regions)})
