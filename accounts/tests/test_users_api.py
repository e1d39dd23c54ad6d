import re

import pytest
from django.db import connection

from accounts.models import Role, User
from accounts.selectors import _MEMBER_COUNT, _MEMBER_PAGE
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def error_code(response) -> str:
    return response.json()["error"]["code"]


def user_body(user: User) -> dict:
    return {
        "id": user.pk,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "display_name": user.display_name,
        "profile_image_url": user.profile_image_url,
        "role_id": user.role_id,
        "hi5_quota_balance": user.hi5_quota_balance,
        "org_id": user.organization_id,
        "soft_delete_by": None,
        "soft_delete_at": None,
    }


class TestMe:
    def test_get(self, as_user, employee):
        response = as_user(employee).get("/users/me")
        assert response.status_code == 200
        assert response.json() == {"data": user_body(employee)}

    def test_trailing_slash_is_tolerated_without_redirect(self, as_user, employee):
        assert as_user(employee).get("/users/me/").status_code == 200

    def test_put_updates_names(self, as_user, employee):
        body = {
            "first_name": "Ann",
            "last_name": "Lee",
            "display_name": "Annie",
            "profile_image_url": "https://x.example/a.png",
        }
        response = as_user(employee).put("/users/me", body, format="json")
        assert response.status_code == 200
        employee.refresh_from_db()
        assert response.json() == {"data": user_body(employee)}
        assert (employee.first_name, employee.display_name, employee.profile_image_url) == (
            "Ann",
            "Annie",
            "https://x.example/a.png",
        )

    def test_put_requires_names(self, as_user, employee):
        response = as_user(employee).put(
            "/users/me", {"first_name": "", "profile_image_url": "javascript:alert(1)"}, format="json"
        )
        assert response.status_code == 400
        assert error_code(response) == "invalid_data"
        assert set(response.json()["error"]["fields"]) == {
            "first_name",
            "last_name",
            "display_name",
            "profile_image_url",
        }

    def test_put_cannot_change_role_or_balance(self, as_user, employee):
        body = {"first_name": "A", "last_name": "B", "display_name": "C", "role_id": 1, "hi5_quota_balance": 999}
        assert as_user(employee).put("/users/me", body, format="json").status_code == 200
        employee.refresh_from_db()
        assert (employee.role_id, employee.hi5_quota_balance) == (Role.EMPLOYEE, 5)


