import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from integrations.models import ApiKey, ApiKeyScope, ApiKeyUsage
from integrations.services import api_key_revoke, api_key_usage_record

pytestmark = pytest.mark.django_db

INVALID = {"error": {"code": "invalid_token", "message": "Unauthorized user"}}


def error(response) -> dict:
    return response.json()["error"]


class TestHeaders:
    @pytest.mark.parametrize("header", ["bearer", "x-api-key"])
    def test_both_headers_are_accepted(self, as_key, make_key, employee, header):
        _, secret = make_key()
        response = as_key(secret, header).get(f"/users/{employee.pk}")
        assert response.status_code == 200
        assert response.json()["data"]["email"] == employee.email

    def test_jwt_still_works_next_to_keys(self, as_user, employee, make_key):
        make_key()
        assert as_user(employee).get("/users/me").json()["data"]["id"] == employee.pk

    def test_no_credentials_is_401(self, api_client):
        response = api_client.get("/users")
        assert response.status_code == 401
        assert error(response)["code"] == "invalid_token"

    @pytest.mark.parametrize(
        "secret",
        [
            "pk_live_",
            "pk_live_short",
            "pk_live_" + "a" * 44,
            "pk_live_" + "!" * 43,
            "pk_live_" + "a" * 43,  # well formed, unknown
        ],
    )
    @pytest.mark.parametrize("header", ["bearer", "x-api-key"])
    def test_malformed_or_unknown_is_401(self, as_key, make_key, secret, header):
        make_key()
        response = as_key(secret, header).get("/users")
        assert response.status_code == 401
        assert error(response)["code"] == "invalid_token"

    def test_right_prefix_wrong_secret_is_401(self, as_key, make_key):
        _, secret = make_key()
        forged = secret[:20] + ("A" if secret[20] != "A" else "B") + secret[21:]
        assert as_key(forged).get("/users").status_code == 401

    def test_non_key_value_in_x_api_key_is_401(self, as_key, employee):
        from accounts.tokens import token_encode

        response = as_key(token_encode(employee).token, "x-api-key").get("/users")
        assert response.status_code == 401

    def test_key_and_jwt_together_is_401(self, as_user, make_key, employee):
        _, secret = make_key()
        client = as_user(employee)
        response = client.get("/users", HTTP_X_API_KEY=secret)
        assert response.status_code == 401
        assert error(response)["code"] == "invalid_token"

    def test_revoked_key_is_401_at_once(self, as_key, make_key, org_admin):
        key, secret = make_key()
        assert as_key(secret).get("/users").status_code == 200
        api_key_revoke(key=key, actor=org_admin)
        response = as_key(secret).get("/users")
        assert response.status_code == 401
        assert error(response) == {"code": "invalid_token", "message": "This API key has been revoked"}

    def test_expired_key_is_401(self, as_key, make_key):
        _, secret = make_key(expires_at=timezone.now() + timedelta(hours=1))
        assert as_key(secret).get("/users").status_code == 200
        with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
            response = as_key(secret).get("/users")
        assert response.status_code == 401
        assert error(response) == {"code": "invalid_token", "message": "This API key has expired"}


class TestScopesAndIsolation:
    def test_users_read_lists_only_its_organisation(self, as_key, make_key, employee, org_admin, outsider):
        _, secret = make_key(scopes=["users:read"])
        response = as_key(secret).get("/users")
        assert response.status_code == 200
        assert {row["id"] for row in response.json()["data"]} == {employee.pk, org_admin.pk}

    def test_another_organisations_user_is_404(self, as_key, make_key, outsider):
        _, secret = make_key(scopes=["users:read"])
        response = as_key(secret).get(f"/users/{outsider.pk}")
        assert response.status_code == 404
        assert error(response)["code"] == "not_found"

    def test_org_id_filter_is_refused(self, as_key, make_key, outsider):
        _, secret = make_key(scopes=["users:read"])
        response = as_key(secret).get(f"/users?org_id={outsider.organization_id}")
        assert response.status_code == 403

    def test_missing_scope_is_403(self, as_key, make_key, employee):
        _, secret = make_key(scopes=["users:sync", "recognitions:read", "core_values:read"])
        for path in ("/users", f"/users/{employee.pk}"):
            response = as_key(secret).get(path)
            assert response.status_code == 403
            assert error(response) == {"code": "access_denied", "message": "This API key lacks the scope users:read"}

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", "/users/me"),
            ("put", "/users/me"),
            ("put", "/users/{id}"),
            ("delete", "/users/{id}"),
            ("post", "/logout"),
            ("options", "/users"),
        ],
    )
    def test_undeclared_endpoints_are_closed_to_keys(self, as_key, make_key, employee, method, path):
        _, secret = make_key(scopes=list(ApiKeyScope.values))
        body = {"role_id": 2, "first_name": "X", "last_name": "Y", "display_name": "Z"}
        response = getattr(as_key(secret), method)(path.format(id=employee.pk), body, format="json")
        assert response.status_code == 403
        assert error(response) == {"code": "access_denied", "message": "API keys cannot use this endpoint"}
        employee.refresh_from_db()
        assert (employee.role_id, employee.soft_delete_at, employee.first_name) != (2, None, "X")
        assert employee.is_active
        assert employee.role_id == 3

    def test_principal_is_not_a_person(self, make_key):
        from integrations.authentication import ApiKeyPrincipal

        key, _ = make_key()
        principal = ApiKeyPrincipal(key)
        assert principal.pk is None
        assert principal.organization_id == key.organization_id
        assert not (principal.is_super_admin)
        assert not (principal.is_org_admin)
        assert not (principal.can_moderate)
        assert not (principal.is_staff)
        assert not isinstance(principal, User)


