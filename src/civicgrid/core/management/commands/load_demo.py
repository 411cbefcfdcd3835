"""manage.py load_demo [--size full|small] [--reset]: a district, its grids, people and 60 days of cases."""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from civicgrid.core import demo


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = (
        "Load the demo: 徐汇区 with 4 subdistricts, communities, management and unit grids, "
        "departments, one account per role and 60 days of cases in every state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=sorted(demo.SIZES), default="full")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="empty the WHOLE database first (flush), then load the demo",
        )
        parser.add_argument("--force", action="store_true", help="allow --reset when DEBUG is off")
        parser.add_argument(
            "--status", action="store_true", help="exit 0 if the demo is loaded, 1 if not"
        )
        parser.add_argument("--logins", action="store_true", help="print the logins and exit")

    def handle(
        self,
        *args: Any,
        size: str,
        seed: int,
        reset: bool,
        force: bool,
        status: bool,
        logins: bool,
        **options: Any,
    ) -> None:
        if status:
            loaded = demo.demo_exists()
            self.stdout.write(_("The demo is loaded.") if loaded else _("The demo is not loaded."))
            sys.exit(0 if loaded else 1)
        if logins:
            self._print_logins(token="")
            return
        if reset:
            if not settings.DEBUG and not force:
                raise CommandError(
                    _("--reset empties the whole database; with DEBUG off, add --force.")
                )
            self.stdout.write(_("Emptying the database…"))
            call_command("flush", interactive=False, verbosity=0)
        elif demo.database_has_places_or_cases():
            raise CommandError(
                _(
                    "The database already holds places or cases%(what)s. The demo only loads "
                    "into an empty database: run `manage.py load_demo --reset` to empty it "
                    "first (this deletes everything in it)."
                )
                % {"what": _(" (the demo is loaded)") if demo.demo_exists() else ""}
            )
        self.stdout.write(_("Building the %(size)s demo…") % {"size": size})
        result = demo.build_demo(size=size, seed=seed)
        states = ", ".join(f"{state} {n}" for state, n in sorted(result.states.items()))
        self.stdout.write(
            _(
                "Loaded in %(s).1f s: %(regions)d regions, %(mg)d management grids, "
                "%(ug)d unit grids, %(cases)d cases (%(overdue)d overdue)."
            )
            % {
                "s": result.seconds,
                "regions": result.regions,
                "mg": result.management_grids,
                "ug": result.unit_grids,
                "cases": result.cases,
                "overdue": result.overdue,
            }
        )
        self.stdout.write(_("Cases by state: %(states)s") % {"states": states})
        for failure in result.failures:
            self.stderr.write(_("A planned step did not apply: %(f)s") % {"f": failure})
        self._print_logins(token=result.hotline_token)

    def _print_logins(self, *, token: str) -> None:
        rows = demo.login_rows()
        if not rows:
            self.stdout.write(_("No accounts yet: run `manage.py load_demo`."))
            return
        header = (_("username"), _("role"), _("name"), _("jurisdiction"))
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(4)]
        self.stdout.write("")
        self.stdout.write(
            _("Demo logins (password for every account: %(pw)s)") % {"pw": demo.PASSWORD}
        )
        for row in [header, tuple("-" * w for w in widths), *rows]:
            line = "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True))
            self.stdout.write(line.rstrip())
        self.stdout.write("")
        if token:
            self.stdout.write(
                _("API token of the 12345 hotline system (shown once): %(t)s") % {"t": token}
            )
        else:
            self.stdout.write(
                _("API tokens are shown only when created: manage.py create_token hotline NAME")
            )
        self.stdout.write(
            _(
                "Sign in at http://127.0.0.1:8000/admin/ ; API docs at http://127.0.0.1:8000/api/docs"
            )
        )
