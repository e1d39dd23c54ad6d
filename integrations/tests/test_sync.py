import pytest

from accounts.errors import CannotDeleteSelf
from accounts.models import Role, User
from accounts.tests.factories import OrganizationFactory, UserFactory
from integrations.sync import EmployeeRow, users_sync

pytestmark = pytest.mark.django_db


def error(response) -> dict:
    return response.json()["error"]


def domain_of(organization) -> str:
    return organization.domains.first().domain


def roster(organization, count: int, start: int = 0) -> list[dict]:
    domain = domain_of(organization)
    return [
        {
            "email": f"person{i}@{domain}",
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "display_name": f"Person {i}",
            "active": True,
        }
        for i in range(start, start + count)
    ]


COUNTS_ZERO = {"created": 0, "updated": 0, "deactivated": 0, "reactivated": 0, "unchanged": 0, "dry_run": False}


def counts(**values) -> dict:
    return {"data": {**COUNTS_ZERO, **values}}


@pytest.fixture
def sync_client(as_key, make_key):
    _, secret = make_key(scopes=["users:sync"])
    return as_key(secret)


@pytest.fixture
def sync(sync_client):
    def post(users, **extra):
        return sync_client.post("/users/sync", {"users": users, **extra}, format="json")

    return post


class TestSemantics:
    def test_creates_employees_with_a_full_balance(self, sync, organization):
        organization.hi5_limit = 7
        organization.save()
        # when
        response = sync([*roster(organization, 2), {"email": f"Boss@{domain_of(organization)}", "first_name": "B"}])
        # then
        assert response.status_code == 200
        assert response.json() == counts(created=3)
        person = User.objects.get(email=f"person1@{domain_of(organization)}")
        assert (person.organization, person.role_id, person.hi5_quota_balance) == (organization, Role.EMPLOYEE, 7)
        assert (person.first_name, person.last_name, person.display_name) == ("First1", "Last1", "Person 1")
        assert not person.has_usable_password()
        boss = User.objects.get(email=f"boss@{domain_of(organization)}")
        assert boss.display_name == "B"

    def test_same_batch_twice_changes_nothing(self, sync, organization):
        rows = roster(organization, 5)
        assert sync(rows).json() == counts(created=5)
        before = list(User.objects.order_by("pk").values())
        assert sync(rows).json() == counts(unchanged=5)
        assert list(User.objects.order_by("pk").values()) == before

    def test_updates_names_and_role(self, sync, organization, employee):
        response = sync(
            [{"email": employee.email.upper(), "first_name": "New", "last_name": "Name", "role_id": Role.MODERATOR}]
        )
        assert response.json() == counts(updated=1)
        employee.refresh_from_db()
        assert (employee.first_name, employee.last_name, employee.display_name, employee.role_id) == (
            "New",
            "Name",
            "New Name",
            Role.MODERATOR,
        )

    def test_role_is_kept_when_not_given(self, sync, organization, moderator):
        row = {"email": moderator.email, "first_name": moderator.first_name, "last_name": moderator.last_name}
        row["display_name"] = moderator.display_name
        assert sync([row]).json() == counts(unchanged=1)
        moderator.refresh_from_db()
        assert moderator.role_id == Role.MODERATOR

    def test_deactivates_inactive_rows_and_records_the_key_creator(self, sync, employee, org_admin):
        row = {"email": employee.email, "first_name": employee.first_name, "active": False}
        assert sync([row]).json() == counts(deactivated=1)
        employee.refresh_from_db()
        assert employee.soft_delete_at is not None
        assert employee.soft_delete_by == org_admin  # the admin who created the key is accountable
        assert employee.tokens_valid_after == employee.soft_delete_at
        assert sync([row]).json() == counts(unchanged=1)

    def test_deactivated_user_loses_access_at_once(self, sync, as_user, employee):
        client = as_user(employee)
        sync([{"email": employee.email, "first_name": "x", "active": False}])
        assert client.get("/users/me").status_code == 401

    def test_reactivates_a_returning_employee(self, sync, organization):
        returning = UserFactory(organization=organization, deleted=True, first_name="Re", last_name="Turn")
        row = {
            "email": returning.email,
            "first_name": "Re",
            "last_name": "Turn",
            "display_name": returning.display_name,
        }
        assert sync([row]).json() == counts(reactivated=1)
        returning.refresh_from_db()
        assert (returning.soft_delete_at, returning.soft_delete_by) == (None, None)

    def test_unknown_leaver_is_unchanged(self, sync, organization):
        row = {"email": f"gone@{domain_of(organization)}", "first_name": "Gone", "active": False}
        assert sync([row]).json() == counts(unchanged=1)
        assert not User.objects.filter(email=row["email"]).exists()

    def test_never_touches_users_outside_the_batch(self, sync, organization, employee, moderator):
        assert sync(roster(organization, 2)).json() == counts(created=2)
        employee.refresh_from_db()
        moderator.refresh_from_db()
        assert employee.is_active
        assert moderator.is_active

    def test_deactivate_missing(self, sync, organization, employee, org_admin, outsider, super_admin):
        org_super = UserFactory(organization=organization, role_id=Role.SUPER_ADMIN)
        already_gone = UserFactory(organization=organization, deleted=True)
        # when
        response = sync(roster(organization, 2), deactivate_missing=True)
        # then: everyone of the organisation missing from the batch is soft-deleted...
        assert response.json() == counts(created=2, deactivated=1)
        employee.refresh_from_db()
        assert not employee.is_active
        # ...but never another organisation's user, an admin (by a key), or someone already deleted
        for user, active in (
            (outsider, True),
            (super_admin, True),
            (org_super, True),
            (org_admin, True),
            (already_gone, False),
        ):
            user.refresh_from_db()
            assert user.is_active is active
        assert already_gone.soft_delete_by is None

    def test_dry_run_writes_nothing(self, sync, organization, employee):
        rows = [*roster(organization, 3), {"email": employee.email, "first_name": "x", "active": False}]
        response = sync(rows, dry_run=True, deactivate_missing=True)
        # the employee; not the key's creator (missing from the batch, but an org admin)
        assert response.json() == counts(created=3, deactivated=1, dry_run=True)
        employee.refresh_from_db()
        assert employee.is_active
        assert not User.objects.filter(email__startswith="person").exists()


