import pytest

from corevalues.models import CoreValue
from corevalues.tests.factories import CoreValueFactory

pytestmark = pytest.mark.django_db


def error(response) -> dict:
    return response.json()["error"]


def body(value: CoreValue) -> dict:
    return {
        "id": value.pk,
        "text": value.text,
        "description": value.description,
        "parent_core_value_id": value.parent_id,
        "thumbnail_url": value.thumbnail_url,
        "org_id": value.organization_id,
    }


class TestList:
    def test_members_read_their_organisations_values_with_meta(self, as_user, employee, organization, outsider):
        first = CoreValueFactory(organization=organization)
        child = CoreValueFactory(organization=organization, parent=first)
        CoreValueFactory(organization=outsider.organization)
        response = as_user(employee).get("/core_values")
        assert response.status_code == 200
        assert response.json() == {
            "data": [body(first), body(child)],
            "meta": {"total": 2, "limit": 100, "offset": 0, "next": None},
        }

    def test_one_page_holds_up_to_100_by_default_and_limit_offset_work(self, as_user, employee, organization):
        CoreValueFactory.create_batch(101, organization=organization)
        default = as_user(employee).get("/core_values").json()
        assert isinstance(default["meta"].pop("next"), str)
        assert len(default["data"]) == 100
        assert default["meta"] == {"total": 101, "limit": 100, "offset": 0}
        page = as_user(employee).get("/core_values?limit=1&offset=100").json()
        assert (len(page["data"]), page["meta"]) == (1, {"total": 101, "limit": 1, "offset": 100, "next": None})

    def test_empty_list(self, as_user, employee):
        assert as_user(employee).get("/core_values").json() == {
            "data": [],
            "meta": {"total": 0, "limit": 100, "offset": 0, "next": None},
        }

    def test_requires_token(self, api_client):
        response = api_client.get("/core_values")
        assert response.status_code == 401
        assert error(response)["code"] == "invalid_token"

    def test_org_id_is_for_super_admins(self, as_user, employee, super_admin, outsider):
        theirs = CoreValueFactory(organization=outsider.organization)
        CoreValueFactory(organization=employee.organization)
        refused = as_user(employee).get(f"/core_values?org_id={outsider.organization_id}")
        assert refused.status_code == 403
        assert error(refused)["code"] == "access_denied"
        response = as_user(super_admin).get(f"/core_values?org_id={outsider.organization_id}")
        assert response.json()["data"] == [body(theirs)]

    def test_invalid_org_id_is_invalid_data(self, as_user, super_admin):
        response = as_user(super_admin).get("/core_values?org_id=abc")
        assert response.status_code == 400
        assert error(response)["fields"] == {"org_id": "A valid integer is required."}


class TestRetrieve:
    def test_member_reads_one(self, as_user, employee, organization):
        value = CoreValueFactory(organization=organization, thumbnail_url="https://cdn.example/t.png")
        response = as_user(employee).get(f"/core_values/{value.pk}")
        assert response.status_code == 200
        assert response.json() == {"data": body(value)}

    @pytest.mark.parametrize("suffix", ["999999", "9999999999999999999999", "abc"])
    def test_unknown_ids_are_404(self, as_user, employee, suffix):
        response = as_user(employee).get(f"/core_values/{suffix}")
        assert response.status_code == 404
        assert error(response)["code"] == "not_found"

    def test_another_organisations_value_is_404(self, as_user, employee, outsider):
        value = CoreValueFactory(organization=outsider.organization)
        response = as_user(employee).get(f"/core_values/{value.pk}")
        assert response.status_code == 404
        assert error(response) == {"code": "not_found", "message": "Core value not found"}

    def test_super_admin_reads_any(self, as_user, super_admin, outsider):
        value = CoreValueFactory(organization=outsider.organization)
        assert as_user(super_admin).get(f"/core_values/{value.pk}").json() == {"data": body(value)}


