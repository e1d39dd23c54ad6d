from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_events_purge


class Command(BaseCommand):
    help = (
        "Delete audit events older than PEERLY_AUDIT_RETENTION_DAYS (default 730); the only way events "
        "leave the trail. Run it daily."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, help="Retention in days for this run (default: the setting).")

    def handle(self, *args, days: int | None = None, **options) -> None:
        try:
            deleted = audit_events_purge(retention_days=days)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Deleted {deleted} audit event(s) past the retention period.")
