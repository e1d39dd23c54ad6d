"""`manage.py check --deploy`: the links in the emails must lead to this Peerly."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Warning as CheckWarning


def public_url_check(app_configs, **kwargs) -> list:
    url = urlsplit(settings.PEERLY_PUBLIC_URL)
    if url.scheme == "https" and url.hostname not in (None, "localhost", "127.0.0.1", "::1"):
        return []
    return [
        CheckWarning(
            f"PEERLY_PUBLIC_URL is {settings.PEERLY_PUBLIC_URL!r}: the unsubscribe links in notification emails "
            "would not reach this server.",
            hint="Set PEERLY_PUBLIC_URL to the https:// address people use, e.g. https://peerly.example.com.",
            id="notifications.W001",
        )
    ]
