"""manage.py create_token USERNAME NAME [--source hotline|api|device]: print a new API token."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from civicgrid.accounts.models import TokenSource, User
from civicgrid.accounts.services import api_token_create
from civicgrid.core.errors import ValidationFailed


class Command(BaseCommand):
    help = "Create an API token for a user and print it. The token cannot be shown again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the account the system acts as")
        parser.add_argument("name", help='what the token is for, e.g. "12345 hotline"')
        parser.add_argument(
            "--source",
            choices=TokenSource.values,
            default=TokenSource.API,
            help="what the cases it files count as (default: api)",
        )

    def handle(self, *args: Any, username: str, name: str, source: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user '%(u)s'.") % {"u": username})
        try:
            token, key = api_token_create(user=user, name=name, source=source)
        except ValidationFailed as e:
            raise CommandError(e.message) from None
        self.stderr.write(
            _(
                "Token %(prefix)s… for %(user)s (%(source)s). Keep it secret: only its hash "
                "is stored, so it cannot be shown again."
            )
            % {"prefix": token.prefix, "user": user.username, "source": token.source}
        )
        self.stdout.write(key)
