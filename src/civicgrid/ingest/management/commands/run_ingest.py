"""`manage.py run_ingest`: one ingestion worker. Run several: they share the subscription."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from civicgrid.accounts.models import User
from civicgrid.core.errors import DomainError
from civicgrid.ingest.conf import ingest_setting
from civicgrid.ingest.worker import IngestWorker


class Command(BaseCommand):
    help = "Ingest device events from MQTT into cases (batched, acked after commit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", help="MQTT broker host (CIVICGRID_INGEST_MQTT_HOST)")
        parser.add_argument("--port", type=int, help="MQTT broker port")
        parser.add_argument("--topic", help="Subscription, by default the shared one")
        parser.add_argument(
            "--client-id", help="Stable id of this worker slot (one per worker process)"
        )
        parser.add_argument("--user", help="Account the cases are filed as (default: ingest)")
        parser.add_argument("--batch-size", type=int, help="Messages per transaction at most")
        parser.add_argument("--batch-ms", type=int, help="Longest wait to fill a batch")
        parser.add_argument("--max-messages", type=int, help="Stop after this many messages")
        parser.add_argument("--max-seconds", type=float, help="Stop after this many seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["user"] or ingest_setting("USERNAME")
        actor = User.objects.filter(username=username).first()
        if actor is None:
            raise CommandError(
                _(
                    "No account %(user)s: create a dispatcher (or station head) account for "
                    "device cases, or pass --user."
                )
                % {"user": username}
            )
        try:
            worker = IngestWorker(
                actor=actor,
                host=options["host"],
                port=options["port"],
                topic=options["topic"],
                client_id=options["client_id"],
                batch_size=options["batch_size"],
                batch_ms=options["batch_ms"],
            )
        except DomainError as e:
            raise CommandError(e.message) from None

        def stop(signum: int, frame: Any) -> None:
            worker.stop_requested = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            counts = worker.run(
                max_messages=options["max_messages"], max_seconds=options["max_seconds"]
            )
        except OSError as e:
            raise CommandError(
                _("Cannot reach the MQTT broker at %(host)s:%(port)s: %(e)s")
                % {"host": worker.host, "port": worker.port, "e": e}
            ) from None
        self.stdout.write(
            " ".join(
                f"{k}={counts[k]}"
                for k in ("messages", "batches", "created", "duplicate", "rejected")
            )
        )
