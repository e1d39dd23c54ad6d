"""Outgoing webhooks: organisation admins subscribe an endpoint of theirs to events, and each event is
POSTed there, signed, as `{"id", "type", "created_at", "data"}`.

Signature (the scheme Stripe made familiar): `Peerly-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>" keyed with the endpoint's secret>`, and `Peerly-Event-Id` (the same on every attempt and
redelivery: receivers de-duplicate on it). A receiver verifies the HMAC in constant time and refuses
an old `t` (replays); the README shows it.

One job per (event, endpoint), retried with the notifications' backoff (7 attempts over 5.4 hours);
each attempt is a row of the delivery log. Each delivery re-reads the state when it runs: a
recognition hidden before its `recognition.created` went out is not announced. An endpoint whose
deliveries have all failed for 3 days is switched off and its organisation's admins are emailed.
The address is checked like every outbound one (notifications/outbound.py), when saved and again
before each delivery.
"""

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.request
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import ADMIN_ROLES, Organization, User
from audit.models import AuditAction, AuditTarget
from audit.services import audit_record
from notifications import outbound
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.outbound import TIMEOUT_SECONDS, OutboundUrlRefused, outbound_url_check
from notifications.services import WEBHOOK_TASK, notification_email_send
from peerly.api.exceptions import InvalidData
from peerly.events import EventType, jobs
from recognitions.models import Hi5
from recognitions.selectors import recognition_for_delivery
from recognitions.serializers import Hi5Serializer, RecognitionSerializer

logger = logging.getLogger(__name__)

DISABLE_AFTER = timedelta(days=3)
DELIVERY_LOG_DAYS = 30  # the delivery log keeps a month (redeliver within it)
MAX_ENDPOINTS_PER_ORGANIZATION = 20
LIMIT_MESSAGE = f"An organisation has at most {MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints."
DISABLED_EMAIL_TASK = "notifications.webhook_disabled_email"
SECRET_PREFIX = "whsec_"
USER_AGENT = "Peerly-Webhooks/1"


class WebhookDeliveryFailed(Exception):
    """The receiver did not take the event (the job is retried); the delivery log has the details."""


# --- endpoints ------------------------------------------------------------------


def _events_clean(events: list[str]) -> list[str]:
    events = list(dict.fromkeys(events))
    unknown = [event for event in events if event not in EventType.__members__.values()]
    if not events or unknown:
        known = ", ".join(EventType)
        raise InvalidData(fields={"events": f"Choose one or more of: {known}."})
    return events


def endpoint_limit_reached(organization: Organization) -> bool:
    return WebhookEndpoint.objects.filter(organization=organization).count() >= MAX_ENDPOINTS_PER_ORGANIZATION


def webhook_create(
    *, actor: User | None, organization: Organization, url: str, events: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Subscribe `url` to `events`; returns the endpoint and its signing secret (show it once)."""
    events = _events_clean(events)
    try:
        outbound_url_check(url)
    except OutboundUrlRefused as refusal:
        raise InvalidData(fields={"url": refusal.reason}) from None
    secret = SECRET_PREFIX + secrets.token_hex(24)
    with transaction.atomic():
        # One organisation's creations in a row (its row lock), so the limit holds under concurrency.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if endpoint_limit_reached(organization):
            raise InvalidData(fields={"url": LIMIT_MESSAGE})
        endpoint = WebhookEndpoint.objects.create(
            organization=organization,
            url=url,
            description=description,
            events=events,
            secret=secret,
            created_by=actor,
        )
        _audit(AuditAction.WEBHOOK_CREATED, endpoint, actor, after=_audited(endpoint))
    return endpoint, secret


def webhook_update(
    *, actor: User | None, endpoint: WebhookEndpoint, events: list[str], description: str, enabled: bool
) -> WebhookEndpoint:
    """Change what an endpoint receives, or switch it off and on (on again: its failures are forgiven)."""
    events = _events_clean(events)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _audited(endpoint)
        endpoint.events, endpoint.description = events, description
        if enabled and not endpoint.enabled:
            endpoint.failing_since = endpoint.disabled_at = None
            endpoint.disabled_reason = ""
        elif not enabled and endpoint.enabled:
            endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), "Switched off by an admin."
        endpoint.enabled = enabled
        endpoint.save()
        after = _audited(endpoint)
        changed = [name for name in after if before[name] != after[name]]
        if changed:
            _audit(
                AuditAction.WEBHOOK_UPDATED,
                endpoint,
                actor,
                before={name: before[name] for name in changed},
                after={name: after[name] for name in changed},
            )
    return endpoint


def webhook_delete(*, actor: User | None, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log; its deliveries still waiting find it gone and send nothing."""
    with transaction.atomic():
        _audit(AuditAction.WEBHOOK_DELETED, endpoint, actor, before=_audited(endpoint))
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


def _audited(endpoint: WebhookEndpoint) -> dict:
    """What the audit trail keeps of an endpoint: never its secret."""
    return {
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
    }


def _audit(action: AuditAction, endpoint: WebhookEndpoint, actor: User | None, **changes) -> None:
    audit_record(
        action=action,
        target_type=AuditTarget.WEBHOOK,
        target_id=endpoint.pk,
        organization_id=endpoint.organization_id,
        actor=actor,
        **changes,
    )


# --- deliveries -------------------------------------------------------------------


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    """`Peerly-Signature`: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def event_data(event: dict) -> dict | None:
    """The `data` of an event as it stands now; None when it no longer holds (hidden before its
    `recognition.created` went out, shown again before its `recognition.hidden` did, gone)."""
    event_type = EventType(event["type"])
    recognition = recognition_for_delivery(
        organization_id=event["organization_id"], recognition_id=event["recognition_id"]
    )
    if recognition is None or recognition.is_hidden != (event_type == EventType.RECOGNITION_HIDDEN):
        return None
    data = {"recognition": RecognitionSerializer(recognition).data}
    if event_type == EventType.HI5_CREATED:
        hi5 = Hi5.objects.select_related("given_by").filter(pk=event["hi5_id"], recognition=recognition).first()
        if hi5 is None:
            return None
        data["hi5"] = Hi5Serializer(hi5).data
    return data


def webhook_deliver(*, endpoint_id: int, event: dict, attempt: int, redelivery: bool = False) -> WebhookDelivery | None:
    """POST one event to one endpoint and log the attempt; None when there is nothing to send (the
    endpoint is gone or off, the event no longer holds). A failed attempt raises WebhookDeliveryFailed
    (the job is retried) unless it switched the endpoint off."""
    endpoint = WebhookEndpoint.objects.filter(
        pk=endpoint_id, organization_id=event["organization_id"], enabled=True
    ).first()
    if endpoint is None:
        return None
    data = event_data(event)
    if data is None:
        return None
    payload = {"id": event["id"], "type": event["type"], "created_at": event["created_at"], "data": data}
    body = json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    started = time.monotonic()
    status_code, error = _post(endpoint, event, body)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event["id"],
        event_type=event["type"],
        event=event,
        attempt=attempt,
        redelivery=redelivery,
        status_code=status_code,
        duration_ms=round((time.monotonic() - started) * 1000),
        error=error[:300],
        succeeded=not error,
    )
    if delivery.succeeded:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        return delivery
    if _failure_record(endpoint, delivery):
        return delivery  # switched off: no more retries
    raise WebhookDeliveryFailed(f"Webhook endpoint {endpoint.pk}: {error}")


def _post(endpoint: WebhookEndpoint, event: dict, body: bytes) -> tuple[int | None, str]:
    """Send; (the receiver's status, "" when it took it, else what went wrong). Never raises."""
    try:
        addresses = outbound_url_check(endpoint.url)  # again: DNS may have changed since it was saved
    except OutboundUrlRefused as refusal:
        return None, f"Refused: {refusal.reason}"
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked: https, or http to loopback in tests)
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Peerly-Event-Id": event["id"],
            "Peerly-Event-Type": event["type"],
            "Peerly-Signature": signature_header(secret=endpoint.secret, timestamp=int(time.time()), body=body),
        },
    )
    try:
        answer = outbound.send(request, addresses=addresses, timeout=TIMEOUT_SECONDS)
    except TimeoutError:
        return None, f"Timed out: no complete answer within {TIMEOUT_SECONDS} s"
    except OSError as failure:  # refused, reset, TLS, a malformed answer
        reason = getattr(failure, "reason", failure)  # urllib wraps what the socket raised while connecting
        return None, f"Unreachable: {type(reason).__name__}: {reason}"
    if 200 <= answer.status < 300:
        return answer.status, ""
    return answer.status, f"Answered {answer.status}"


