"""Every write on API keys (the HRIS employee sync: integrations/sync.py)."""

from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Organization, User
from audit.models import AuditAction, AuditTarget
from audit.services import audit_record
from integrations.errors import AlreadyRevoked
from integrations.keys import key_generate, key_hash, key_lookup_prefix
from integrations.models import ApiKey, ApiKeyUsage, validate_scopes
from peerly.api.exceptions import Conflict, InvalidData

# last_used_at is a hint for humans, not an audit log: write it at most once per this interval.
LAST_USED_RESOLUTION = timedelta(minutes=1)


# --- API keys ----------------------------------------------------------------


def api_key_create(
    *,
    organization: Organization,
    created_by: User | None,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with its secret, which exists nowhere else: show it once, store only the hash."""
    scopes = list(dict.fromkeys(scopes))
    try:
        validate_scopes(scopes)
    except Exception as error:
        raise InvalidData(fields={"scopes": " ".join(getattr(error, "messages", [str(error)]))}) from None
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidData(fields={"expires_at": "Must be in the future."})
    for _attempt in range(3):  # a clash of 72 random bits is all but impossible; retry anyway
        secret = key_generate()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    organization=organization,
                    name=name,
                    scopes=scopes,
                    prefix=key_lookup_prefix(secret),
                    secret_hash=key_hash(secret),
                    created_by=created_by,
                    expires_at=expires_at,
                )
                audit_record(
                    action=AuditAction.API_KEY_CREATED,
                    target_type=AuditTarget.API_KEY,
                    target_id=key.pk,
                    organization_id=organization.pk,
                    actor=created_by,
                    after={"name": name, "scopes": scopes, "prefix": key.prefix, "expires_at": expires_at},
                )
            return key, secret
        except IntegrityError:
            continue
    raise Conflict("Could not generate a unique API key; try again")


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: User | None) -> ApiKey:
    """Revoke at once (the key is checked on every request); the row stays for its usage history."""
    now = timezone.now()
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
    if not updated:
        raise AlreadyRevoked()
    key.refresh_from_db()
    audit_record(
        action=AuditAction.API_KEY_REVOKED,
        target_type=AuditTarget.API_KEY,
        target_id=key.pk,
        organization_id=key.organization_id,
        actor=actor,
        before={"revoked_at": None},
        after={"revoked_at": key.revoked_at},
    )
    return key


def api_key_usage_record(*, key: ApiKey, now: datetime | None = None) -> None:
    """Count one request: one atomic upsert of today's row, plus `last_used_at` at most once a minute."""
    now = now or timezone.now()
    table = connection.ops.quote_name(ApiKeyUsage._meta.db_table)
    with connection.cursor() as cursor:
        # INSERT ... ON CONFLICT DO UPDATE is atomic under concurrency.
        cursor.execute(
            f"INSERT INTO {table} (key_id, date, request_count) VALUES (%s, %s, 1) "  # noqa: S608 (table name is ours)
            f"ON CONFLICT (key_id, date) DO UPDATE SET request_count = {table}.request_count + 1",
            [key.pk, now.date()],
        )
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).exclude(last_used_at__gt=now - LAST_USED_RESOLUTION).update(last_used_at=now)
        key.last_used_at = now
