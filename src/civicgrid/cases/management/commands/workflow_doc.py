from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from civicgrid.cases.docs import render


class Command(BaseCommand):
    help = "Write docs/workflow.md from the workflow transition table."

    def handle(self, *args, **options):
        path = Path(settings.PROJECT_DIR) / "docs" / "workflow.md"
        path.write_text(render(), encoding="utf-8")
        self.stdout.write(f"wrote {path}")
