from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = "email,first_name,last_name,display_name,role_id,active\n"


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync_users", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str):
        path = tmp_path / "employees.csv"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def domain(organization) -> str:
    return organization.domains.first().domain


class TestSyncUsersCommand:
    def test_creates_updates_deactivates_with_progress_and_summary(self, csv_file, organization, employee):
        d = domain(organization)
        path = csv_file(
            HEADER
            + f"ann@{d},Ann,Lee,,,\n"
            + f"mod@{d},Mo,Derator,Mo D,4,true\n"
            + f"{employee.email},{employee.first_name},{employee.last_name},,,no\n"
        )
        # when
        out, err = run(organization.name, path)
        # then
        assert out.strip() == (
            f"{organization.name}: 3 rows; created 2, updated 0, deactivated 1, reactivated 0, unchanged 0."
        )
        assert "3/3" in err
        ann = User.objects.get(email=f"ann@{d}")
        assert (ann.display_name, ann.role_id, ann.hi5_quota_balance) == ("Ann Lee", Role.EMPLOYEE, 5)
        assert User.objects.get(email=f"mod@{d}").role_id == Role.MODERATOR
        employee.refresh_from_db()
        assert employee.soft_delete_at is not None
        assert employee.soft_delete_by is None  # an operator's command: nobody in the app did it

    def test_rerun_changes_nothing_and_org_by_id(self, csv_file, organization):
        path = csv_file(HEADER + f"ann@{domain(organization)},Ann,Lee,,,\n")
        run(organization.name, path)
        out, _ = run(str(organization.pk), path)
        assert "created 0, updated 0, deactivated 0, reactivated 0, unchanged 1." in out

    def test_more_rows_than_an_api_batch(self, csv_file, organization):
        d = domain(organization)
        path = csv_file(HEADER + "".join(f"p{i}@{d},P{i},,,,\n" for i in range(1500)))
        out, err = run(organization.name, path)
        assert "created 1500" in out
        assert "1500/1500" in err

    def test_deactivate_missing_and_dry_run(self, csv_file, organization, employee):
        path = csv_file(HEADER + f"ann@{domain(organization)},Ann,Lee,,,\n")
        out, _ = run(organization.name, path, "--deactivate-missing", "--dry-run")
        assert out.startswith("Dry run (nothing written): ")
        assert "created 1, updated 0, deactivated 1" in out
        employee.refresh_from_db()
        assert employee.is_active
        assert not User.objects.filter(email__startswith="ann@").exists()
        run(organization.name, path, "--deactivate-missing")
        employee.refresh_from_db()
        assert not employee.is_active

    def test_bad_rows_write_nothing_and_name_the_lines(self, csv_file, organization, outsider):
        d = domain(organization)
        path = csv_file(HEADER + f"ann@{d},Ann,,,,\n" + "broken,X,,,,\n" + f"{outsider.email},Out,,,,\n")
        with pytest.raises(CommandError) as raised:
            run(organization.name, path)
        assert str(raised.value) == (
            "Invalid rows; nothing was written:\n  line 3, email: Enter a valid email address."
        )
        path = csv_file(HEADER + f"ann@{d},Ann,,,,\n" + f"{outsider.email},Out,,,,\n" + f"ANN@{d},Ann,,,,\n")
        with pytest.raises(CommandError) as raised:
            run(organization.name, path)
        assert str(raised.value) == (
            "2 of 3 rows are invalid; nothing was written:\n"
            "  line 3, email: The email's domain does not belong to this organisation.\n"
            "  line 4, email: Duplicate email: also in users.0."
        )
        assert not User.objects.filter(email__startswith="ann@").exists()

    def test_unknown_organisation_file_or_header(self, csv_file, organization):
        with pytest.raises(CommandError, match="No organisation"):
            run("Nope Inc", csv_file(HEADER))
        with pytest.raises(CommandError, match="Cannot read"):
            run(organization.name, "/nonexistent/file.csv")
        with pytest.raises(CommandError, match="missing"):
            run(organization.name, csv_file("mail,name\nx@y,z\n"))

    def test_admin_in_the_file_keeps_role_when_column_empty(self, csv_file, organization):
        admin = UserFactory(organization=organization, org_admin=True)
        run(organization.name, csv_file(HEADER + f"{admin.email},{admin.first_name},{admin.last_name},,,\n"))
        admin.refresh_from_db()
        assert admin.role_id == Role.ORG_ADMIN
