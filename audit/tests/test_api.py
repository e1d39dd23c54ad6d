"""GET /audit_events: organisation admins read their organisation's trail, filtered and paginated."""

import pytest

from accounts.models import Role
from accounts.services import user_change_role, user_soft_delete
from accounts.tests.factories import UserFactory
from audit.models import AuditAction

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(org_admin, employee, organization, outsider, other_organization):
    colleague = UserFactory(organization=organization)
    user_change_role(actor=org_admin, user=employee, role_id=Role.MODERATOR)
    user_soft_delete(actor=org_admin, user=colleague)
    # another organisation's event, never shown to org_admin
    user_change_role(
        actor=UserFactory(organization=other_organization, org_admin=True), user=outsider, role_id=Role.MODERATOR
    )
    return {"employee": employee, "colleague": colleague}


def ids_of(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.content
    return [(event["action"], event["target_id"]) for event in response.json()["data"]]


def test_admins_read_their_organisations_events_newest_first(as_user, org_admin, trail):
    response = as_user(org_admin).get("/audit_events")

    assert ids_of(response) == [
        (AuditAction.USER_DELETED, str(trail["colleague"].pk)),
        (AuditAction.USER_ROLE_CHANGED, str(trail["employee"].pk)),
    ]
    assert response.json()["meta"] == {"total": 2, "limit": 10, "offset": 0, "next": None}
    assert response.json()["data"][1]["actor"] == {"type": "user", "id": org_admin.pk, "label": org_admin.email}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=user.deleted", [AuditAction.USER_DELETED]),
        ("target_type=user&target_id={employee}", [AuditAction.USER_ROLE_CHANGED]),
        ("actor_id={admin}", [AuditAction.USER_DELETED, AuditAction.USER_ROLE_CHANGED]),
        ("actor_id={employee}", []),
        ("from=2000-01-01&to=2000-01-02", []),
        ("from={today}&to={today}", [AuditAction.USER_DELETED, AuditAction.USER_ROLE_CHANGED]),
    ],
)
def test_filters(as_user, org_admin, trail, query, expected):
    from django.utils import timezone

    query = query.format(employee=trail["employee"].pk, admin=org_admin.pk, today=timezone.now().date().isoformat())

    assert [action for action, _ in ids_of(as_user(org_admin).get(f"/audit_events?{query}"))] == expected


def test_bad_filters_are_invalid_data(as_user, org_admin):
    response = as_user(org_admin).get("/audit_events?from=2026-12-02&to=2026-12-01&action=nope")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"action"}
    reversed_range = as_user(org_admin).get("/audit_events?from=2026-12-02&to=2026-12-01")
    assert reversed_range.json()["error"]["fields"] == {"to": "Must be after `from`."}


@pytest.mark.parametrize("role", ["employee", "moderator"])
def test_members_and_moderators_are_refused(as_user, role, request, trail):
    response = as_user(request.getfixturevalue(role)).get("/audit_events")

    assert (response.status_code, response.json()["error"]["code"]) == (403, "access_denied")


def test_a_super_admin_names_the_organisation(as_user, super_admin, organization, trail):
    response = as_user(super_admin).get(f"/audit_events?org_id={organization.pk}")

    assert len(ids_of(response)) == 2
