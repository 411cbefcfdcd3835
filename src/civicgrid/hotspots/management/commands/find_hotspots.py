"""Find hot spots now (the periodic job does the same every hour)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from civicgrid.hotspots.services import hotspot_refresh


class Command(BaseCommand):
    help = "Cluster recent cases per category into hot spots; re-runs update the same hot spots."

    def handle(self, *args: Any, **options: Any) -> None:
        result = hotspot_refresh()
        self.stdout.write(
            f"hot spots: {len(result.created)} new, {len(result.updated)} updated, "
            f"{len(result.faded)} faded"
        )
