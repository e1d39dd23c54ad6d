from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from integrations.keys import key_hash
from integrations.models import ApiKey

pytestmark = pytest.mark.django_db


def error(response) -> dict:
    return response.json()["error"]


def key_body(key: ApiKey) -> dict:
    return {
        "id": key.pk,
        "name": key.name,
        "scopes": key.scopes,
        "prefix": key.prefix,
        "org_id": key.organization_id,
        "created_by": key.created_by_id,
        "created_at": key.created_at.isoformat().replace("+00:00", "Z"),
        "expires_at": key.expires_at.isoformat().replace("+00:00", "Z") if key.expires_at else None,
        "last_used_at": None,
        "revoked_at": key.revoked_at.isoformat().replace("+00:00", "Z") if key.revoked_at else None,
    }


class TestCreate:
    def test_returns_the_secret_once_and_stores_only_its_hash(self, as_user, org_admin):
        # when
        response = as_user(org_admin).post(
            "/api_keys", {"name": "Workday", "scopes": ["users:read", "users:sync"]}, format="json"
        )
        # then
        assert response.status_code == 201
        data = response.json()["data"]
        secret = data.pop("key")
        key = ApiKey.objects.get()
        assert data == key_body(key)
        assert secret.startswith("pk_live_")
        assert len(secret) == 8 + 43
        assert key.prefix == secret[:20]
        assert data["prefix"] == secret[:20]
        assert key.secret_hash == key_hash(secret)
        assert (key.organization, key.created_by, key.scopes) == (
            org_admin.organization,
            org_admin,
            ["users:read", "users:sync"],
        )

    def test_secret_is_in_no_column_of_any_table(self, as_user, org_admin):
        secret = as_user(org_admin).post("/api_keys", {"name": "x", "scopes": ["users:read"]}, format="json")
        secret = secret.json()["data"]["key"]
        random_part = secret.removeprefix("pk_live_")
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names():
                columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
                for column in columns:
                    cursor.execute(
                        f'SELECT COUNT(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE %s',
                        [f"%{random_part[12:]}%"],
                    )
                    assert cursor.fetchone()[0] == 0, (table, column)

    def test_list_never_shows_secrets(self, as_user, org_admin, make_key):
        key, _ = make_key()
        response = as_user(org_admin).get("/api_keys")
        assert response.status_code == 200
        assert response.json() == {
            "data": [key_body(key)],
            "meta": {"total": 1, "limit": 10, "offset": 0, "next": None},
        }

    def test_with_expiry(self, as_user, org_admin):
        expires = timezone.now() + timedelta(days=30)
        response = as_user(org_admin).post(
            "/api_keys", {"name": "x", "scopes": ["users:read"], "expires_at": expires.isoformat()}, format="json"
        )
        assert response.status_code == 201
        assert ApiKey.objects.get().expires_at == expires

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "x", "scopes": []}, "scopes"),
            ({"name": "x", "scopes": ["users:write"]}, "scopes.0"),
            ({"name": "", "scopes": ["users:read"]}, "name"),
            ({"name": "x", "scopes": ["users:read"], "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ],
    )
    def test_invalid(self, as_user, org_admin, body, field):
        response = as_user(org_admin).post("/api_keys", body, format="json")
        assert response.status_code == 400
        assert error(response)["code"] == "invalid_data"
        assert field in error(response)["fields"]
        assert not ApiKey.objects.exists()

    @pytest.mark.parametrize("role", ["employee", "moderator"])
    def test_only_admins(self, as_user, request, role):
        user = request.getfixturevalue(role)
        assert (
            as_user(user).post("/api_keys", {"name": "x", "scopes": ["users:read"]}, format="json").status_code == 403
        )
        assert error(as_user(user).get("/api_keys"))["code"] == "access_denied"

    def test_org_id_is_for_super_admins(self, as_user, org_admin, other_organization):
        body = {"name": "x", "scopes": ["users:read"], "org_id": other_organization.pk}
        response = as_user(org_admin).post("/api_keys", body, format="json")
        assert response.status_code == 403
        assert not ApiKey.objects.exists()

    def test_super_admin_creates_for_any_organisation(self, as_user, super_admin, other_organization):
        body = {"name": "x", "scopes": ["users:read"], "org_id": other_organization.pk}
        assert as_user(super_admin).post("/api_keys", body, format="json").status_code == 201
        assert ApiKey.objects.get().organization == other_organization
        body.pop("org_id")
        response = as_user(super_admin).post("/api_keys", body, format="json")
        assert response.status_code == 400
        assert error(response)["fields"] == {"org_id": "Required for a super admin who belongs to no organisation"}


class TestIsolationAndRevocation:
    def test_another_organisations_key_is_404(self, as_user, org_admin, make_key, outsider):
        foreign, _ = make_key(organization=outsider.organization, created_by=outsider)
        client = as_user(org_admin)
        assert client.get("/api_keys").json()["meta"]["total"] == 0
        for method in ("get", "delete"):
            response = getattr(client, method)(f"/api_keys/{foreign.pk}")
            assert response.status_code == 404
            assert error(response)["code"] == "not_found"
        assert client.get("/api_keys/99999999999999999999").status_code == 404
        foreign.refresh_from_db()
        assert foreign.revoked_at is None

    def test_delete_revokes_softly(self, as_user, org_admin, make_key):
        key, _ = make_key()
        response = as_user(org_admin).delete(f"/api_keys/{key.pk}")
        assert response.status_code == 200
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert key.revoked_by == org_admin
        assert response.json() == {"data": key_body(key)}
        again = as_user(org_admin).delete(f"/api_keys/{key.pk}")
        assert again.status_code == 409
        assert error(again)["code"] == "already_revoked"

    def test_another_admin_of_the_same_organisation_sees_and_revokes(self, as_user, org_admin, make_key):
        key, _ = make_key()
        colleague = UserFactory(organization=org_admin.organization, org_admin=True)
        assert as_user(colleague).delete(f"/api_keys/{key.pk}").status_code == 200

    def test_keys_cannot_manage_keys(self, as_key, make_key):
        _, secret = make_key(scopes=["users:read", "users:sync", "recognitions:read", "core_values:read"])
        for method, path in (("get", "/api_keys"), ("post", "/api_keys"), ("delete", "/api_keys/1")):
            response = getattr(as_key(secret), method)(path, {"name": "x", "scopes": ["users:read"]}, format="json")
            assert response.status_code == 403, path
            assert error(response)["code"] == "access_denied"
        assert ApiKey.objects.count() == 1
