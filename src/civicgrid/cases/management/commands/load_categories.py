"""manage.py load_categories [PATH] [--sla PATH | --no-sla]: upsert the taxonomy and SLA policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.cases.services import category_upsert_many, sla_policy_upsert_many
from civicgrid.cases.services.taxonomy import DATA_DIR, category_rows_from_document, read_json
from civicgrid.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create or update categories (by code) and SLA policies from JSON files. "
        "Safe to run again: an unchanged file changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path",
            nargs="?",
            type=Path,
            default=DATA_DIR / "categories.json",
            help="categories file (default: data/categories.json)",
        )
        parser.add_argument(
            "--sla",
            type=Path,
            default=DATA_DIR / "sla_policies.json",
            help="SLA policies file (default: data/sla_policies.json)",
        )
        parser.add_argument("--no-sla", action="store_true", help="load categories only")
        parser.add_argument(
            "--without-departments",
            action="store_true",
            help="ignore default_department (for departments with other codes)",
        )

    def handle(
        self,
        *args: Any,
        path: Path,
        sla: Path,
        no_sla: bool,
        without_departments: bool,
        **options: Any,
    ) -> None:
        try:
            rows = category_rows_from_document(read_json(path))
            with transaction.atomic():
                cats = category_upsert_many(rows=rows, with_departments=not without_departments)
                policies = None
                if not no_sla:
                    doc = read_json(sla)
                    policies = sla_policy_upsert_many(
                        rows=doc.get("policies", []) if isinstance(doc, dict) else doc
                    )
        except DomainError as e:
            hint = ""
            if e.field and e.field.endswith("default_department"):
                hint = " " + _("Create the departments first, or pass --without-departments.")
            where = f"{e.field}: " if e.field else ""
            raise CommandError(f"{where}{e.message}{hint}") from None
        self.stdout.write(
            _("Categories: %(c)d created, %(u)d updated, %(s)d unchanged.")
            % {"c": cats.created, "u": cats.updated, "s": cats.unchanged}
        )
        if policies is not None:
            self.stdout.write(
                _("SLA policies: %(c)d created, %(u)d updated, %(s)d unchanged.")
                % {"c": policies.created, "u": policies.updated, "s": policies.unchanged}
            )