def _failure_record(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> bool:
    """Note a failed attempt; after 3 days of nothing but failures, switch the endpoint off and email the
    organisation's admins (once). Whether it switched it off."""
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk, enabled=True).first()
        if endpoint is None:
            return True  # switched off meanwhile
        if endpoint.failing_since is None:
            endpoint.failing_since = delivery.created_at
            endpoint.save(update_fields=["failing_since"])
            return False
        if now - endpoint.failing_since < DISABLE_AFTER:
            return False
        endpoint.enabled = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = delivery.error[:200]
        endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason"])
        _audit(
            AuditAction.WEBHOOK_UPDATED,
            endpoint,
            None,
            before={"enabled": True},
            after={"enabled": False, "reason": "failing for 3 days", "last_error": endpoint.disabled_reason},
        )
        admins = (
            User.objects.active()
            .filter(organization_id=endpoint.organization_id, role_id__in=ADMIN_ROLES)
            .values_list("pk", flat=True)
        )
        email = jobs(DISABLED_EMAIL_TASK)
        for admin_id in admins:
            email.defer(endpoint_id=endpoint.pk, user_id=admin_id)
    logger.warning(
        "Webhook endpoint %s of organisation %s switched off after 3 days of failures",
        endpoint.pk,
        endpoint.organization_id,
        extra={"event": "webhook_disabled"},
    )
    return True


def webhook_disabled_email_deliver(*, endpoint_id: int, user_id: int) -> bool:
    """Tell one admin that an endpoint was switched off (if it still is); whether it was sent."""
    endpoint = WebhookEndpoint.objects.select_related("organization").filter(pk=endpoint_id, enabled=False).first()
    if endpoint is None:
        return False
    admin = (
        User.objects.active()
        .filter(pk=user_id, organization_id=endpoint.organization_id, role_id__in=ADMIN_ROLES)
        .first()
    )
    if admin is None:
        return False
    context = {"endpoint": endpoint, "organization": endpoint.organization}
    notification_email_send(template="webhook_disabled", recipient=admin, switch=None, context=context)
    return True


def webhook_redeliver(*, delivery: WebhookDelivery) -> None:
    """Send a logged event again to its endpoint (same event id), as a new delivery job with its own
    retries. Refused for an endpoint that is switched off (switch it on first)."""
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        raise InvalidData(fields={"endpoint": "The endpoint is switched off; switch it on first."})
    jobs(WEBHOOK_TASK).defer(endpoint_id=endpoint.pk, event=delivery.event, redelivery=True)


def webhook_deliveries_purge(*, days: int = DELIVERY_LOG_DAYS) -> int:
    """Forget the delivery log's rows older than `days`; how many."""
    if days < 1:
        raise ValueError("Keep at least one day of the delivery log.")
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