class TestCreate:
    def test_org_admin_creates(self, as_user, org_admin):
        payload = {"text": "Ownership", "description": "We own outcomes", "thumbnail_url": "https://cdn.example/o.png"}
        response = as_user(org_admin).post("/core_values", payload, format="json")
        assert response.status_code == 201
        value = CoreValue.objects.get()
        assert response.json() == {"data": body(value)}
        assert (value.organization, value.text, value.parent) == (org_admin.organization, "Ownership", None)

    def test_child_of_a_top_level_value(self, as_user, org_admin, organization):
        parent = CoreValueFactory(organization=organization)
        payload = {"text": "Mentoring", "description": "d", "parent_core_value_id": parent.pk}
        response = as_user(org_admin).post("/core_values", payload, format="json")
        assert response.status_code == 201
        assert response.json()["data"]["parent_core_value_id"] == parent.pk

    @pytest.mark.parametrize("role", ["employee", "moderator"])
    def test_only_admins_create(self, request, as_user, role):
        user = request.getfixturevalue(role)
        response = as_user(user).post("/core_values", {"text": "T", "description": "D"}, format="json")
        assert response.status_code == 403
        assert error(response)["code"] == "access_denied"
        assert not CoreValue.objects.exists()

    def test_validation_fields(self, as_user, org_admin):
        payload = {"text": "", "thumbnail_url": "javascript:alert(1)", "parent_core_value_id": "x"}
        response = as_user(org_admin).post("/core_values", payload, format="json")
        assert response.status_code == 400
        assert error(response)["code"] == "invalid_data"
        assert set(error(response)["fields"]) == {"text", "description", "thumbnail_url", "parent_core_value_id"}

    @pytest.mark.parametrize("url", ["ftp://cdn.example/x.png", "not a url", "https://" + "a" * 500 + ".example"])
    def test_thumbnail_must_be_an_http_url(self, as_user, org_admin, url):
        response = as_user(org_admin).post(
            "/core_values", {"text": "T", "description": "D", "thumbnail_url": url}, format="json"
        )
        assert response.status_code == 400
        assert set(error(response)["fields"]) == {"thumbnail_url"}

    def test_text_is_bounded(self, as_user, org_admin):
        payload = {"text": "x" * 101, "description": "d" * 2001}
        response = as_user(org_admin).post("/core_values", payload, format="json")
        assert response.status_code == 400
        assert set(error(response)["fields"]) == {"text", "description"}

    def test_duplicate_text_in_the_organisation_is_409(self, as_user, org_admin, organization):
        CoreValueFactory(organization=organization, text="Ownership")
        response = as_user(org_admin).post("/core_values", {"text": "OWNERSHIP", "description": "d"}, format="json")
        assert response.status_code == 409
        assert error(response)["code"] == "core_value_exists"
        assert CoreValue.objects.count() == 1

    def test_same_text_in_another_organisation_is_fine(self, as_user, org_admin, other_organization):
        CoreValueFactory(organization=other_organization, text="Ownership")
        response = as_user(org_admin).post("/core_values", {"text": "Ownership", "description": "d"}, format="json")
        assert response.status_code == 201

    def test_parent_must_be_top_level(self, as_user, org_admin, organization):
        child = CoreValueFactory(organization=organization, parent=CoreValueFactory(organization=organization))
        payload = {"text": "T", "description": "D", "parent_core_value_id": child.pk}
        response = as_user(org_admin).post("/core_values", payload, format="json")
        assert response.status_code == 400
        assert error(response)["fields"] == {"parent_core_value_id": "The parent must be a top-level core value"}

    @pytest.mark.parametrize("foreign", [True, False])
    def test_parent_of_another_organisation_reads_as_unknown(self, as_user, org_admin, other_organization, foreign):
        parent_id = CoreValueFactory(organization=other_organization).pk if foreign else 987654
        payload = {"text": "T", "description": "D", "parent_core_value_id": parent_id}
        response = as_user(org_admin).post("/core_values", payload, format="json")
        assert response.status_code == 400
        assert error(response)["code"] == "unknown_reference"
        assert set(error(response)["fields"]) == {"parent_core_value_id"}
        assert not CoreValue.objects.filter(text="T").exists()

    def test_org_id_is_for_super_admins(self, as_user, org_admin, other_organization):
        payload = {"text": "T", "description": "D", "org_id": other_organization.pk}
        response = as_user(org_admin).post("/core_values", payload, format="json")
        assert response.status_code == 403
        assert not CoreValue.objects.exists()

    def test_super_admin_names_the_organisation(self, as_user, super_admin, other_organization):
        missing = as_user(super_admin).post("/core_values", {"text": "T", "description": "D"}, format="json")
        assert missing.status_code == 400
        assert set(error(missing)["fields"]) == {"org_id"}
        payload = {"text": "T", "description": "D", "org_id": other_organization.pk}
        response = as_user(super_admin).post("/core_values", payload, format="json")
        assert response.status_code == 201
        assert response.json()["data"]["org_id"] == other_organization.pk


