from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PeerlyConfig(AppConfig):
    """The project package as an app (its models: idempotency records). Startup warnings: peerly.startup."""

    name = "peerly"


class PeerlyAdminConfig(AdminConfig):
    """The Django admin, served by PeerlyAdminSite (its login counts failed attempts)."""

    default_site = "accounts.admin_site.PeerlyAdminSite"
