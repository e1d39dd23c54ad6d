"""Tenant isolation: no member of organisation A can see or touch an object of organisation B.

Every route with an id in its path is discovered from the generated OpenAPI schema, so a new
endpoint is covered without editing this file; a route whose resource has no builder in
`tests/resources.py` FAILS (it cannot skip the proof silently).

For each role of A (employee, moderator, organisation admin) and each method of the route, the
answer for B's object must be 404 `not_found`. One nuance: where the role may not use the route
at all (an employee on `PUT /users/{id}`), DRF refuses the role before any lookup, with 403
`access_denied` for every id alike. That answer reveals nothing about B, so it is accepted only
when it is exactly the answer for an id that exists nowhere.
"""

import json

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from accounts.tests.factories import OrganizationFactory, UserFactory
from accounts.tokens import token_encode
from tests.openapi import Operation, operations, plausible
from tests.resources import LIST_BUILDERS, RESOURCE_BUILDERS, resource_of

pytestmark = pytest.mark.django_db

V1 = "application/vnd.peerly.v1"
NOT_FOUND_ID = "999999999999"
ROLES = {"employee": {}, "moderator": {"moderator": True}, "org_admin": {"org_admin": True}}
ROUTES_WITH_IDS = [operation for operation in operations() if operation.path_params]
LISTS_WITH_CURSORS = [
    operation
    for operation in operations()
    if operation.method == "GET" and "before" in {param["name"] for param in operation.query_params}
]


def request(user, operation: Operation, object_id: str):
    client = APIClient(HTTP_ACCEPT=V1)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_encode(user).token}")
    body = plausible(operation.body_schema) if operation.body_schema else None
    url = operation.url(**dict.fromkeys(operation.path_params, object_id))
    data = json.dumps(body).encode() if body is not None else b""
    return client.generic(operation.method, url, data, content_type="application/json")


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    settings.PEERLY_RATE_LIMIT_WRITES = settings.PEERLY_RATE_LIMIT_READS = "100000/m"


def test_routes_with_ids_are_discovered():
    assert "GET /users/{id}" in {str(operation) for operation in ROUTES_WITH_IDS}


@pytest.mark.parametrize("operation", ROUTES_WITH_IDS, ids=str)
def test_every_route_has_a_builder(operation):
    assert len(operation.path_params) == 1, (
        f"{operation} has several ids; teach tests/test_tenant_isolation.py which object each one is"
    )
    assert resource_of(operation.path) in RESOURCE_BUILDERS, (
        f"{operation}: add a builder for {resource_of(operation.path)!r} to tests/resources.py "
        "so its tenant isolation is proven"
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", ROUTES_WITH_IDS, ids=str)
def test_another_organisations_object_is_not_found(operation, role):
    builder = RESOURCE_BUILDERS.get(resource_of(operation.path))
    if builder is None:
        pytest.fail(f"{operation}: no builder in tests/resources.py for {resource_of(operation.path)!r}")

    # given a member of A and an object of B
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    actor = UserFactory(organization=org_a, **ROLES[role])
    UserFactory(organization=org_a)  # A has other members too
    foreign = builder(org_b)
    before = snapshot(org_b)

    # when the member addresses B's object, and an id that exists nowhere
    response = request(actor, operation, str(foreign.pk))
    nowhere = request(actor, operation, NOT_FOUND_ID)

    # then B's object is indistinguishable from nothing, and B is untouched
    assert response.status_code in (403, 404), f"{operation} as {role}: {response.status_code} {response.content!r}"
    code = response.json()["error"]["code"]
    assert code == ("not_found" if response.status_code == 404 else "access_denied")
    assert (response.status_code, response.json()) == (nowhere.status_code, nowhere.json()), (
        f"{operation} as {role}: B's object answers differently from an id that exists nowhere"
    )
    assert snapshot(org_b) == before


@pytest.mark.parametrize("operation", LISTS_WITH_CURSORS, ids=str)
def test_a_cursor_from_another_organisation_shows_only_yours(operation):
    """A cursor is a position in a list's order, nothing more: the scope of the page after it is always the
    caller's, whoever the cursor was handed to first."""
    # given: both organisations' lists, and a cursor handed to B's admin
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    admin_a, admin_b = UserFactory(organization=org_a, org_admin=True), UserFactory(organization=org_b, org_admin=True)
    url_a = operation.url(**LIST_BUILDERS[operation.path](org_a))
    url_b = operation.url(**LIST_BUILDERS[operation.path](org_b))

    def page(user, url: str) -> dict:
        client = APIClient(HTTP_ACCEPT=V1)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_encode(user).token}")
        response = client.get(url)
        assert response.status_code == 200, response.content
        return response.json()

    cursor_b = page(admin_b, f"{url_b}?limit=1")["meta"]["next"]
    whole_a, whole_b = page(admin_a, f"{url_a}?limit=100"), page(admin_b, f"{url_b}?limit=100")
    # when: A's admin reads A's list after B's cursor
    after = page(admin_a, f"{url_a}?limit=100&before={cursor_b}")
    # then: only A's items, counted as A's list
    ids_a = {item["id"] for item in whole_a["data"]}
    assert {item["id"] for item in after["data"]} <= ids_a
    assert not {item["id"] for item in after["data"]} & {item["id"] for item in whole_b["data"]}
    assert after["meta"]["total"] == whole_a["meta"]["total"]


def snapshot(organization: Organization) -> list:
    """Everything of an organisation that an API write could change."""
    from corevalues.models import CoreValue
    from moderation.models import Report, Review
    from notifications.models import WebhookEndpoint
    from recognitions.models import Hi5, Recognition

    return [
        list(organization.users.order_by("pk").values()),
        list(CoreValue.objects.filter(organization=organization).order_by("pk").values()),
        list(Recognition.objects.filter(organization=organization).order_by("pk").values()),
        list(Hi5.objects.filter(recognition__organization=organization).order_by("pk").values()),
        list(Report.objects.filter(recognition__organization=organization).order_by("pk").values()),
        list(Review.objects.filter(recognition__organization=organization).order_by("pk").values()),
        list(WebhookEndpoint.objects.filter(organization=organization).order_by("pk").values()),
    ]
