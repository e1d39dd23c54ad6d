from django.core.management.base import BaseCommand

from peerly.services import idempotency_records_purge


class Command(BaseCommand):
    help = "Delete the stored answers of expired Idempotency-Keys (run daily)."

    def handle(self, *args, **options):
        self.stdout.write(f"Purged {idempotency_records_purge()} expired idempotency key(s)")
