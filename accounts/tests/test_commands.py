from io import StringIO

import jwt
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import Organization, OrganizationDomain, Role, User
from accounts.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


class TestCreateOrganization:
    def test_creates_with_settings_and_admin(self):
        run(
            "create_organization",
            "--name=Initech",
            "--domain=initech.example",
            "--domain=INITECH.co.example",
            "--hi5-limit=8",
            "--renewal=weekly",
            "--timezone=Asia/Kolkata",
            "--admin-email=boss@initech.example",
        )
        org = Organization.objects.get(name="Initech")
        assert (org.hi5_limit, org.hi5_quota_renewal_frequency, org.timezone) == (8, "weekly", "Asia/Kolkata")
        assert set(org.domains.values_list("domain", flat=True)) == {"initech.example", "initech.co.example"}
        boss = User.objects.get(email="boss@initech.example")
        assert (boss.role_id, boss.organization, boss.hi5_quota_balance) == (Role.ORG_ADMIN, org, 8)

    def test_idempotent(self):
        for _ in range(2):
            run("create_organization", "--name=Initech", "--domain=initech.example")
        assert Organization.objects.filter(name="Initech").count() == 1
        assert OrganizationDomain.objects.filter(domain="initech.example").count() == 1

    def test_refuses_domain_of_another_org_and_writes_nothing(self):
        OrganizationFactory(name="Acme", domain="acme.example")
        with pytest.raises(CommandError, match="belongs to Acme"):
            run("create_organization", "--name=Copycat", "--domain=copycat.example", "--domain=ACME.example")
        assert not Organization.objects.filter(name="Copycat").exists()
        assert not OrganizationDomain.objects.filter(domain="copycat.example").exists()

    def test_refuses_unknown_timezone(self):
        with pytest.raises(CommandError, match="timezone"):
            run("create_organization", "--name=X", "--domain=x.example", "--timezone=Mars/Olympus")

    def test_admin_email_must_be_in_org_domain(self):
        with pytest.raises(CommandError, match="admin_email"):
            run("create_organization", "--name=X", "--domain=x.example", "--admin-email=a@elsewhere.example")

    def test_admin_email_of_another_organisations_member_is_refused(self):
        # given a member of Acme whose domain has since moved to Initech
        acme = OrganizationFactory(name="Acme", domain="acme.example")
        member = UserFactory(organization=acme, email="pat@acme.example")
        OrganizationDomain.objects.filter(domain="acme.example").delete()

        # when Initech is set up with that domain and that person as admin
        with pytest.raises(CommandError, match="admin_email: This account belongs to another organisation"):
            run("create_organization", "--name=Initech", "--domain=acme.example", "--admin-email=pat@acme.example")

        # then they are not made an admin (of Acme, where they are)
        member.refresh_from_db()
        assert (member.organization, member.role_id) == (acme, Role.EMPLOYEE)


class TestIssueToken:
    def test_prints_a_token_for_the_user(self, employee, api_client):
        token = run("issue_token", employee.email).strip()
        claims = jwt.decode(
            token, settings.PEERLY_JWT_SIGNING_KEY, algorithms=["HS256"], audience=settings.PEERLY_JWT_AUDIENCE
        )
        assert claims["sub"] == str(employee.pk)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert api_client.get("/users/me").json()["data"]["id"] == employee.pk

    def test_unknown_or_deleted_user(self, organization):
        gone = UserFactory(organization=organization, deleted=True)
        for email in ("nobody@x.example", gone.email):
            with pytest.raises(CommandError):
                run("issue_token", email)


class TestStaffPassword:
    def test_sets_password_for_moderator(self, moderator):
        run("set_staff_password", moderator.email, "--password=a-long-enough-passphrase")
        moderator.refresh_from_db()
        assert moderator.check_password("a-long-enough-passphrase")
        assert moderator.is_staff

    def test_refuses_employee(self, employee):
        with pytest.raises(CommandError, match="employee"):
            run("set_staff_password", employee.email, "--password=a-long-enough-passphrase")


def test_createsuperuser_makes_a_platform_super_admin():
    call_command("createsuperuser", "--noinput", "--email=root@peerly.example", stdout=StringIO())
    root = User.objects.get(email="root@peerly.example")
    assert (root.role_id, root.organization) == (Role.SUPER_ADMIN, None)
