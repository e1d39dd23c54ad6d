from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class ApiKeyScope(models.TextChoices):
    USERS_READ = "users:read", "Read users (GET /users, GET /users/:id)"
    USERS_SYNC = "users:sync", "Sync employees from an HRIS (POST /users/sync)"
    RECOGNITIONS_READ = "recognitions:read", "Read recognitions (GET /recognitions, GET /recognitions/:id)"
    CORE_VALUES_READ = "core_values:read", "Read core values (GET /core_values, GET /core_values/:id)"


def validate_scopes(value) -> None:
    """A non-empty list of distinct known scopes (stored as a JSON list)."""
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one scope.")
    unknown = [scope for scope in value if scope not in ApiKeyScope.values]
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(map(str, unknown))}.")
    if len(set(value)) != len(value):
        raise ValidationError("Each scope may appear only once.")


class ApiKey(models.Model):
    """A server-to-server credential of one organisation, limited to its scopes.

    The secret itself is never stored: only its SHA-256 (see integrations/keys.py) and a lookup prefix.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="What uses this key, e.g. “Workday sync”.")
    scopes = models.JSONField(default=list, validators=[validate_scopes])
    prefix = models.CharField(
        max_length=20, unique=True, editable=False, help_text="The key's first characters, to recognise a leaked key."
    )
    secret_hash = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Optional; the key stops working then.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class ApiKeyUsage(models.Model):
    """Requests made with a key per (UTC) day, incremented with one upsert per request."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="usage")
    date = models.DateField()
    request_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "API key usage"
        verbose_name_plural = "API key usage"
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["key", "date"], name="api_key_usage_one_row_per_day")]

    def __str__(self) -> str:
        return f"{self.key_id} @ {self.date}: {self.request_count}"
