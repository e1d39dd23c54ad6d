from django.core.management.base import BaseCommand, CommandError

from notifications.webhooks import DELIVERY_LOG_DAYS, webhook_deliveries_purge


class Command(BaseCommand):
    help = (
        f"Delete webhook delivery log rows older than {DELIVERY_LOG_DAYS} days (the workers do it daily: "
        "notifications.purge_webhook_deliveries)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=DELIVERY_LOG_DAYS, help="Keep this many days of the log.")

    def handle(self, *args, days: int, **options) -> None:
        try:
            deleted = webhook_deliveries_purge(days=days)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Deleted {deleted} webhook delivery log row(s) older than {days} days.")
