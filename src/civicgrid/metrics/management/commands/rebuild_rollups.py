"""manage.py rebuild_rollups: build every contribution and rollup row again from the cases."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from civicgrid.metrics.rebuild import rollup_rebuild
from civicgrid.metrics.reconcile import rollup_reconcile


class Command(BaseCommand):
    help = _(
        "Rebuild the indicator rollups from the cases (after an import, or a change to an "
        "indicator's definition). With --reconcile, only check the last hours and fix drift."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reconcile", action="store_true")
        parser.add_argument("--hours", type=int, default=None)

    def handle(self, *args: Any, reconcile: bool, hours: int | None, **options: Any) -> None:
        if reconcile:
            r = rollup_reconcile(hours=hours)
            self.stdout.write(
                _("Checked %(n)d cases; fixed %(f)d cases and %(r)d rollup rows.")
                % {"n": r.cases_checked, "f": r.cases_fixed, "r": r.rows_fixed}
            )
            return
        stats = rollup_rebuild(progress=lambda m: self.stdout.write(m))
        self.stdout.write(
            _("Rebuilt %(c)d contribution rows and %(r)d rollup rows.")
            % {"c": stats["contributions"], "r": stats["rollups"]}
        )
