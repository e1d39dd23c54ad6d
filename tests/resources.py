"""How to build "an object of organisation X" for each API resource addressed by id.

Keyed by the first segment of a route (`/recognitions/{id}/hi5` -> "recognitions"). The tenant
isolation test fails for a discovered route whose resource is missing here: a new endpoint never
skips the isolation proof silently. Add a builder when you add a resource.
"""

from collections.abc import Callable
from itertools import count

from django.db import models

from accounts.models import Organization
from accounts.tests.factories import UserFactory

_sequence = count(1)


def build_user(organization: Organization) -> models.Model:
    return UserFactory(organization=organization)


def build_core_value(organization: Organization) -> models.Model:
    from corevalues.models import CoreValue

    n = next(_sequence)
    return CoreValue.objects.create(organization=organization, text=f"Value {n}", description=f"Value number {n}")


def build_recognition(organization: Organization) -> models.Model:
    from recognitions.models import Recognition

    return Recognition.objects.create(
        organization=organization,
        core_value=build_core_value(organization),
        given_by=UserFactory(organization=organization),
        given_for=UserFactory(organization=organization),
        text="Thanks for the help with the release",
    )


def build_api_key(organization: Organization) -> models.Model:
    from accounts.models import Role
    from integrations.services import api_key_create

    admin = UserFactory(organization=organization, role_id=Role.ORG_ADMIN)
    key, _secret = api_key_create(organization=organization, created_by=admin, name="HRIS", scopes=["users:read"])
    return key


def build_audit_event(organization: Organization) -> models.Model:
    """An event written as the services write them: an organisation admin makes someone a moderator."""
    from accounts.models import Role
    from accounts.services import user_change_role
    from audit.models import AuditEvent

    admin = UserFactory(organization=organization, role_id=Role.ORG_ADMIN)
    user_change_role(actor=admin, user=UserFactory(organization=organization), role_id=Role.MODERATOR)
    return AuditEvent.objects.filter(organization=organization).latest("id")


def build_webhook(organization: Organization) -> models.Model:
    """An endpoint with a delivery in its log (`/webhooks/{id}/deliveries` must not show it to others)."""
    from notifications.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        organization=organization, url="https://hooks.example/peerly", events=["recognition.created"], secret="s"
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id="00000000-0000-4000-8000-000000000000",
        event_type="recognition.created",
        event={},
        attempt=1,
        duration_ms=3,
        succeeded=True,
    )
    return endpoint


RESOURCE_BUILDERS: dict[str, Callable[[Organization], models.Model]] = {
    "users": build_user,
    "core_values": build_core_value,
    "recognitions": build_recognition,
    "api_keys": build_api_key,
    "audit_events": build_audit_event,
    "webhooks": build_webhook,
}


def resource_of(path: str) -> str:
    return path.strip("/").split("/", 1)[0]
