from django.core.management.base import BaseCommand

from accounts.services import revoked_tokens_purge


class Command(BaseCommand):
    help = "Delete revocations of tokens that have expired anyway (run daily)."

    def handle(self, *args, **options):
        self.stdout.write(f"Purged {revoked_tokens_purge()} expired revocation(s)")
