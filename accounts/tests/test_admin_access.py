"""Who may open which admin page: by role, and never another organisation's objects."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Organization, User
from accounts.tests.backoffice import admin_url
from accounts.tests.factories import UserFactory
from audit.models import AuditAction, AuditEvent, AuditTarget
from audit.services import audit_record
from corevalues.models import CoreValue
from moderation.models import Report, ReportedRecognition, Review
from notifications.models import SlackChannel
from recognitions.models import QuotaRenewal, Recognition


def pages(tenant):
    """(name, url) of every admin page, for the tenant's own objects."""
    org, rec = tenant.organization, tenant.recognition
    return {
        "index": reverse("admin:index"),
        "organization list": admin_url(Organization, "changelist"),
        "organization change": admin_url(Organization, "change", org.pk),
        "organization add": admin_url(Organization, "add"),
        "user list": admin_url(User, "changelist"),
        "user change": admin_url(User, "change", tenant.employee.pk),
        "user password": reverse("admin:auth_user_password_change", args=[tenant.moderator.pk]),
        "user add": admin_url(User, "add"),
        "core value list": admin_url(CoreValue, "changelist"),
        "core value change": admin_url(CoreValue, "change", tenant.core_value.pk),
        "core value add": admin_url(CoreValue, "add"),
        "recognition list": admin_url(Recognition, "changelist"),
        "recognition change": admin_url(Recognition, "change", rec.pk),
        "recognition add": admin_url(Recognition, "add"),
        "quota renewal list": admin_url(QuotaRenewal, "changelist"),
        "queue list": admin_url(ReportedRecognition, "changelist"),
        "queue change": admin_url(ReportedRecognition, "change", rec.pk),
        "queue add": admin_url(ReportedRecognition, "add"),
        "report list": admin_url(Report, "changelist"),
        "report change": admin_url(Report, "change", tenant.report.pk),
        "review list": admin_url(Review, "changelist"),
        "review change": admin_url(Review, "change", tenant.review.pk),
    }


ADD_PAGES = {"organization add", "user add", "core value add", "recognition add", "queue add"}
ADMIN_ONLY = {
    "organization list",
    "organization change",
    "user list",
    "user change",
    "user password",
    "core value list",
    "core value change",
    "core value add",
    "quota renewal list",
}


def expected_status(role: str, page: str) -> int:
    if role in ("employee", "deleted_moderator", "deleted_admin"):
        return 302  # not staff: the admin sends them to its login page
    if page == "index":
        return 200
    if role == "super_admin":
        return 200 if page not in ADD_PAGES or page in ("organization add", "core value add") else 403
    if role == "org_admin":
        return 200 if page not in ADD_PAGES or page == "core value add" else 403
    if role == "moderator":
        return 403 if page in ADMIN_ONLY or page in ADD_PAGES else 200
    raise AssertionError(role)


PAGE_NAMES = [
    "index",
    "organization list",
    "organization change",
    "organization add",
    "user list",
    "user change",
    "user password",
    "user add",
    "core value list",
    "core value change",
    "core value add",
    "recognition list",
    "recognition change",
    "recognition add",
    "quota renewal list",
    "queue list",
    "queue change",
    "queue add",
    "report list",
    "report change",
    "review list",
    "review change",
]


@pytest.mark.parametrize("role", ["super_admin", "org_admin", "moderator", "employee", "deleted_moderator"])
def test_each_role_reaches_exactly_its_pages(client, home, role):
    # given
    user = UserFactory(super_admin=True) if role == "super_admin" else getattr(home, role)
    client.force_login(user)
    urls = pages(home)
    assert set(urls) == set(PAGE_NAMES)

    # when
    statuses = {name: client.get(url).status_code for name, url in urls.items()}

    # then
    assert statuses == {name: expected_status(role, name) for name in PAGE_NAMES}


