"""Passwords are the exception in the back office (#13): an organisation's staff sign in with Google
unless the organisation chose passwords too (`staff_password_sign_in`); super admins always may
(break-glass). Email domain changes are audited like the other settings.

Client addresses are loopback ones given as REMOTE_ADDR to Django's in-process client: nothing connects.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from accounts.models import Organization, OrganizationDomain
from accounts.tests.backoffice import admin_url, form_data
from accounts.tests.factories import OrganizationFactory, UserFactory
from audit.models import AuditEvent

PASSWORD = "a-long-enough-passphrase"
GOOGLE_ONLY = "Where your organisation signs in with Google only"


def staff(organization, **role):
    user = UserFactory(organization=organization, **(role or {"moderator": True}))
    user.set_password(PASSWORD)
    user.save()
    return user


def login(email: str, password: str = PASSWORD, client: Client | None = None):
    client = client or Client()
    return client.post("/admin/login/", {"username": email, "password": password, "next": "/admin/"})


@pytest.mark.django_db
def test_a_new_organisation_signs_in_with_google_only():
    assert Organization.objects.create(name="Fresh").staff_password_sign_in is False
    assert OrganizationFactory().staff_password_sign_in is False


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["moderator", "org_admin"])
def test_the_right_password_does_not_open_the_back_office_of_a_google_only_organisation(organization, role):
    member = staff(organization, **{role: True})
    client = Client()
    answer = login(member.email, client=client)
    assert answer.status_code == 200
    assert GOOGLE_ONLY in answer.content.decode()
    assert client.get("/admin/").status_code == 302
    assert AuditEvent.objects.get(action="staff.sign_in_failed").after == {
        "method": "password",
        "username": member.email,
    }


@pytest.mark.django_db
def test_the_refusal_tells_nothing_about_the_domain(organization, other_organization):
    """A Google-only customer's domain, a domain that allows passwords and no customer at all: the
    same answer (the login page must not tell which domains are customers)."""
    other_organization.staff_password_sign_in = True
    other_organization.save()
    answers = {
        login(staff(organization).email).content.decode().split('<p class="errornote">')[1].split("</p>")[0],
        login(staff(other_organization).email, "wrong")
        .content.decode()
        .split('<p class="errornote">')[1]
        .split("</p>")[0],
        login("someone@nowhere.example", "wrong").content.decode().split('<p class="errornote">')[1].split("</p>")[0],
    }
    assert len(answers) == 1
    assert GOOGLE_ONLY in answers.pop()


@pytest.mark.django_db
def test_an_organisation_that_chose_passwords_signs_in_with_them(organization):
    organization.staff_password_sign_in = True
    organization.save()
    assert login(staff(organization).email).url == "/admin/"


@pytest.mark.django_db
def test_a_super_admin_always_may_use_a_password(organization):
    root = staff(organization, super_admin=True)  # even in a Google-only organisation
    assert login(root.email).url == "/admin/"
    platform = UserFactory(super_admin=True, organization=None)
    platform.set_password(PASSWORD)
    platform.save()
    assert login(platform.email).url == "/admin/"


@pytest.mark.django_db
def test_turning_passwords_off_ends_the_password_sessions_not_the_google_ones(organization):
    organization.staff_password_sign_in = True
    organization.save()
    with_password, with_google = Client(), Client()
    moderator = staff(organization)
    login(moderator.email, client=with_password)
    with_google.force_login(moderator)  # the first backend: the Google sign-in's
    assert with_password.get("/admin/").status_code == 200

    organization.staff_password_sign_in = False
    organization.save()

    assert with_password.get("/admin/").status_code == 302
    assert with_google.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_organisation_admin_chooses_it_in_the_admin_and_it_is_audited(organization):
    admin = UserFactory(organization=organization, org_admin=True)
    client = Client()
    client.force_login(admin)
    url = admin_url(Organization, "change", organization.pk)
    data = form_data(client.get(url))
    data["staff_password_sign_in"] = "on"

    assert client.post(url, data).status_code == 302

    organization.refresh_from_db()
    assert organization.staff_password_sign_in is True
    event = AuditEvent.objects.get(action="organization.updated")
    assert (event.actor_user_id, event.before, event.after) == (
        admin.pk,
        {"staff_password_sign_in": False},
        {"staff_password_sign_in": True},
    )


@pytest.mark.django_db
def test_domain_changes_in_the_admin_are_audited(organization, super_admin):
    client = Client()
    client.force_login(super_admin)
    url = admin_url(Organization, "change", organization.pk)
    data = form_data(client.get(url))
    data.update({"domains-TOTAL_FORMS": "2", "domains-1-domain": "second.example", "domains-1-organization": ""})

    assert client.post(url, data).status_code == 302

    event = AuditEvent.objects.get(action="organization.domains_changed")
    first = organization.domains.exclude(domain="second.example").get().domain
    assert (event.actor_user_id, event.organization_id) == (super_admin.pk, organization.pk)
    assert (event.before, event.after) == ({"domains": [first]}, {"domains": sorted([first, "second.example"])})
    # Saving again without a change records nothing more.
    assert client.post(url, form_data(client.get(url))).status_code == 302
    assert AuditEvent.objects.filter(action="organization.domains_changed").count() == 1


@pytest.mark.django_db
def test_operators_choose_it_with_create_organization_and_domains_are_audited():
    out = StringIO()
    call_command("create_organization", "--name", "Initech", "--domain", "initech.example", stdout=out)
    initech = Organization.objects.get(name="Initech")
    assert initech.staff_password_sign_in is False
    added = AuditEvent.objects.get(action="organization.domains_changed")
    assert (added.actor_user_id, added.before, added.after) == (None, {"domains": []}, {"domains": ["initech.example"]})

    call_command(
        "create_organization",
        "--name",
        "Initech",
        "--domain",
        "initrode.example",
        "--staff-password-sign-in",
        stdout=out,
    )
    initech.refresh_from_db()
    assert initech.staff_password_sign_in is True
    assert AuditEvent.objects.filter(action="organization.domains_changed").latest("id").after == {
        "domains": ["initech.example", "initrode.example"]
    }
    call_command(
        "create_organization", "--name", "Initech", "--domain", "initech.example", "--no-staff-password-sign-in"
    )
    initech.refresh_from_db()
    assert initech.staff_password_sign_in is False
    assert sorted(OrganizationDomain.objects.filter(organization=initech).values_list("domain", flat=True)) == [
        "initech.example",
        "initrode.example",
    ]


@pytest.mark.django_db
def test_set_staff_password_says_when_the_password_cannot_be_used(organization):
    moderator = UserFactory(organization=organization, moderator=True)
    out = StringIO()
    call_command("set_staff_password", moderator.email, "--password", PASSWORD, stdout=out)
    assert "signs in to the admin with Google only" in out.getvalue()
    organization.staff_password_sign_in = True
    organization.save()
    out = StringIO()
    call_command("set_staff_password", moderator.email, "--password", PASSWORD, stdout=out)
    assert "they can sign in at /admin/" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_organisations_from_before_the_setting_keep_their_password_sign_in():
    executor = MigrationExecutor(connection)
    before = [("accounts", "0003_recovery_codes")]
    after = [("accounts", "0004_staff_password_sign_in")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old_apps.get_model("accounts", "Organization").objects.create(name="Upgraded", timezone="UTC")
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new_apps = executor.loader.project_state(after).apps
    organizations = new_apps.get_model("accounts", "Organization").objects
    assert organizations.get(name="Upgraded").staff_password_sign_in is True
    assert organizations.create(name="Later", timezone="UTC").staff_password_sign_in is False
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
