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


# --- Lists ---------------------------------------------------------------------------------------
# Keyed by the list route (every GET with `offset`, discovered from the schema by tests/test_lists.py and
# tests/test_tenant_isolation.py; a list without a builder here FAILS). A builder fills the list with a
# few items of the organisation, ties in the list's sort key where the model allows them (the id breaks
# them), and returns the route's path parameters.


def _tie(queryset, field: str) -> None:
    """Give the first two items of a queryset the same value of `field` (a tie the id must break)."""
    first, second = queryset.order_by("id")[:2]
    type(first).objects.filter(pk=second.pk).update(**{field: getattr(first, field)})


def list_recognitions(organization: Organization) -> dict[str, str]:
    from recognitions.models import Recognition

    made = [build_recognition(organization) for _ in range(5)]
    _tie(Recognition.objects.filter(pk__in=[r.pk for r in made]), "given_at")
    return {}


def list_hi5s(organization: Organization) -> dict[str, str]:
    from recognitions.models import Hi5
    from recognitions.tests.factories import Hi5Factory

    recognition = build_recognition(organization)
    Hi5Factory.create_batch(5, recognition=recognition)
    _tie(Hi5.objects.filter(recognition=recognition), "given_at")
    return {"id": str(recognition.pk)}


def list_users(organization: Organization) -> dict[str, str]:
    # Namesakes: the list is by first and last name, then id.
    UserFactory.create_batch(5, organization=organization, first_name="Sam", last_name="Lee")
    return {}


def list_core_values(organization: Organization) -> dict[str, str]:
    for _ in range(5):
        build_core_value(organization)
    return {}


def list_reports(organization: Organization) -> dict[str, str]:
    """Open and closed reports: the queue is open first, then newest first."""
    from moderation.models import Report, ReportStatus
    from moderation.tests.factories import ReportFactory

    recognition = build_recognition(organization)
    reports = ReportFactory.create_batch(6, recognition=recognition)
    Report.objects.filter(pk__in=[reports[1].pk, reports[4].pk]).update(status=ReportStatus.CLOSED)
    _tie(Report.objects.filter(recognition=recognition), "created_at")
    return {}


def list_webhooks(organization: Organization) -> dict[str, str]:
    from notifications.models import WebhookEndpoint

    for _ in range(5):
        build_webhook(organization)
    _tie(WebhookEndpoint.objects.filter(organization=organization), "created_at")
    return {}


def list_webhook_deliveries(organization: Organization) -> dict[str, str]:
    from notifications.models import WebhookDelivery

    endpoint = build_webhook(organization)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    for attempt in range(2, 6):
        delivery.pk, delivery.attempt = None, attempt
        delivery.save()
    return {"id": str(endpoint.pk)}


def list_api_keys(organization: Organization) -> dict[str, str]:
    from integrations.models import ApiKey

    for _ in range(5):
        build_api_key(organization)
    _tie(ApiKey.objects.filter(organization=organization), "created_at")
    return {}


def list_audit_events(organization: Organization) -> dict[str, str]:
    # Written in the test's one transaction, the events share their `created_at` (the database's now()).
    for _ in range(5):
        build_audit_event(organization)
    return {}


LIST_BUILDERS: dict[str, Callable[[Organization], dict[str, str]]] = {
    "/recognitions": list_recognitions,
    "/recognitions/{id}/hi5": list_hi5s,
    "/users": list_users,
    "/core_values": list_core_values,
    "/reports": list_reports,
    "/webhooks": list_webhooks,
    "/webhooks/{id}/deliveries": list_webhook_deliveries,
    "/api_keys": list_api_keys,
    "/audit_events": list_audit_events,
}
