"""Tables of the cross-cutting HTTP plumbing (peerly/api)."""

from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed to its retries (peerly/api/idempotency.py).

    The row is inserted before the view runs and completed after it, in the same transaction as the view's
    own writes: other transactions only ever see it complete (`status_code` is set), or not at all.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # "POST /recognitions/6/hi5": the same key on another endpoint or object is a reuse, not a retry.
    request_target = models.CharField(max_length=2048)
    # sha256 (hex) of the canonical JSON body: sorted keys, no whitespace.
    request_fingerprint = models.CharField(max_length=64)
    # Null only inside the transaction that claimed the key (never committed so).
    status_code = models.PositiveSmallIntegerField(null=True)
    # The JSON text of the whole envelope as first sent; text, not jsonb, so that key order is kept.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")]

    def __str__(self) -> str:
        return f"{self.key} ({self.request_target})"
