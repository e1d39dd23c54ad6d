"""Warnings about how a server is configured, logged once when a server process loads the application.

Called from peerly.wsgi and peerly.asgi (gunicorn, uvicorn, runserver), not from AppConfig.ready(): a
`manage.py` command or a test run is not a server, and its output should not carry a server's warnings.
"""

import functools
import logging

from django.conf import settings

logger = logging.getLogger("peerly")


@functools.cache
def warn_about_configuration() -> None:
    """Log what a production server should not run with (debug on means a development run: silent)."""
    if settings.DEBUG:
        return
    backend = settings.CACHES["default"]["BACKEND"]
    if not backend.endswith("RedisCache"):
        logger.warning(
            "REDIS_URL is not set: rate limits are counted per process (%s), so N processes allow N times "
            "the configured limits. Set REDIS_URL to share them.",
            backend.rsplit(".", 1)[-1],
            extra={"event": "rate_limits_per_process"},
        )