def test_non_staff_are_sent_to_the_login_page(client, home):
    client.force_login(home.employee)

    response = client.get(admin_url(ReportedRecognition, "changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_a_deleted_admin_loses_access_at_once(client, home):
    client.force_login(home.org_admin)
    assert client.get(reverse("admin:index")).status_code == 200
    User.objects.filter(pk=home.org_admin.pk).update(soft_delete_at="2026-01-01T00:00:00Z")

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302


def test_the_index_lists_only_the_models_of_the_role(client, home):
    client.force_login(home.moderator)

    response = client.get(reverse("admin:index"))

    models = {model["object_name"] for app in response.context["app_list"] for model in app["models"]}
    assert models == {"ReportedRecognition", "Report", "Review", "Recognition"}


def test_the_org_admin_index_lists_the_organisation_pages(client, home):
    client.force_login(home.org_admin)

    response = client.get(reverse("admin:index"))

    models = {model["object_name"] for app in response.context["app_list"] for model in app["models"]}
    assert models == {
        "Organization",
        "User",
        "CoreValue",
        "Recognition",
        "QuotaRenewal",
        "ReportedRecognition",
        "Report",
        "Review",
        "ApiKey",
        "AuditEvent",
        "SlackChannel",
        "WebhookEndpoint",
        "WebhookDelivery",
        "InsightsDashboard",
    }


# --- another organisation's objects by URL ----------------------------------------------------------


def foreign_object_pages(away):
    return {
        "organization": (Organization, away.organization.pk),
        "user": (User, away.employee.pk),
        "core value": (CoreValue, away.core_value.pk),
        "recognition": (Recognition, away.recognition.pk),
        "queue": (ReportedRecognition, away.recognition.pk),
        "report": (Report, away.report.pk),
        "review": (Review, away.review.pk),
        "audit event": (AuditEvent, away_audit_event(away).pk),
        "slack channel": (SlackChannel, away_slack_channel(away).pk),
    }


def away_slack_channel(away) -> SlackChannel:
    # Written directly: saving through the service would resolve the host.
    return SlackChannel.objects.create(
        organization=away.organization, webhook_url="https://hooks.slack.com/services/A/B/C"
    )


def away_audit_event(away) -> AuditEvent:
    return audit_record(
        action=AuditAction.USER_ROLE_CHANGED,
        target_type=AuditTarget.USER,
        target_id=away.employee.pk,
        organization_id=away.organization.pk,
        actor=away.org_admin,
        before={"role_id": 3},
        after={"role_id": 4},
    )


CAN_VIEW = {
    "org_admin": {
        "organization",
        "user",
        "core value",
        "recognition",
        "queue",
        "report",
        "review",
        "audit event",
        "slack channel",
    },
    "moderator": {"recognition", "queue", "report", "review"},
}
CAN_CHANGE = {"org_admin": {"organization", "user", "core value", "slack channel"}, "moderator": set()}


@pytest.mark.parametrize("role", ["org_admin", "moderator"])
@pytest.mark.parametrize(
    "page",
    ["organization", "user", "core value", "recognition", "queue", "report", "review", "audit event", "slack channel"],
)
def test_another_organisations_object_behaves_as_missing(client, home, away, role, page):
    # given a staff member of Home and the id of one of Away's objects
    model, pk = foreign_object_pages(away)[page]
    client.force_login(getattr(home, role))
    missing = reverse("admin:index")  # Django 5.2 redirects a missing object to the index, with a warning

    # when
    change = client.get(admin_url(model, "change", pk))
    history = client.get(admin_url(model, "history", pk))
    post = client.post(admin_url(model, "change", pk), {"text": "hijacked", "name": "hijacked"})

    # then: the object is never shown nor changed
    if page in CAN_VIEW[role]:
        assert (change.status_code, change.url) == (302, missing)
        assert "Perhaps it was deleted?" in str(next(iter(get_messages(change.wsgi_request))))
    else:
        assert change.status_code == 403
    assert (history.status_code, history.url) == (302, missing)
    if page in CAN_CHANGE[role]:
        assert (post.status_code, post.url) == (302, missing)
    else:
        assert post.status_code == 403
    for response in (change, history, post):
        assert "Away" not in response.content.decode()
    assert not Organization.objects.filter(name="hijacked").exists()
    assert not CoreValue.objects.filter(text="hijacked").exists()


def test_another_organisations_user_password_page_is_not_found(client, home, away):
    client.force_login(home.org_admin)

    response = client.get(reverse("admin:auth_user_password_change", args=[away.moderator.pk]))

    assert response.status_code == 404


def test_a_super_admin_opens_any_organisations_objects(client, home, away):
    client.force_login(UserFactory(super_admin=True))

    for model, pk in foreign_object_pages(away).values():
        assert client.get(admin_url(model, "change", pk)).status_code == 200


# --- sign-in -----------------------------------------------------------------------------------------


def passwords_allowed(organization) -> None:
    organization.staff_password_sign_in = True  # else Google only (accounts/tests/test_admin_password_policy.py)
    organization.save()


def test_staff_sign_in_with_email_and_password(client, home):
    passwords_allowed(home.organization)
    login_page = client.get(reverse("admin:login"))
    assert login_page.status_code == 200
    assert "Email" in login_page.content.decode()

    response = client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": home.moderator.email.upper(), "password": "peerly-test-password"},
    )

    assert response.status_code == 302
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("who", ["employee", "deleted_moderator"])
def test_members_and_deleted_staff_cannot_sign_in(client, home, who):
    passwords_allowed(home.organization)
    response = client.post(
        reverse("admin:login"), {"username": getattr(home, who).email, "password": "peerly-test-password"}
    )

    assert response.status_code == 200
    assert "Please enter the correct email and password for a staff account" in response.content.decode()


def test_the_admin_is_branded_with_the_organisation(client, home):
    client.force_login(home.org_admin)

    body = client.get(reverse("admin:index")).content.decode()

    assert "Peerly administration" in body
    assert home.organization.name in body
