"""Sign-in through the local fake Google (real HTTP, real signatures) and token checks."""

import time

import jwt
import pytest
from django.conf import settings as django_settings

import accounts.google
from accounts.models import RevokedToken, Role, User
from accounts.services import revoked_tokens_purge
from accounts.tests.factories import OrganizationFactory, UserFactory
from accounts.tokens import PEERLY_CLAIM, token_encode

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return OrganizationFactory(name="Acme", domain="acme.example", hi5_limit=7)


def sign_in(api_client, **body):
    return api_client.post("/oauth/google", body, format="json")


def assert_invalid_token(response):
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "invalid_token"


class TestGoogleIdToken:
    def test_first_sign_in_creates_employee_with_full_balance(self, api_client, fake_google, acme):
        token = fake_google.id_token(
            email="Grace@Acme.example", given_name="Grace", family_name="Hopper", name="Amazing Grace"
        )

        response = sign_in(api_client, id_token=token)

        assert response.status_code == 200, response.content
        user = User.objects.get(email="grace@acme.example")
        assert (user.role_id, user.hi5_quota_balance, user.organization) == (Role.EMPLOYEE, 7, acme)
        assert (user.first_name, user.last_name, user.display_name) == ("Grace", "Hopper", "Amazing Grace")
        claims = jwt.decode(
            response.json()["data"]["token"],
            django_settings.PEERLY_JWT_SIGNING_KEY,
            algorithms=["HS256"],
            audience=django_settings.PEERLY_JWT_AUDIENCE,
        )
        assert set(claims) == {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", PEERLY_CLAIM}
        assert claims["sub"] == str(user.pk)
        assert claims["iss"] == django_settings.PEERLY_JWT_ISSUER
        assert claims[PEERLY_CLAIM] == {"roleId": 3, "orgId": acme.pk, "orgName": "Acme"}

    def test_second_sign_in_reuses_the_user(self, api_client, fake_google, acme):
        for _ in range(2):
            assert sign_in(api_client, id_token=fake_google.id_token(email="grace@acme.example")).status_code == 200
        assert User.objects.filter(email="grace@acme.example").count() == 1

    def test_certificates_are_cached_per_cache_control(self, api_client, fake_google, acme):
        for adapter in accounts.google._certs_session.adapters.values():
            adapter.cache.data.clear()
        for _ in range(3):
            assert sign_in(api_client, id_token=fake_google.id_token(email="grace@acme.example")).status_code == 200
        assert fake_google.certs_requests == 1

    @pytest.mark.parametrize(
        ("overrides", "rogue"),
        [
            pytest.param({"email_verified": False}, False, id="unverified-email"),
            pytest.param({"email": "eve@elsewhere.example"}, False, id="unknown-domain"),
            pytest.param({"aud": "someone-else.apps.googleusercontent.com"}, False, id="wrong-audience"),
            pytest.param({"iss": "https://evil.example"}, False, id="wrong-issuer"),
            pytest.param({"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, False, id="expired"),
            pytest.param({}, True, id="bad-signature"),
        ],
    )
    def test_refused(self, api_client, fake_google, acme, overrides, rogue):
        email = overrides.pop("email", "grace@acme.example")
        response = sign_in(api_client, id_token=fake_google.id_token(email=email, rogue=rogue, **overrides))
        assert_invalid_token(response)
        assert not User.objects.filter(email=email).exists()

    def test_garbage_token_is_invalid(self, api_client, fake_google, acme):
        assert_invalid_token(sign_in(api_client, id_token="not-a-jwt"))

    def test_deleted_user_is_refused(self, api_client, fake_google, acme):
        UserFactory(organization=acme, email="gone@acme.example", deleted=True)
        assert_invalid_token(sign_in(api_client, id_token=fake_google.id_token(email="gone@acme.example")))

    def test_google_down_is_503_not_500(self, api_client, fake_google, acme):
        for adapter in accounts.google._certs_session.adapters.values():
            adapter.cache.data.clear()
        fake_google.down = True
        response = sign_in(api_client, id_token=fake_google.id_token(email="grace@acme.example"))
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "google_unavailable"

    def test_google_unreachable_is_503(self, api_client, fake_google, acme, settings):
        for adapter in accounts.google._certs_session.adapters.values():
            adapter.cache.data.clear()
        settings.PEERLY_GOOGLE_CERTS_URL = "http://127.0.0.1:9/certs"
        response = sign_in(api_client, id_token=fake_google.id_token(email="grace@acme.example"))
        assert response.status_code == 503

    def test_no_client_ids_configured_refuses(self, api_client, fake_google, acme, settings):
        settings.PEERLY_GOOGLE_CLIENT_IDS = []
        assert_invalid_token(sign_in(api_client, id_token=fake_google.id_token(email="grace@acme.example")))


class TestGoogleAccessToken:
    def test_happy_path(self, api_client, fake_google, acme):
        response = sign_in(api_client, access_token=fake_google.access_token(email="ada@acme.example"))
        assert response.status_code == 200, response.content
        user = User.objects.get(email="ada@acme.example")
        assert (user.first_name, user.last_name, user.display_name) == ("Ada", "Lovelace", "Ada Lovelace")
        assert user.profile_image_url == "https://example.com/ada.png"

    def test_unknown_access_token(self, api_client, fake_google, acme):
        assert_invalid_token(sign_in(api_client, access_token="ya29.made-up"))

    def test_unverified_email(self, api_client, fake_google, acme):
        token = fake_google.access_token(email="ada@acme.example", email_verified=False)
        assert_invalid_token(sign_in(api_client, access_token=token))

    def test_unknown_domain(self, api_client, fake_google, acme):
        assert_invalid_token(sign_in(api_client, access_token=fake_google.access_token(email="x@nowhere.example")))

    def test_google_down(self, api_client, fake_google, acme):
        token = fake_google.access_token(email="ada@acme.example")
        fake_google.down = True
        response = sign_in(api_client, access_token=token)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "google_unavailable"

    def test_missing_token_is_validation_error(self, api_client, fake_google):
        response = sign_in(api_client)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_data"
        assert "access_token" in response.json()["error"]["fields"]


def _forge(payload: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key or django_settings.PEERLY_JWT_SIGNING_KEY, algorithm=algorithm)


def _claims(user, **overrides):
    now = int(time.time())
    claims = {
        "iss": django_settings.PEERLY_JWT_ISSUER,
        "aud": django_settings.PEERLY_JWT_AUDIENCE,
        "sub": str(user.pk),
        "exp": now + 600,
        "nbf": now,
        "iat": now,
        "jti": "a" * 32,
        PEERLY_CLAIM: {"roleId": user.role_id, "orgId": user.organization_id, "orgName": "x"},
    }
    claims.update(overrides)
    return claims


class TestTokenAttacks:
    def get_me(self, api_client, token: str | None):
        if token is not None:
            api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return api_client.get("/users/me")

    def test_valid_forged_with_our_key_works(self, api_client, employee):
        # Control: the forging helper produces an acceptable token, so the refusals below are meaningful.
        assert self.get_me(api_client, _forge(_claims(employee))).status_code == 200

    def test_missing(self, api_client):
        assert_invalid_token(self.get_me(api_client, None))

    def test_wrong_scheme(self, api_client, employee):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_encode(employee).token}")
        assert_invalid_token(api_client.get("/users/me"))

    def test_malformed(self, api_client):
        assert_invalid_token(self.get_me(api_client, "abc.def"))

    def test_alg_none(self, api_client, employee):
        token = jwt.encode(_claims(employee), None, algorithm="none")
        assert_invalid_token(self.get_me(api_client, token))

    def test_tampered(self, api_client, employee, org_admin):
        header, _payload, signature = token_encode(employee).token.split(".")
        _, other_payload, _ = token_encode(org_admin).token.split(".")
        assert_invalid_token(self.get_me(api_client, f"{header}.{other_payload}.{signature}"))

    def test_other_key(self, api_client, employee):
        assert_invalid_token(self.get_me(api_client, _forge(_claims(employee), key="not-our-key-" * 4)))

    def test_expired(self, api_client, employee):
        now = int(time.time())
        assert_invalid_token(
            self.get_me(api_client, _forge(_claims(employee, iat=now - 700, nbf=now - 700, exp=now - 100)))
        )

    def test_not_yet_valid(self, api_client, employee):
        assert_invalid_token(self.get_me(api_client, _forge(_claims(employee, nbf=int(time.time()) + 600))))

    def test_wrong_issuer(self, api_client, employee):
        assert_invalid_token(self.get_me(api_client, _forge(_claims(employee, iss="evil.example"))))

    def test_wrong_audience(self, api_client, employee):
        assert_invalid_token(self.get_me(api_client, _forge(_claims(employee, aud="evil.example"))))

    def test_missing_jti(self, api_client, employee):
        claims = _claims(employee)
        del claims["jti"]
        assert_invalid_token(self.get_me(api_client, _forge(claims)))

    def test_unknown_user(self, api_client, employee):
        assert_invalid_token(self.get_me(api_client, _forge(_claims(employee, sub="999999999"))))

    def test_revoked_after_logout(self, api_client, employee):
        token = token_encode(employee).token
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api_client.post("/logout")
        assert response.status_code == 200
        assert response.json() == {"data": {"message": "Logged out"}}
        assert_invalid_token(api_client.get("/users/me"))
        assert_invalid_token(api_client.post("/logout"))

    def test_logout_revokes_only_that_token(self, api_client, employee, as_user):
        other_session = as_user(employee)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_encode(employee).token}")
        assert api_client.post("/logout").status_code == 200
        assert other_session.get("/users/me").status_code == 200

    def test_deleted_user(self, as_user, employee, org_admin):
        client = as_user(employee)
        assert client.get("/users/me").status_code == 200
        assert as_user(org_admin).delete(f"/users/{employee.pk}").status_code == 200
        assert_invalid_token(client.get("/users/me"))

    def test_role_comes_from_database_not_token(self, as_user, employee, organization):
        client = as_user(employee)  # token says employee
        assert client.get(f"/users/{employee.pk}").status_code == 403
        employee.role_id = Role.ORG_ADMIN
        employee.save()
        assert client.get(f"/users/{employee.pk}").status_code == 200


def test_purge_removes_only_expired_revocations(employee):
    from datetime import timedelta

    from django.utils import timezone

    RevokedToken.objects.create(jti="old", user=employee, expires_at=timezone.now() - timedelta(seconds=1))
    RevokedToken.objects.create(jti="live", user=employee, expires_at=timezone.now() + timedelta(hours=1))
    assert revoked_tokens_purge() == 1
    assert list(RevokedToken.objects.values_list("jti", flat=True)) == ["live"]