class TestValidation:
    def test_bad_rows_refuse_the_whole_batch(self, sync, organization, outsider, super_admin):
        # given: valid rows around bad ones
        rows = roster(organization, 6)
        rows[1]["email"] = "someone@elsewhere.example"  # foreign domain
        rows[2]["email"] = rows[0]["email"].upper()  # duplicate
        rows[3]["role_id"] = Role.SUPER_ADMIN
        rows[4]["email"] = outsider.email  # another organisation's domain
        # when
        response = sync(rows)
        # then
        assert response.status_code == 400
        assert error(response) == {
            "code": "invalid_data",
            "message": "4 of 6 rows are invalid; nothing was written",
            "fields": {
                "users.1.email": "The email's domain does not belong to this organisation.",
                "users.2.email": "Duplicate email: also in users.0.",
                "users.3.role_id": "The super admin role cannot be given by a sync.",
                "users.4.email": "The email's domain does not belong to this organisation.",
            },
        }
        assert not User.objects.filter(email__startswith="person").exists()

    def test_a_key_never_grants_changes_or_deactivates_an_org_admin(self, sync, organization, employee, org_admin):
        # given a deleted org admin too
        former = UserFactory(organization=organization, org_admin=True, deleted=True)
        rows = [
            {"email": employee.email, "first_name": "E", "role_id": Role.ORG_ADMIN},
            {"email": f"new@{domain_of(organization)}", "first_name": "N", "role_id": Role.ORG_ADMIN},
            {"email": org_admin.email, "first_name": "A", "role_id": Role.EMPLOYEE},
            {"email": former.email, "first_name": "F"},
            {"email": f"fine@{domain_of(organization)}", "first_name": "F"},
        ]

        # when: a key sends them (the whole batch is refused, row by row)
        response = sync(rows)

        # then
        assert response.status_code == 400
        assert error(response)["fields"] == {
            "users.0.role_id": "An API key cannot grant the organisation admin role.",
            "users.1.role_id": "An API key cannot grant the organisation admin role.",
            "users.2.role_id": "An API key cannot change an organisation admin's role.",
            "users.3.active": "An API key cannot reactivate an organisation admin.",
        }
        deactivate = sync([{"email": org_admin.email, "first_name": "A", "active": False}])
        assert error(deactivate)["fields"] == {"users.0.active": "An API key cannot deactivate an organisation admin."}
        for user in (employee, org_admin, former):
            before = user.role_id, user.soft_delete_at
            user.refresh_from_db()
            assert (user.role_id, user.soft_delete_at) == before
        assert not User.objects.filter(email__startswith="new@").exists()

    def test_a_key_may_rename_an_org_admin_and_restate_their_role(self, sync, org_admin):
        response = sync([{"email": org_admin.email, "first_name": "Renamed", "role_id": Role.ORG_ADMIN}])
        assert response.json() == counts(updated=1)
        org_admin.refresh_from_db()
        assert (org_admin.first_name, org_admin.role_id) == ("Renamed", Role.ORG_ADMIN)

    def test_a_person_may_still_manage_admin_roles_by_sync(self, as_user, org_admin, organization, employee):
        other = UserFactory(organization=organization, org_admin=True)
        rows = [
            {"email": employee.email, "first_name": "E", "role_id": Role.ORG_ADMIN},
            {"email": other.email, "first_name": "O", "active": False},
        ]
        response = as_user(org_admin).post("/users/sync", {"users": rows}, format="json")
        assert response.json() == counts(updated=1, deactivated=1)
        employee.refresh_from_db()
        other.refresh_from_db()
        assert (employee.role_id, other.is_active) == (Role.ORG_ADMIN, False)

    def test_shape_errors_name_the_row(self, sync, organization):
        rows = roster(organization, 4)
        rows[3]["email"] = "not-an-email"
        rows[1]["first_name"] = ""
        rows[2]["active"] = "maybe"
        response = sync(rows)
        assert response.status_code == 400
        assert error(response)["fields"] == {
            "users.1.first_name": "This field may not be blank.",
            "users.2.active": "Must be a valid boolean.",
            "users.3.email": "Enter a valid email address.",
        }
        assert not User.objects.filter(email__startswith="person").exists()

    def test_account_outside_the_organisation_with_its_domain(self, sync, organization):
        stray = UserFactory(super_admin=True, email=f"root@{domain_of(organization)}")
        response = sync([{"email": stray.email, "first_name": "Root"}])
        assert error(response)["fields"] == {
            "users.0.email": "This email belongs to an account outside this organisation."
        }

    def test_super_admin_member_is_not_changed(self, sync, organization):
        boss = UserFactory(organization=organization, role_id=Role.SUPER_ADMIN)
        response = sync([{"email": boss.email, "first_name": "x", "active": False}])
        assert error(response)["fields"] == {
            "users.0.email": "A super admin cannot be changed or deactivated by a sync."
        }

    def test_batch_limit(self, sync, organization):
        response = sync(roster(organization, 1001))
        assert response.status_code == 400
        assert error(response)["fields"] == {"users": "Ensure this field has no more than 1000 elements."}
        assert not User.objects.filter(email__startswith="person").exists()

    def test_empty_batch_is_refused(self, sync):
        response = sync([], deactivate_missing=True)
        assert response.status_code == 400
        assert error(response)["fields"] == {"users": "This list may not be empty."}

    def test_a_full_batch_fits_in_the_body_limit(self, sync, organization):
        rows = roster(organization, 1000)
        for row in rows:
            row["first_name"] = row["last_name"] = row["display_name"] = "x" * 100
        assert sync(rows).status_code == 200

    def test_body_over_the_sync_limit_is_413(self, sync, organization, settings):
        settings.PEERLY_SYNC_MAX_BODY_BYTES = 1000
        response = sync(roster(organization, 20))
        assert response.status_code == 413
        assert error(response)["code"] == "payload_too_large"


