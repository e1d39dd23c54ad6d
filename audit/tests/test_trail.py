"""The audit trail: every audited change writes its event in the change's own transaction, with who,
from where and what changed; PostgreSQL refuses to change or delete an event outside the purge."""

import datetime as dt
from io import StringIO

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import user_change_role
from accounts.tests.factories import UserFactory
from audit.models import AuditAction, AuditEvent, AuditTarget
from audit.services import audit_events_purge, audit_record
from corevalues.models import CoreValue
from integrations.services import api_key_create
from recognitions.models import Recognition

pytestmark = pytest.mark.django_db

CLIENT = {"REMOTE_ADDR": "127.0.0.7", "HTTP_X_REQUEST_ID": "req-audit-1"}


def only_event(**filters) -> AuditEvent:
    events = list(AuditEvent.objects.filter(**filters))
    assert len(events) == 1, events
    return events[0]


# --- what is recorded --------------------------------------------------------------------------------


def test_a_role_change_through_the_api_records_who_what_and_from_where(as_user, org_admin, employee):
    response = as_user(org_admin).put(f"/users/{employee.pk}", {"role_id": Role.MODERATOR}, format="json", **CLIENT)

    assert response.status_code == 200
    event = only_event(action=AuditAction.USER_ROLE_CHANGED)
    assert (event.organization_id, event.actor_user_id, event.actor_label) == (
        org_admin.organization_id,
        org_admin.pk,
        org_admin.email,
    )
    assert (event.target_type, event.target_id) == (AuditTarget.USER, str(employee.pk))
    assert (event.before, event.after) == ({"role_id": Role.EMPLOYEE}, {"role_id": Role.MODERATOR})
    assert (event.request_id, event.client_ip) == ("req-audit-1", "127.0.0.7")
    assert event.created_at is not None


def test_soft_delete_and_restore_are_recorded(as_user, org_admin, employee, client):
    as_user(org_admin).delete(f"/users/{employee.pk}")
    client.force_login(org_admin)
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "restore_users", "_selected_action": [employee.pk]},
    )

    deleted = only_event(action=AuditAction.USER_DELETED, target_id=str(employee.pk))
    restored = only_event(action=AuditAction.USER_RESTORED, target_id=str(employee.pk))
    assert (deleted.before, deleted.after) == ({"is_active": True}, {"is_active": False})
    assert (restored.before, restored.after) == ({"is_active": False}, {"is_active": True})
    assert deleted.actor_user_id == restored.actor_user_id == org_admin.pk


def test_organisation_settings_record_only_the_fields_that_changed(client, org_admin, organization):
    client.force_login(org_admin)
    url = reverse("admin:accounts_organization_change", args=[organization.pk])
    form = {
        "contact_email": organization.contact_email,
        "hi5_limit": 12,
        "hi5_quota_renewal_frequency": organization.hi5_quota_renewal_frequency,
        "timezone": "Europe/Paris",
        "domains-TOTAL_FORMS": 0,
        "domains-INITIAL_FORMS": 0,
    }

    client.post(url, form)
    client.post(url, form)  # the same again: nothing changed, nothing recorded

    event = only_event(action=AuditAction.ORGANIZATION_UPDATED)
    assert event.before == {"hi5_limit": 5, "timezone": "UTC"}
    assert event.after == {"hi5_limit": 12, "timezone": "Europe/Paris"}
    assert (event.actor_user_id, event.target_id) == (org_admin.pk, str(organization.pk))


def test_core_value_create_and_update_are_recorded(as_user, org_admin):
    client = as_user(org_admin)
    created = client.post("/core_values", {"text": "Courage", "description": "Speak up"}, format="json").json()["data"]
    client.put(f"/core_values/{created['id']}", {"text": "Courage", "description": "Speak up, kindly"}, format="json")

    create = only_event(action=AuditAction.CORE_VALUE_CREATED)
    update = only_event(action=AuditAction.CORE_VALUE_UPDATED)
    assert create.after["text"] == "Courage"
    assert create.before is None
    assert (update.before, update.after) == ({"description": "Speak up"}, {"description": "Speak up, kindly"})
    assert update.target_id == str(created["id"])


