from django.apps import AppConfig
from django.core import checks


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications.checks import public_url_check

        checks.register(public_url_check, checks.Tags.security, deploy=True)