class TestList:
    def test_lists_active_members_of_own_org_only(self, as_user, employee, outsider, organization):
        colleague = UserFactory(organization=organization)
        UserFactory(organization=organization, deleted=True)
        response = as_user(employee).get("/users")
        assert response.status_code == 200
        ids = {item["id"] for item in response.json()["data"]}
        assert ids == {employee.pk, colleague.pk}
        assert response.json()["meta"] == {"total": 2, "limit": 10, "offset": 0, "next": None}

    def test_pagination(self, as_user, employee, organization):
        UserFactory.create_batch(4, organization=organization)
        response = as_user(employee).get("/users?limit=2&offset=3")
        assert response.json()["meta"] == {"total": 5, "limit": 2, "offset": 3, "next": None}
        assert len(response.json()["data"]) == 2

    def test_limit_is_capped_at_100(self, as_user, employee):
        assert as_user(employee).get("/users?limit=1000").json()["meta"]["limit"] == 100

    @pytest.mark.parametrize("query", ["limit=0", "limit=-1", "offset=-5", "limit=abc", "offset=99999999999999999999"])
    def test_bad_pagination_is_invalid_data(self, as_user, employee, query):
        response = as_user(employee).get(f"/users?{query}")
        assert response.status_code == 400
        assert error_code(response) == "invalid_data"
        assert set(response.json()["error"]["fields"]) <= {"limit", "offset"}

    def test_starts_with_matches_first_last_or_display_name(self, as_user, employee, organization):
        first = UserFactory(organization=organization, first_name="Zelda", last_name="A", display_name="Q")
        last = UserFactory(organization=organization, first_name="B", last_name="zeus", display_name="Q")
        display = UserFactory(organization=organization, first_name="B", last_name="C", display_name="ZED")
        UserFactory(organization=organization, first_name="Azel", last_name="Azel", display_name="Azel")
        response = as_user(employee).get("/users?starts_with=ze")
        assert {item["id"] for item in response.json()["data"]} == {first.pk, last.pk, display.pk}

    def test_starts_with_is_case_insensitive_ordered_and_scoped(self, as_user, employee, organization, outsider):
        # given: matches in several cases, a deleted match, another organisation's match
        b = UserFactory(organization=organization, first_name="zoe", last_name="B", display_name="x")
        a1 = UserFactory(organization=organization, first_name="Zoe", last_name="A", display_name="y")
        a2 = UserFactory(organization=organization, first_name="Zoe", last_name="A", display_name="z")
        UserFactory(organization=organization, first_name="Zoe", deleted=True)
        UserFactory(organization=outsider.organization, first_name="Zoe")
        # when
        response = as_user(employee).get("/users?starts_with=ZO")
        # then: first_name, last_name, id order (the database's collation decides "Zoe" vs "zoe")
        expected = sorted([a1, a2, b], key=lambda user: (user.first_name, user.last_name, user.pk))
        ids = [item["id"] for item in response.json()["data"]]
        assert sorted(ids) == sorted(user.pk for user in expected)
        assert ids == list(
            User.objects.active()
            .filter(organization=organization, first_name__istartswith="zo")
            .order_by("first_name", "last_name", "id")
            .values_list("pk", flat=True)
        )
        assert ids.index(a1.pk) < ids.index(a2.pk)
        assert response.json()["meta"] == {"total": 3, "limit": 10, "offset": 0, "next": None}

    @pytest.mark.parametrize(("prefix", "expected"), [("%", {"%Off"}), ("a_", {"A_b"}), ("a%", set()), ("\\", {"\\x"})])
    def test_starts_with_wildcards_are_literal(self, as_user, employee, organization, prefix, expected):
        for name in ("%Off", "A_b", "Abc", "\\x", "Zed"):
            UserFactory(organization=organization, first_name=name, last_name="L", display_name="D")
        response = as_user(employee).get("/users", {"starts_with": prefix})
        assert {item["first_name"] for item in response.json()["data"]} == expected

    @pytest.mark.parametrize("query", ["page", "count"])
    def test_starts_with_is_served_by_the_name_indexes(self, employee, organization, other_organization, query):
        # given: an organisation of 2,000 members (and another one of 500), a few of them matching, statistics
        names = ("Ada", "Ben", "Carla", "Zelda", "Maria", "Noah", "Olga", "Sam")
        User.objects.bulk_create(
            User(
                email=f"member{n}@bulk.example",
                first_name=names[n % len(names)] if n % 500 else "Zeno",
                last_name=names[(n // 8) % len(names)].upper(),
                display_name=f"{names[n % len(names)]} {n}",
                organization=organization if n < 2_000 else other_organization,
            )
            for n in range(2_500)
        )
        # the statements GET /users sends: the page with its total, and the count of a page past the end
        filters = {"organization_id": organization.pk, "starts_with": "zen"}
        sql, params = (
            _MEMBER_PAGE.sql(**filters, offset=0, limit=10) if query == "page" else _MEMBER_COUNT.sql(**filters)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE accounts_user")
            # when: the planner chooses, as it would in production
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        # then: one index range per name (organisation, then the prefix), OR-ed; no scan of the members
        assert "BitmapOr" in plan, plan
        for index in ("user_active_first_name_upper", "user_active_last_name_upper", "user_active_display_upper"):
            assert f"Bitmap Index Scan on {index}" in plan, plan
        # (a value bound server-side shows as '42'::smallint, one inlined by the client as 42)
        organization_cond = rf"Index Cond: \(\(organization_id = (?:{organization.pk}|'{organization.pk}'::\w+)\) AND "
        assert len(re.findall(organization_cond, plan)) == 3, plan
        assert "~>=~ 'ZEN'::text" in plan
        assert "~<~ 'ZEO'::text" in plan
        # (The one-row organisations table may be read whole once VACUUM has recorded its size: not the point.)
        assert "Seq Scan on accounts_user" not in plan

    def test_org_id_is_for_super_admins_only(self, as_user, employee, other_organization):
        response = as_user(employee).get(f"/users?org_id={other_organization.pk}")
        assert response.status_code == 403
        assert error_code(response) == "access_denied"

    def test_super_admin_lists_any_org(self, as_user, super_admin, outsider, employee, other_organization):
        response = as_user(super_admin).get(f"/users?org_id={other_organization.pk}")
        assert [item["id"] for item in response.json()["data"]] == [outsider.pk]


class TestAdminEndpoints:
    def test_employee_and_moderator_cannot_get_by_id(self, as_user, employee, moderator):
        for user in (employee, moderator):
            response = as_user(user).get(f"/users/{employee.pk}")
            assert response.status_code == 403
            assert error_code(response) == "access_denied"

    def test_admin_gets_by_id(self, as_user, org_admin, employee):
        response = as_user(org_admin).get(f"/users/{employee.pk}")
        assert response.json() == {"data": user_body(employee)}

    def test_other_org_id_is_404(self, as_user, org_admin, outsider):
        for method in ("get", "put", "delete"):
            response = getattr(as_user(org_admin), method)(f"/users/{outsider.pk}", {"role_id": 4}, format="json")
            assert response.status_code == 404, method
            assert error_code(response) == "not_found"
        outsider.refresh_from_db()
        assert (outsider.role_id, outsider.soft_delete_at) == (Role.EMPLOYEE, None)

    @pytest.mark.parametrize("bad_id", ["abc", "99999999999999999999999", "0x1", "-1"])
    def test_bad_ids_are_404(self, as_user, org_admin, bad_id):
        response = as_user(org_admin).get(f"/users/{bad_id}")
        assert response.status_code == 404
        assert error_code(response) == "not_found"

    def test_change_role(self, as_user, org_admin, employee):
        response = as_user(org_admin).put(f"/users/{employee.pk}", {"role_id": Role.MODERATOR}, format="json")
        assert response.status_code == 200
        assert response.json()["data"]["role_id"] == Role.MODERATOR
        employee.refresh_from_db()
        assert employee.role_id == Role.MODERATOR

    def test_change_role_validation(self, as_user, org_admin, employee):
        response = as_user(org_admin).put(f"/users/{employee.pk}", {"role_id": 9}, format="json")
        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) == {"role_id"}

    def test_org_admin_cannot_grant_super_admin(self, as_user, org_admin, employee):
        response = as_user(org_admin).put(f"/users/{employee.pk}", {"role_id": Role.SUPER_ADMIN}, format="json")
        assert response.status_code == 403

    def test_cannot_change_own_role(self, as_user, org_admin):
        response = as_user(org_admin).put(f"/users/{org_admin.pk}", {"role_id": Role.EMPLOYEE}, format="json")
        assert response.status_code == 422
        assert error_code(response) == "cannot_change_own_role"

    @pytest.mark.parametrize("role_id", [Role.ORG_ADMIN, Role.EMPLOYEE, Role.MODERATOR])
    def test_a_user_without_organisation_stays_super_admin(self, as_user, super_admin, role_id):
        other = UserFactory(super_admin=True)

        response = as_user(super_admin).put(f"/users/{other.pk}", {"role_id": role_id}, format="json")

        assert response.status_code == 422
        assert response.json() == {
            "error": {
                "code": "organization_required",
                "message": "Only a super admin may belong to no organisation: give the user an organisation first",
            }
        }
        other.refresh_from_db()
        assert other.role_id == Role.SUPER_ADMIN

    def test_a_super_admin_of_an_organisation_can_be_demoted(self, as_user, super_admin, organization):
        other = UserFactory(super_admin=True, organization=organization)

        response = as_user(super_admin).put(f"/users/{other.pk}", {"role_id": Role.ORG_ADMIN}, format="json")

        assert response.status_code == 200
        other.refresh_from_db()
        assert other.role_id == Role.ORG_ADMIN

    def test_employee_cannot_change_roles(self, as_user, employee, org_admin):
        response = as_user(employee).put(f"/users/{org_admin.pk}", {"role_id": Role.EMPLOYEE}, format="json")
        assert response.status_code == 403

    def test_soft_delete(self, as_user, org_admin, employee):
        response = as_user(org_admin).delete(f"/users/{employee.pk}")
        assert response.status_code == 200
        employee.refresh_from_db()
        assert employee.soft_delete_at is not None
        assert employee.soft_delete_by == org_admin
        assert response.json()["data"]["soft_delete_by"] == org_admin.pk
        again = as_user(org_admin).delete(f"/users/{employee.pk}")
        assert (again.status_code, error_code(again)) == (409, "already_deleted")

    def test_cannot_delete_self(self, as_user, org_admin):
        response = as_user(org_admin).delete(f"/users/{org_admin.pk}")
        assert (response.status_code, error_code(response)) == (422, "cannot_delete_self")

    def test_patch_is_405_in_envelope(self, as_user, org_admin, employee):
        response = as_user(org_admin).patch(f"/users/{employee.pk}", {"role_id": 4}, format="json")
        assert response.status_code == 405
        assert error_code(response) == "method_not_allowed"
