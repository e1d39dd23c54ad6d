import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client

from accounts.tests.factories import UserFactory
from integrations import services
from integrations.errors import AlreadyRevoked
from integrations.keys import key_hash
from integrations.models import ApiKey
from integrations.services import api_key_usage_record

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/integrations/apikey/add/"
LIST_URL = "/admin/integrations/apikey/"


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shown_secret(response) -> str:
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    found = [match for text in texts for match in re.findall(r"pk_live_[A-Za-z0-9_-]{43}", text)]
    assert len(found) == 1, texts
    return found[0]


class TestCreateAndRevoke:
    def test_hr_admin_creates_a_key_sees_it_once_and_it_works(self, org_admin, employee, as_key):
        client = admin_client(org_admin)
        assert client.get(ADD_URL).status_code == 200
        # when
        response = client.post(ADD_URL, {"name": "Workday", "scopes": ["users:read", "users:sync"]}, follow=True)
        # then
        assert response.status_code == 200
        secret = shown_secret(response)
        key = ApiKey.objects.get()
        assert (key.organization, key.created_by, key.scopes) == (
            org_admin.organization,
            org_admin,
            ["users:read", "users:sync"],
        )
        assert key.secret_hash == key_hash(secret)
        assert secret not in client.get(f"{LIST_URL}{key.pk}/change/").content.decode()
        assert as_key(secret).get(f"/users/{employee.pk}").status_code == 200
        # the secret was in a message cookie for one redirect, never in a table
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM django_session WHERE session_data LIKE %s", [f"%{secret[20:]}%"])
            assert cursor.fetchone()[0] == 0

    def test_org_admin_cannot_pick_another_organisation(self, org_admin, other_organization):
        client = admin_client(org_admin)
        assert 'name="organization"' not in client.get(ADD_URL).content.decode()
        client.post(ADD_URL, {"name": "x", "scopes": ["users:read"], "organization": other_organization.pk})
        assert ApiKey.objects.get().organization == org_admin.organization

    def test_revoke_action(self, org_admin, make_key, as_key):
        key, secret = make_key()
        client = admin_client(org_admin)
        response = client.post(LIST_URL, {"action": "revoke_selected", "_selected_action": [key.pk]}, follow=True)
        assert response.status_code == 200
        assert "Revoked 1 API key(s)." in [str(m) for m in get_messages(response.wsgi_request)]
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert key.revoked_by == org_admin
        assert as_key(secret).get("/users").status_code == 401

    def test_keys_cannot_be_deleted(self, org_admin, make_key):
        key, _ = make_key()
        assert admin_client(org_admin).get(f"{LIST_URL}{key.pk}/delete/").status_code == 403

    def test_only_the_name_is_editable(self, org_admin, make_key):
        key, _ = make_key(scopes=["users:read"])
        client = admin_client(org_admin)
        management = {"usage-TOTAL_FORMS": 0, "usage-INITIAL_FORMS": 0}
        response = client.post(
            f"{LIST_URL}{key.pk}/change/", {"name": "Renamed", "scopes": ["users:sync"], **management}
        )
        assert response.status_code == 302
        key.refresh_from_db()
        assert (key.name, key.scopes) == ("Renamed", ["users:read"])

    def test_usage_is_shown(self, org_admin, make_key):
        key, _ = make_key()
        for _ in range(3):
            api_key_usage_record(key=key)
        page = admin_client(org_admin).get(f"{LIST_URL}{key.pk}/change/").content.decode()
        assert "Requests per day" in page
        assert re.search(r'<td class="field-request_count">\s*<p>3</p>\s*</td>', page)