class TestUpdate:
    def test_org_admin_edits_text_and_keeps_what_is_not_sent(self, as_user, org_admin, organization):
        parent = CoreValueFactory(organization=organization)
        value = CoreValueFactory(organization=organization, parent=parent, thumbnail_url="https://cdn.example/a.png")
        response = as_user(org_admin).put(
            f"/core_values/{value.pk}", {"text": "New", "description": "Newer"}, format="json"
        )
        assert response.status_code == 200
        value.refresh_from_db()
        assert response.json() == {"data": body(value)}
        assert (value.text, value.description, value.parent, value.thumbnail_url) == (
            "New",
            "Newer",
            parent,
            "https://cdn.example/a.png",
        )

    def test_null_clears_parent_and_thumbnail(self, as_user, org_admin, organization):
        value = CoreValueFactory(
            organization=organization,
            parent=CoreValueFactory(organization=organization),
            thumbnail_url="https://cdn.example/a.png",
        )
        payload = {"text": "T", "description": "D", "parent_core_value_id": None, "thumbnail_url": None}
        response = as_user(org_admin).put(f"/core_values/{value.pk}", payload, format="json")
        assert response.status_code == 200
        value.refresh_from_db()
        assert (value.parent, value.thumbnail_url) == (None, "")

    def test_moves_under_a_top_level_value(self, as_user, org_admin, organization):
        value, parent = CoreValueFactory.create_batch(2, organization=organization)
        payload = {"text": "T", "description": "D", "parent_core_value_id": parent.pk}
        assert as_user(org_admin).put(f"/core_values/{value.pk}", payload, format="json").status_code == 200
        value.refresh_from_db()
        assert value.parent == parent

    def test_a_value_with_children_cannot_get_a_parent(self, as_user, org_admin, organization):
        value, other = CoreValueFactory.create_batch(2, organization=organization)
        CoreValueFactory(organization=organization, parent=value)
        payload = {"text": "T", "description": "D", "parent_core_value_id": other.pk}
        response = as_user(org_admin).put(f"/core_values/{value.pk}", payload, format="json")
        assert response.status_code == 400
        assert set(error(response)["fields"]) == {"parent_core_value_id"}
        value.refresh_from_db()
        assert value.parent is None

    def test_not_its_own_parent(self, as_user, org_admin, organization):
        value = CoreValueFactory(organization=organization)
        payload = {"text": "T", "description": "D", "parent_core_value_id": value.pk}
        response = as_user(org_admin).put(f"/core_values/{value.pk}", payload, format="json")
        assert response.status_code == 400
        assert error(response)["fields"] == {"parent_core_value_id": "A core value cannot be its own parent"}

    def test_parent_of_another_organisation_is_refused(self, as_user, org_admin, organization, other_organization):
        value = CoreValueFactory(organization=organization)
        foreign = CoreValueFactory(organization=other_organization)
        payload = {"text": "T", "description": "D", "parent_core_value_id": foreign.pk}
        response = as_user(org_admin).put(f"/core_values/{value.pk}", payload, format="json")
        assert response.status_code == 400
        assert error(response)["code"] == "unknown_reference"
        assert set(error(response)["fields"]) == {"parent_core_value_id"}

    def test_duplicate_text_is_409(self, as_user, org_admin, organization):
        CoreValueFactory(organization=organization, text="Taken")
        value = CoreValueFactory(organization=organization)
        response = as_user(org_admin).put(
            f"/core_values/{value.pk}", {"text": "taken", "description": "D"}, format="json"
        )
        assert response.status_code == 409
        assert error(response)["code"] == "core_value_exists"

    def test_requires_text_and_description(self, as_user, org_admin, organization):
        value = CoreValueFactory(organization=organization)
        response = as_user(org_admin).put(f"/core_values/{value.pk}", {}, format="json")
        assert response.status_code == 400
        assert set(error(response)["fields"]) == {"text", "description"}

    def test_employee_is_403(self, as_user, employee, organization):
        value = CoreValueFactory(organization=organization)
        response = as_user(employee).put(f"/core_values/{value.pk}", {"text": "T", "description": "D"}, format="json")
        assert response.status_code == 403

    def test_another_organisations_value_is_404(self, as_user, org_admin, other_organization):
        value = CoreValueFactory(organization=other_organization)
        response = as_user(org_admin).put(f"/core_values/{value.pk}", {"text": "T", "description": "D"}, format="json")
        assert response.status_code == 404
        value.refresh_from_db()
        assert value.text != "T"


def test_delete_and_patch_are_not_offered(as_user, org_admin, organization):
    value = CoreValueFactory(organization=organization)
    assert as_user(org_admin).delete(f"/core_values/{value.pk}").status_code == 405
    assert as_user(org_admin).patch(f"/core_values/{value.pk}", {}, format="json").status_code == 405
