"""Writing the audit trail. Services call these inside the transaction of the change they record.

`actor` is whoever acted: a User, the ApiKeyPrincipal of a request made with an API key, or None for
an operator's command or a scheduled task; `api_key` names the key when a service has the key itself
(the HRIS sync). The request being served, if any, gives the request id and the client's address.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from peerly.api.logging import request_var
from peerly.api.ratelimit import client_ip

SYSTEM_LABEL = "system (operator command or scheduled task)"


def _actor_columns(actor: Any, api_key: Any) -> dict[str, Any]:
    if api_key is None and getattr(actor, "is_api_key", False):
        api_key, actor = actor.api_key, None
    if api_key is not None:
        label = f"API key {api_key.prefix} ({api_key.name})"
        return {"actor_user_id": None, "actor_api_key_id": api_key.pk, "actor_label": label[:300]}
    if actor is not None and actor.pk is not None:
        return {"actor_user_id": actor.pk, "actor_api_key_id": None, "actor_label": actor.email[:300]}
    return {"actor_user_id": None, "actor_api_key_id": None, "actor_label": SYSTEM_LABEL}


def _request_columns(request: Any) -> dict[str, Any]:
    request = request if request is not None else request_var.get()
    if request is None:
        return {"request_id": "", "client_ip": None}
    address = client_ip(request)
    return {"request_id": getattr(request, "request_id", ""), "client_ip": None if address == "unknown" else address}


def audit_event_build(
    *,
    action: str,
    target_type: str,
    target_id: Any,
    organization_id: int | None,
    actor: Any = None,
    api_key: Any = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    request: Any = None,
) -> AuditEvent:
    """An unsaved event (for audit_events_save); the database stamps its time."""
    return AuditEvent(
        action=action,
        target_type=target_type,
        target_id="" if target_id is None else str(target_id),
        organization_id=organization_id,
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        **_actor_columns(actor, api_key),
        **_request_columns(request),
    )


def audit_events_save(events: Iterable[AuditEvent]) -> int:
    """Insert events in batches; returns how many."""
    events = list(events)
    AuditEvent.objects.bulk_create(events, batch_size=1000)
    return len(events)


def audit_record(**fields: Any) -> AuditEvent:
    """Record one event (the arguments of audit_event_build)."""
    event = audit_event_build(**fields)
    event.save()
    return event


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose value differs, as (before, after) dicts of just those fields."""
    changed = [name for name in after if before.get(name) != after[name]]
    return {name: before.get(name) for name in changed}, {name: after[name] for name in changed}


def audit_events_purge(*, now: datetime | None = None, retention_days: int | None = None) -> int:
    """Delete the events older than the retention period; the only deletion the trail's trigger allows.

    The trigger lets a DELETE through only for rows older than the cutoff this transaction declares
    (`peerly.audit_purge_before`), so nothing younger can go, whatever the statement says.
    """
    days = settings.PEERLY_AUDIT_RETENTION_DAYS if retention_days is None else retention_days
    if days < 1:
        raise ValueError("The audit retention must be at least one day")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('peerly.audit_purge_before', %s, true)", [cutoff.isoformat()])
        try:
            deleted, _ = AuditEvent.objects.filter(created_at__lt=cutoff).delete()
        finally:
            # Called inside a larger transaction, the cutoff would otherwise outlive the purge.
            cursor.execute("SELECT set_config('peerly.audit_purge_before', '', true)")
    return deleted