def test_a_review_is_recorded_with_its_verdict(as_user, moderator, organization):
    recognition = Recognition.objects.create(
        organization=organization,
        core_value=CoreValue.objects.create(organization=organization, text="Care", description="d"),
        given_by=UserFactory(organization=organization),
        given_for=UserFactory(organization=organization),
        text="Thanks",
    )

    response = as_user(moderator).post(
        f"/recognitions/{recognition.pk}/review", {"is_inappropriate": True, "comment": "spam"}, format="json"
    )

    assert response.status_code == 201
    event = only_event(action=AuditAction.REVIEW_CREATED)
    assert (event.target_type, event.target_id) == (AuditTarget.RECOGNITION, str(recognition.pk))
    assert event.before == {"is_hidden": False}
    assert event.after["is_hidden"] is True
    assert event.after["comment"] == "spam"


def test_api_key_create_and_revoke_are_recorded(as_user, org_admin):
    client = as_user(org_admin)
    key = client.post("/api_keys", {"name": "HRIS", "scopes": ["users:sync"]}, format="json").json()["data"]
    client.delete(f"/api_keys/{key['id']}")

    create = only_event(action=AuditAction.API_KEY_CREATED)
    revoke = only_event(action=AuditAction.API_KEY_REVOKED)
    assert create.after["prefix"] == key["prefix"]
    assert "key" not in create.after
    assert key["key"] not in str(create.after)
    assert revoke.before == {"revoked_at": None}
    assert revoke.after["revoked_at"] is not None
    assert create.target_id == revoke.target_id == str(key["id"])


def test_a_sync_through_an_api_key_is_recorded_as_the_key(api_client, org_admin, organization, employee):
    moderator = UserFactory(organization=organization, email=f"mo@{organization.domains.first().domain}")
    key, secret = api_key_create(organization=organization, created_by=org_admin, name="Workday", scopes=["users:sync"])
    rows = [
        {"email": employee.email, "first_name": "E", "active": False},
        {"email": moderator.email, "first_name": "M", "role_id": Role.MODERATOR},
        {"email": f"new@{organization.domains.first().domain}", "first_name": "New"},
    ]

    response = api_client.post("/users/sync", {"users": rows}, format="json", HTTP_X_API_KEY=secret)

    assert response.status_code == 200, response.content
    run = only_event(action=AuditAction.USERS_SYNCED)
    assert (run.actor_api_key_id, run.actor_user_id) == (key.pk, None)
    assert run.actor_label == f"API key {key.prefix} (Workday)"
    assert run.after == {
        "created": 1,
        "updated": 1,
        "deactivated": 1,
        "reactivated": 0,
        "unchanged": 0,
        "rows": 3,
        "deactivate_missing": False,
    }
    assert only_event(action=AuditAction.USER_DELETED).target_id == str(employee.pk)
    role = only_event(action=AuditAction.USER_ROLE_CHANGED)
    assert (role.target_id, role.before, role.after, role.actor_api_key_id) == (
        str(moderator.pk),
        {"role_id": Role.EMPLOYEE},
        {"role_id": Role.MODERATOR},
        key.pk,
    )


def test_a_dry_run_sync_records_nothing(as_user, org_admin, organization):
    rows = [{"email": f"dry@{organization.domains.first().domain}", "first_name": "Dry"}]

    response = as_user(org_admin).post("/users/sync", {"users": rows, "dry_run": True}, format="json")

    assert response.json()["data"]["created"] == 1
    assert not AuditEvent.objects.exists()


def test_staff_sign_ins_and_failed_sign_ins_are_recorded(client, organization):
    organization.staff_password_sign_in = True
    organization.save()
    moderator = UserFactory(organization=organization, moderator=True)
    login = reverse("admin:login")

    client.post(login, {"username": moderator.email, "password": "wrong"}, REMOTE_ADDR="127.0.0.9")
    client.post(login, {"username": f"nobody@{organization.domains.first().domain}", "password": "x"})
    client.post(login, {"username": moderator.email, "password": "peerly-test-password"}, REMOTE_ADDR="127.0.0.9")

    failed = list(AuditEvent.objects.filter(action=AuditAction.STAFF_SIGN_IN_FAILED).order_by("id"))
    assert [(e.target_id, e.organization_id, e.after["method"]) for e in failed] == [
        (str(moderator.pk), organization.pk, "password"),
        ("", organization.pk, "password"),  # an unknown account of the organisation's domain
    ]
    assert failed[0].client_ip == "127.0.0.9"
    assert "wrong" not in str(failed[0].after)
    signed_in = only_event(action=AuditAction.STAFF_SIGNED_IN)
    assert (signed_in.actor_user_id, signed_in.after, signed_in.client_ip) == (
        moderator.pk,
        {"method": "password"},
        "127.0.0.9",
    )