class TestRevokeRace:
    def test_a_key_revoked_meanwhile_is_reported_not_a_500(self, org_admin, make_key, monkeypatch):
        # given two keys, one of which another admin revokes while the action runs
        first, _ = make_key(name="First")
        second, _ = make_key(name="Second")
        real_revoke = services.api_key_revoke

        def revoke(*, key, actor):
            if key.pk == first.pk:
                raise AlreadyRevoked()
            return real_revoke(key=key, actor=actor)

        monkeypatch.setattr(services, "api_key_revoke", revoke)

        # when
        response = admin_client(org_admin).post(
            LIST_URL, {"action": "revoke_selected", "_selected_action": [first.pk, second.pk]}
        )

        # then
        assert response.status_code == 302
        messages = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
        assert messages == [
            ("success", "Revoked 1 API key(s)."),
            ("error", "Not revoked: First: This API key is already revoked"),
        ]
        second.refresh_from_db()
        assert second.revoked_at is not None


class TestScoping:
    def test_org_admin_sees_only_their_organisation(self, org_admin, make_key, outsider):
        make_key(name="Mine")
        foreign, _ = make_key(name="Foreign", organization=outsider.organization, created_by=outsider)
        client = admin_client(org_admin)
        page = client.get(LIST_URL).content.decode()
        assert "Mine" in page
        assert "Foreign" not in page
        assert client.get(f"{LIST_URL}{foreign.pk}/change/").status_code == 302  # "doesn't exist" redirect
        client.post(LIST_URL, {"action": "revoke_selected", "_selected_action": [foreign.pk]})
        foreign.refresh_from_db()
        assert foreign.revoked_at is None

    def test_super_admin_sees_all_and_picks_the_organisation(self, super_admin, make_key, outsider):
        make_key(name="Mine")
        make_key(name="Foreign", organization=outsider.organization, created_by=outsider)
        client = admin_client(super_admin)
        page = client.get(LIST_URL).content.decode()
        assert "Mine" in page
        assert "Foreign" in page
        response = client.post(
            ADD_URL, {"name": "Ops", "scopes": ["users:read"], "organization": outsider.organization_id}, follow=True
        )
        shown_secret(response)
        assert ApiKey.objects.get(name="Ops").organization == outsider.organization

    @pytest.mark.parametrize("role", ["moderator", "employee"])
    def test_others_have_no_access(self, request, role):
        user = request.getfixturevalue(role)
        client = admin_client(user)
        assert client.get(LIST_URL).status_code in (302, 403)
        assert client.get(ADD_URL).status_code in (302, 403)

    def test_app_is_listed_on_the_index_for_org_admins(self, org_admin):
        assert "API keys" in admin_client(org_admin).get("/admin/").content.decode()

    def test_admin_without_password_cannot_sign_in_with_one(self, organization):
        # Their way in is "Sign in with Google" (accounts/tests/test_admin_google.py).
        admin = UserFactory(organization=organization, org_admin=True, password=None)
        client = Client()
        response = client.post("/admin/login/", {"username": admin.email, "password": ""})
        assert response.status_code == 200  # the form again
        assert client.get(LIST_URL).status_code == 302


def test_done_when_hr_creates_a_key_and_an_hris_syncs_1000_employees_twice(org_admin, as_key):
    # given: an HR admin creates a sync key in the admin
    response = admin_client(org_admin).post(ADD_URL, {"name": "HRIS", "scopes": ["users:sync"]}, follow=True)
    secret = shown_secret(response)
    domain = org_admin.organization.domains.first().domain
    batch = {
        "users": [
            {"email": f"e{i}@{domain}", "first_name": f"E{i}", "last_name": "Doe", "active": True} for i in range(1000)
        ]
    }
    # when: the HRIS script sends 1,000 employees in one call, then the same call again
    first = as_key(secret, "x-api-key").post("/users/sync", batch, format="json")
    second = as_key(secret, "x-api-key").post("/users/sync", batch, format="json")
    # then
    assert first.status_code == 200
    assert first.json()["data"]["created"] == 1000
    assert second.json() == {
        "data": {"created": 0, "updated": 0, "deactivated": 0, "reactivated": 0, "unchanged": 1000, "dry_run": False}
    }
    assert ApiKey.objects.get().usage.get().request_count == 2
