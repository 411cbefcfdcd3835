import time

from django.core.management.base import BaseCommand

from civicgrid.core import scheduler


class Command(BaseCommand):
    help = "Run the periodic scheduler (deadline sweeps and other jobs). Safe to start twice."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="tick once and exit")

    def handle(self, *args, interval: float, once: bool, **options):
        while True:
            for name in scheduler.tick():
                self.stdout.write(f"enqueued {name}")
            if once:
                return
            time.sleep(interval)
