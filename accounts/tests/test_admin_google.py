"""The back office's "Sign in with Google" (#13): the authorization-code flow with PKCE, state and nonce
against the local fake Google (tests/fake_google.py: consent page, token endpoint, signed ID tokens),
with Authlib and google-auth doing the real work. The consent is given programmatically (what pressing
"Allow" does); the browser test in moderation/tests/test_browser.py clicks through it.
"""

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from accounts.tests.factories import OrganizationFactory, UserFactory
from audit.models import AuditEvent
from tests.fake_google import CLIENT_ID

pytestmark = pytest.mark.django_db

LOGIN = "/admin/google/login/"


def start(client: Client, next_url: str = "") -> str:
    """Press "Sign in with Google": the URL of Google's consent page Peerly sends the browser to."""
    response = client.get(LOGIN + (f"?{urlencode({'next': next_url})}" if next_url else ""))
    assert response.status_code == 302
    return response["Location"]


def come_back(client: Client, redirect: str):
    """Google's redirect back to Peerly, followed by the browser."""
    parts = urlsplit(redirect)
    return client.get(parts.path, parse_qs(parts.query))


def sign_in(client: Client, fake, email: str, **claims):
    return come_back(client, fake.consent(start(client), email, **claims))


def test_the_login_page_offers_google_where_it_is_configured(google_oauth, settings):
    page = Client().get("/admin/login/?next=/admin/audit/").content.decode()
    assert 'href="/admin/google/login/?next=/admin/audit/"' in page

    settings.PEERLY_GOOGLE_OAUTH_CLIENT_ID = ""
    assert "Sign in with Google" not in Client().get("/admin/login/").content.decode()


