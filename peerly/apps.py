import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("peerly")


class PeerlyConfig(AppConfig):
    """The project package as an app: startup warnings about how it is configured."""

    name = "peerly"

    def ready(self) -> None:
        backend = settings.CACHES["default"]["BACKEND"]
        if not backend.endswith("RedisCache"):
            logger.warning(
                "REDIS_URL is not set: rate limits are counted per process (%s), so N processes allow N times "
                "the configured limits. Set REDIS_URL to share them.",
                backend.rsplit(".", 1)[-1],
                extra={"event": "rate_limits_per_process"},
            )