class TestCallers:
    def test_key_needs_the_sync_scope(self, as_key, make_key, organization):
        _, secret = make_key(scopes=["users:read"])
        response = as_key(secret).post("/users/sync", {"users": roster(organization, 1)}, format="json")
        assert response.status_code == 403
        assert error(response) == {"code": "access_denied", "message": "This API key lacks the scope users:sync"}

    def test_key_syncs_only_its_own_organisation(self, as_key, make_key, other_organization):
        _, secret = make_key(scopes=["users:sync"])
        response = as_key(secret).post("/users/sync", {"users": roster(other_organization, 1)}, format="json")
        assert response.status_code == 400
        assert not User.objects.filter(organization=other_organization).exists()

    def test_org_admin_may_sync_but_not_deactivate_themselves(self, as_user, org_admin, organization, employee):
        rows = [
            {"email": org_admin.email, "first_name": "Me", "active": False},
            {"email": employee.email, "first_name": "E", "active": False},
        ]
        response = as_user(org_admin).post("/users/sync", {"users": rows}, format="json")
        assert error(response)["fields"] == {"users.0.active": f"{CannotDeleteSelf.message}."}
        response = as_user(org_admin).post("/users/sync", {"users": rows[1:]}, format="json")
        assert response.json() == counts(deactivated=1)
        employee.refresh_from_db()
        assert employee.soft_delete_by == org_admin

    def test_org_admin_is_spared_by_their_own_deactivate_missing(self, as_user, org_admin, organization):
        response = as_user(org_admin).post(
            "/users/sync", {"users": roster(organization, 1), "deactivate_missing": True}, format="json"
        )
        assert response.json() == counts(created=1)
        org_admin.refresh_from_db()
        assert org_admin.is_active

    @pytest.mark.parametrize("role", ["employee", "moderator"])
    def test_other_people_are_refused(self, as_user, request, role, organization):
        response = as_user(request.getfixturevalue(role)).post(
            "/users/sync", {"users": roster(organization, 1)}, format="json"
        )
        assert response.status_code == 403

    def test_get_is_closed_to_keys_and_405_for_admins(self, sync_client, as_user, org_admin):
        assert error(sync_client.get("/users/sync"))["code"] == "access_denied"  # no scope declared for GET
        response = as_user(org_admin).get("/users/sync")
        assert response.status_code == 405
        assert error(response)["code"] == "method_not_allowed"


