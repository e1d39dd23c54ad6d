from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # The audit trail's receivers of the sign-in signals, and the OpenAPI description of our JWT
        # authentication.
        import accounts.signals  # noqa: F401
        import peerly.api.schema  # noqa: F401
