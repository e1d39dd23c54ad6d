"""Writes of the cross-cutting plumbing."""

from datetime import datetime

from django.utils import timezone

from peerly.models import IdempotencyRecord


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Delete the records of expired Idempotency-Keys (no longer replayed anyway); returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