class TestEfficiency:
    @pytest.mark.parametrize("size", [10, 1000])
    def test_constant_queries(self, sync, organization, django_assert_max_num_queries, size):
        # given: half the users exist with other names, so the batch creates and updates
        existing = roster(organization, size // 2)
        sync(existing)
        rows = [{**row, "first_name": "Renamed"} for row in existing] + roster(organization, size - size // 2, size)
        # when / then
        with django_assert_max_num_queries(14):
            response = sync(rows)
        assert response.json() == counts(created=size - size // 2, updated=size // 2)
        with django_assert_max_num_queries(12):
            assert sync(rows).json() == counts(unchanged=size)


def test_service_handles_more_than_a_batch(organization, django_assert_max_num_queries):
    """The CSV command has no batch limit: 2,500 rows still take a handful of queries."""
    domain = domain_of(organization)
    rows = [EmployeeRow(email=f"p{i}@{domain}", first_name="P") for i in range(2500)]
    seen = []
    with django_assert_max_num_queries(12):
        result = users_sync(organization=organization, rows=rows, progress=seen.append)
    assert result.created == 2500
    assert seen == [0, 1000, 2000, 2500]
    assert User.objects.filter(organization=organization).count() == 2500


def test_sync_into_another_org_leaves_it_alone(organization):
    other = OrganizationFactory()
    mine = UserFactory(organization=organization)
    users_sync(
        organization=other, rows=[EmployeeRow(email=f"a@{domain_of(other)}", first_name="A")], deactivate_missing=True
    )
    mine.refresh_from_db()
    assert mine.is_active
