"""Reads of the notifications."""

from django.db.models import QuerySet

from accounts.models import Organization, User
from accounts.scoping import scope_to_actor, target_organization
from notifications.models import NotificationPreferences, WebhookDelivery, WebhookEndpoint
from peerly.api.exceptions import NotFound


def preferences_of(user: User) -> NotificationPreferences:
    """The member's switches: their row, else the defaults (every email on), unsaved."""
    return NotificationPreferences.objects.filter(user=user).first() or NotificationPreferences(user=user)


def webhooks_visible_to(actor: User) -> QuerySet[WebhookEndpoint]:
    """The endpoints of the actor's organisation (every organisation's for a super admin), newest first."""
    return scope_to_actor(actor, WebhookEndpoint.objects.all()).order_by("-created_at", "-id")


def webhook_get(*, actor: User, webhook_id: int) -> WebhookEndpoint:
    endpoint = webhooks_visible_to(actor).filter(pk=webhook_id).first()
    if endpoint is None:
        raise NotFound("Webhook endpoint not found")
    return endpoint


def webhook_deliveries(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's delivery log, newest first."""
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-id")


def webhook_target_organization(*, actor: User, org_id: int | None) -> Organization:
    """The organisation a new endpoint is for: the caller's own; a super admin may name any with `org_id`."""
    return target_organization(actor, org_id, denied="Only a super admin may add webhooks for another organisation")