def test_an_operator_command_is_recorded_as_the_system(db):
    from django.core.management import call_command

    call_command("create_organization", "--name", "Initech", "--domain", "initech.example", stdout=StringIO())

    event = only_event(action=AuditAction.ORGANIZATION_CREATED)
    assert (event.actor_user_id, event.actor_api_key_id) == (None, None)
    assert event.actor_label.startswith("system")
    assert event.after["name"] == "Initech"


# --- in the change's transaction -------------------------------------------------------------------------


def test_a_rolled_back_change_leaves_no_event(org_admin, employee):
    def change_then_fail() -> None:
        with transaction.atomic():
            user_change_role(actor=org_admin, user=employee, role_id=Role.MODERATOR)
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        change_then_fail()

    assert not AuditEvent.objects.exists()
    assert User.objects.get(pk=employee.pk).role_id == Role.EMPLOYEE


def test_a_refused_change_records_nothing(as_user, org_admin):
    response = as_user(org_admin).put(f"/users/{org_admin.pk}", {"role_id": Role.EMPLOYEE}, format="json")

    assert response.json()["error"]["code"] == "cannot_change_own_role"
    assert not AuditEvent.objects.exists()


# --- append-only ---------------------------------------------------------------------------------------


def an_event(organization, **fields) -> AuditEvent:
    return audit_record(
        action=AuditAction.USER_ROLE_CHANGED,
        target_type=AuditTarget.USER,
        target_id=1,
        organization_id=organization.pk,
        **fields,
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET actor_label = 'someone else'",
        "DELETE FROM audit_auditevent",
    ],
)
def test_postgresql_refuses_to_change_or_delete_an_event(organization, statement):
    event = an_event(organization)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)

    assert AuditEvent.objects.get(pk=event.pk).actor_label == event.actor_label


def test_the_orm_cannot_delete_or_update_either(organization):
    event = an_event(organization)

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="user.deleted")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk, action=AuditAction.USER_ROLE_CHANGED).exists()


def test_the_purge_deletes_only_events_past_the_retention(organization, settings):
    settings.PEERLY_AUDIT_RETENTION_DAYS = 30
    old = an_event(organization)
    recent = an_event(organization)
    with connection.cursor() as cursor:
        # Only a test may back-date an event: the table's rows are otherwise stamped by the database.
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute("UPDATE audit_auditevent SET created_at = now() - interval '31 days' WHERE id = %s", [old.pk])
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")

    assert audit_events_purge() == 1

    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_the_purge_cutoff_does_not_let_younger_events_go(organization):
    an_event(organization)

    with transaction.atomic(), connection.cursor() as cursor:
        # a cutoff declared for yesterday: today's event, younger than it, cannot go
        yesterday = timezone.now() - dt.timedelta(days=1)
        cursor.execute("SELECT set_config('peerly.audit_purge_before', %s, true)", [yesterday.isoformat()])
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("DELETE FROM audit_auditevent WHERE created_at >= now() - interval '1 day'")

    assert AuditEvent.objects.count() == 1


def test_the_purge_command_uses_the_setting_and_refuses_nonsense(organization, settings):
    from django.core.management import CommandError, call_command

    settings.PEERLY_AUDIT_RETENTION_DAYS = 730
    an_event(organization)

    call_command("purge_audit_events", stdout=StringIO())
    assert AuditEvent.objects.count() == 1
    with pytest.raises(CommandError, match="at least one day"):
        call_command("purge_audit_events", "--days", "0")


def test_the_cutoff_is_reset_after_the_purge(organization):
    # given a purge run earlier in the same transaction, whose cutoff lies after every event
    audit_events_purge(now=timezone.now() + dt.timedelta(days=10_000))
    an_event(organization)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