def test_the_consent_request_carries_pkce_state_and_nonce(google_oauth):
    query = parse_qs(urlsplit(start(Client())).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/admin/google/callback/"]
    assert query["code_challenge_method"] == ["S256"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}
    assert len(query["state"][0]) >= 32
    assert len(query["nonce"][0]) >= 32
    assert query["code_challenge"][0]


@pytest.mark.parametrize("role", ["moderator", "org_admin"])
def test_an_organisations_staff_member_signs_in_without_a_password(google_oauth, organization, role):
    member = UserFactory(organization=organization, password=None, **{role: True})
    assert not member.has_usable_password()
    client = Client()

    response = sign_in(client, google_oauth, member.email.upper())  # Google's case is not ours

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert int(client.session["_auth_user_id"]) == member.pk
    event = AuditEvent.objects.get(action="staff.signed_in")
    assert (event.actor_user_id, event.organization_id, event.after) == (
        member.pk,
        organization.pk,
        {"method": "google"},
    )
    # The token request authenticated the client and proved the PKCE verifier (the fake checks both).
    (token_request,) = google_oauth.token_requests
    assert token_request["grant_type"] == "authorization_code"
    assert token_request["code_verifier"]


def test_a_super_admin_signs_in_whatever_their_domain(google_oauth):
    operator = UserFactory(super_admin=True, email="ops@operators.example")
    client = Client()
    assert sign_in(client, google_oauth, operator.email).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_next_is_followed_on_this_site_only(google_oauth, moderator):
    client = Client()
    assert come_back(client, google_oauth.consent(start(client, "/admin/audit/"), moderator.email))["Location"] == (
        "/admin/audit/"
    )
    other = Client()
    assert come_back(other, google_oauth.consent(start(other, "https://evil.example/"), moderator.email))[
        "Location"
    ] == ("/admin/")


def refused(response, status: int = 403) -> str:
    assert response.status_code == status
    assert "_auth_user_id" not in response.wsgi_request.session
    return response.content.decode()


def test_an_employee_is_told_the_back_office_is_not_for_them_and_the_refusal_is_audited(google_oauth, employee):
    page = refused(sign_in(Client(), google_oauth, employee.email))
    assert "The back office is for organisation admins and moderators" in page
    event = AuditEvent.objects.get(action="staff.sign_in_failed")
    assert event.organization_id == employee.organization_id
    assert event.after == {"method": "google", "username": employee.email}


def test_a_google_account_without_a_peerly_account_is_refused(google_oauth, organization):
    domain = organization.domains.get().domain
    page = refused(sign_in(Client(), google_oauth, f"stranger@{domain}"))
    assert f"stranger@{domain} has no Peerly account at {organization.name}" in page
    assert not organization.users.filter(email=f"stranger@{domain}").exists()  # nobody is created


def test_an_unknown_domain_is_refused(google_oauth, db):
    page = refused(sign_in(Client(), google_oauth, "someone@nowhere.example"))
    assert "does not belong to any organisation" in page


def test_an_unverified_email_is_refused(google_oauth, moderator):
    page = refused(sign_in(Client(), google_oauth, moderator.email, email_verified=False))
    assert "email address is not verified" in page


def test_a_member_of_another_organisation_with_a_matching_email_is_refused(google_oauth, organization):
    other = OrganizationFactory()
    moved = UserFactory(organization=other, moderator=True, email=f"moved@{organization.domains.get().domain}")
    refused(sign_in(Client(), google_oauth, moved.email))


def test_a_deleted_staff_member_is_refused(google_oauth, organization):
    gone = UserFactory(organization=organization, moderator=True, deleted=True)
    refused(sign_in(Client(), google_oauth, gone.email))


def test_a_callback_not_started_in_this_browser_is_refused(google_oauth, moderator):
    redirect = google_oauth.consent(start(Client()), moderator.email)  # started elsewhere
    page = refused(come_back(Client(), redirect), 400)
    assert "not started here" in page


def test_a_tampered_state_is_refused(google_oauth, moderator):
    client = Client()
    redirect = google_oauth.consent(start(client), moderator.email).replace("state=", "state=x")
    refused(come_back(client, redirect), 400)


def test_a_callback_cannot_be_replayed(google_oauth, moderator):
    client = Client()
    redirect = google_oauth.consent(start(client), moderator.email)
    assert come_back(client, redirect).status_code == 302
    client.logout()
    refused(come_back(client, redirect), 400)


def test_an_id_token_with_another_nonce_is_refused(google_oauth, moderator):
    page = refused(sign_in(Client(), google_oauth, moderator.email, nonce="from-another-sign-in"), 400)
    assert "does not match this browser" in page


def test_an_id_token_for_another_client_is_refused(google_oauth, moderator):
    refused(sign_in(Client(), google_oauth, moderator.email, aud="someone-else.apps.googleusercontent.com"), 400)


def test_a_wrong_client_secret_is_refused_by_google(google_oauth, moderator, settings):
    settings.PEERLY_GOOGLE_OAUTH_CLIENT_SECRET = "not-the-secret"
    page = refused(sign_in(Client(), google_oauth, moderator.email), 400)
    assert "Google did not confirm this sign-in" in page


def test_a_cancelled_consent_is_explained(google_oauth):
    client = Client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    page = refused(client.get("/admin/google/callback/", {"error": "access_denied", "state": state}), 400)
    assert "cancelled" in page


def test_google_down_is_a_503_page(google_oauth, moderator):
    client = Client()
    redirect = google_oauth.consent(start(client), moderator.email)
    google_oauth.down = True
    assert "could not be reached" in refused(come_back(client, redirect), 503)


def test_not_configured_is_a_503_page(google_oauth, settings):
    settings.PEERLY_GOOGLE_OAUTH_CLIENT_SECRET = ""
    assert "not configured" in refused(Client().get(LOGIN), 503)


def test_refused_google_sign_ins_count_against_the_address_like_wrong_passwords(
    google_oauth, employee, moderator, settings
):
    settings.PEERLY_RATE_LIMIT_ADMIN_LOGIN_IP = "3/h"
    with time_machine.travel(time.time(), tick=False):
        for _ in range(3):
            refused(sign_in(Client(), google_oauth, employee.email))
        paused = sign_in(Client(), google_oauth, moderator.email)
        assert paused.status_code == 429
        assert int(paused["Retry-After"]) > 0
        assert sign_in(Client(REMOTE_ADDR="127.0.0.2"), google_oauth, moderator.email).status_code == 302


def test_a_success_counts_nothing(google_oauth, moderator, settings):
    settings.PEERLY_RATE_LIMIT_ADMIN_LOGIN_IP = "2/h"
    with time_machine.travel(time.time(), tick=False):
        for _ in range(4):
            assert sign_in(Client(), google_oauth, moderator.email).status_code == 302


def test_a_session_ends_when_its_member_is_demoted_or_deleted(google_oauth, moderator):
    client = Client()
    sign_in(client, google_oauth, moderator.email)
    assert client.get("/admin/").status_code == 200

    User.objects.filter(pk=moderator.pk).update(role_id=Role.EMPLOYEE)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")

    User.objects.filter(pk=moderator.pk).update(role_id=Role.MODERATOR)
    assert client.get("/admin/").status_code == 200
    User.objects.filter(pk=moderator.pk).update(soft_delete_at=timezone.now())
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