def _endpoints(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _endpoints(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
            if view is not None:
                yield prefix + str(pattern.pattern), pattern.callback, view


class TestDeclarations:
    def test_every_declared_scope_exists(self):
        for path, _callback, view in _endpoints():
            for target, scope in (getattr(view, "api_key_scopes", None) or {}).items():
                assert scope in ApiKeyScope.values, (path, target, scope)

    def test_exactly_these_endpoints_accept_keys(self):
        """A guard: opening an endpoint to API keys must be a deliberate change of this list."""
        opened = set()
        for path, callback, view in _endpoints():
            declared = getattr(view, "api_key_scopes", None) or {}
            actions = getattr(callback, "actions", None)
            for target, scope in declared.items():
                if actions is None or target in actions.values():
                    opened.add((path.replace("/?$", "").lstrip("^"), target, str(scope)))
        assert opened == {
            ("users", "list", "users:read"),
            ("users/(?P<pk>[0-9]{1,18})", "retrieve", "users:read"),
            ("users/sync", "POST", "users:sync"),
            ("recognitions", "list", "recognitions:read"),
            ("recognitions/(?P<pk>[0-9]{1,18})", "retrieve", "recognitions:read"),
            ("core_values", "list", "core_values:read"),
            ("core_values/(?P<pk>[0-9]{1,18})", "retrieve", "core_values:read"),
        }


class TestUsage:
    def test_each_request_is_counted_per_day(self, as_key, make_key):
        key, secret = make_key()
        for _ in range(3):
            as_key(secret).get("/users")
        usage = ApiKeyUsage.objects.get(key=key)
        assert (usage.date, usage.request_count) == (timezone.now().date(), 3)
        key.refresh_from_db()
        assert key.last_used_at is not None

    def test_refused_requests_are_not_counted(self, as_key, make_key):
        key, secret = make_key(scopes=["users:read"])
        assert as_key(secret, "x-api-key").get("/users/me").status_code == 403  # closed to keys
        assert as_key(secret).post("/users/sync", {"users": []}, format="json").status_code == 403  # no scope
        assert not ApiKeyUsage.objects.filter(key=key).exists()
        key.refresh_from_db()
        assert key.last_used_at is None

    def test_last_used_is_written_at_most_once_a_minute(self, make_key):
        key, _ = make_key()
        start = timezone.now()
        api_key_usage_record(key=key, now=start)
        api_key_usage_record(key=key, now=start + timedelta(seconds=30))
        key.refresh_from_db()
        assert key.last_used_at == start
        api_key_usage_record(key=key, now=start + timedelta(seconds=61))
        key.refresh_from_db()
        assert key.last_used_at == start + timedelta(seconds=61)
        assert ApiKeyUsage.objects.get(key=key).request_count == 3

    def test_usage_costs_one_query_per_request(self, make_key, django_assert_max_num_queries):
        key, _ = make_key()
        api_key_usage_record(key=key)
        with django_assert_max_num_queries(1):
            api_key_usage_record(key=key)

    def test_a_new_day_gets_a_new_row(self, make_key):
        key, _ = make_key()
        today = timezone.now()
        api_key_usage_record(key=key, now=today)
        api_key_usage_record(key=key, now=today + timedelta(days=1))
        assert list(ApiKeyUsage.objects.filter(key=key).values_list("request_count", flat=True)) == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_usage_is_counted_exactly(org_admin):
    from integrations.services import api_key_create

    key, _ = api_key_create(organization=org_admin.organization, created_by=org_admin, name="x", scopes=["users:read"])
    barrier = threading.Barrier(8)

    def hit():
        try:
            barrier.wait()
            for _ in range(10):
                api_key_usage_record(key=ApiKey.objects.get(pk=key.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ApiKeyUsage.objects.get(key=key).request_count == 80


class TestRateLimit:
    def test_per_key_limit_answers_429_with_retry_after(self, as_key, make_key, settings):
        settings.PEERLY_RATE_LIMIT_API_KEYS = "3/m"
        _, secret = make_key()
        _other_key, other_secret = make_key(name="other")
        with time_machine.travel(timezone.now().replace(second=10), tick=False):
            for _ in range(3):
                assert as_key(secret).get("/users").status_code == 200
            response = as_key(secret).get("/users")
            assert response.status_code == 429
            assert error(response)["code"] == "rate_limited"
            assert 1 <= int(response["Retry-After"]) <= 60
            # each key has its own budget
            assert as_key(other_secret).get("/users").status_code == 200
        with time_machine.travel(timezone.now().replace(second=10) + timedelta(minutes=1), tick=False):
            assert as_key(secret).get("/users").status_code == 200

    def test_people_are_not_limited_by_the_key_limit(self, as_user, employee, settings):
        settings.PEERLY_RATE_LIMIT_API_KEYS = "1/m"
        for _ in range(3):
            assert as_user(employee).get("/users/me").status_code == 200

    def test_keys_count_in_their_own_group_at_1000_per_minute_by_default(self, make_key, rf):
        from django.conf import settings

        from peerly.api.ratelimit import rate_limit_for

        key, _ = make_key()
        request = rf.get("/users")
        request.auth, request.user = key, None
        limit = rate_limit_for(request, view=object())
        assert (limit.group, limit.key, limit.rate) == ("api_keys", f"key:{key.pk}", "1000/m")
        assert settings.PEERLY_RATE_LIMIT_API_KEYS == "1000/m"


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_creator_leaving_does_not_stop_the_key(as_key, make_key, org_admin):
    """Keys belong to the organisation: deleting the admin who made one leaves it working."""
    _, secret = make_key()
    other_admin = UserFactory(organization=org_admin.organization, org_admin=True)
    from accounts.services import user_soft_delete

    user_soft_delete(actor=other_admin, user=org_admin)
    assert as_key(secret).get("/users").status_code == 200
