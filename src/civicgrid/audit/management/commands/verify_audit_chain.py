from django.core.management.base import BaseCommand, CommandError

from civicgrid.audit.services import audit_verify_chain


class Command(BaseCommand):
    help = "Recompute the audit log's hash chain and report any row that was changed or removed."

    def handle(self, *args, **options):
        count, bad = audit_verify_chain()
        if bad:
            raise CommandError(
                f"{len(bad)} of {count} audit rows fail the hash chain; first bad id: {bad[0]}"
            )
        self.stdout.write(self.style.SUCCESS(f"{count} audit rows checked; the chain is intact."))
