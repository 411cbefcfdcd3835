"""manage.py activate_generation ID: a pending grid generation becomes the active one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from civicgrid.core.errors import DomainError
from civicgrid.geo.models import GridGeneration
from civicgrid.geo.services import generation_activate


class Command(BaseCommand):
    help = "Activate a pending grid generation (the active one is retired)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int, help="id of the generation, as import_grids printed")

    def handle(self, *args: Any, id: int, **opts: Any) -> None:
        generation = GridGeneration.objects.filter(pk=id).first()
        if generation is None:
            raise CommandError(_("No grid generation with id %(id)d.") % {"id": id})
        try:
            generation = generation_activate(generation=generation)
        except DomainError as e:
            raise CommandError(e.message) from None
        self.stdout.write(
            _("Generation %(id)d (%(label)s) is now active.")
            % {"id": generation.pk, "label": generation.label}
        )
