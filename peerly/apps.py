from django.apps import AppConfig


class PeerlyConfig(AppConfig):
    """The project package as an app (its models: idempotency records). Startup warnings: peerly.startup."""

    name = "peerly"
