from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from recognitions.models import Hi5, Recognition
from recognitions.tests.factories import NO_PASSWORD, Hi5Factory, RecognitionFactory

pytestmark = pytest.mark.django_db


def deferrals(queries) -> int:
    """How many of the captured statements deferred a job (procrastinate's one INSERT function)."""
    return sum("procrastinate_defer_jobs" in query["sql"] for query in queries.captured_queries)


def error(response) -> dict:
    return response.json()["error"]


def summary(user: User) -> dict:
    return {
        "id": user.pk,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name,
        "profile_image_url": user.profile_image_url,
    }


def item(recognition: Recognition, *, hi5_count: int = 0) -> dict:
    value = recognition.core_value
    return {
        "id": recognition.pk,
        "text": recognition.text,
        "given_at": recognition.given_at.isoformat().replace("+00:00", "Z"),
        "given_by": recognition.given_by_id,
        "given_for": recognition.given_for_id,
        "core_value_id": value.pk,
        "core_value": {"id": value.pk, "text": value.text, "description": value.description, "thumbnail": ""},
        "giver": summary(recognition.given_by),
        "receiver": summary(recognition.given_for),
        "hi5_count": hi5_count,
        "is_hidden": recognition.is_hidden,
    }


def balance(user: User) -> int:
    return User.objects.values_list("hi5_quota_balance", flat=True).get(pk=user.pk)


@pytest.fixture
def colleague(organization):
    return UserFactory(organization=organization)


@pytest.fixture
def core_value(organization):
    return CoreValueFactory(organization=organization)


class TestCreate:
    def test_creates_and_spends_one_hi5(self, as_user, employee, colleague, core_value):
        payload = {"given_for": colleague.pk, "core_value_id": core_value.pk, "text": "Thanks for the help!"}
        response = as_user(employee).post("/recognitions", payload, format="json")
        assert response.status_code == 201
        recognition = Recognition.objects.get()
        assert response.json() == {"data": item(recognition)}
        assert (recognition.organization, recognition.given_by, recognition.given_for, recognition.core_value) == (
            employee.organization,
            employee,
            colleague,
            core_value,
        )
        assert balance(employee) == 4
        assert balance(colleague) == 5

    def test_a_child_core_value_is_fine(self, as_user, employee, colleague, core_value):
        child = CoreValueFactory(organization=core_value.organization, parent=core_value)
        payload = {"given_for": colleague.pk, "core_value_id": child.pk, "text": "t"}
        assert as_user(employee).post("/recognitions", payload, format="json").status_code == 201

    def test_validation_fields(self, as_user, employee):
        response = as_user(employee).post("/recognitions", {"given_for": "x", "text": ""}, format="json")
        assert response.status_code == 400
        assert error(response)["code"] == "invalid_data"
        assert set(error(response)["fields"]) == {"given_for", "core_value_id", "text"}

    def test_text_is_bounded(self, as_user, employee, colleague, core_value):
        payload = {"given_for": colleague.pk, "core_value_id": core_value.pk, "text": "x" * 1001}
        response = as_user(employee).post("/recognitions", payload, format="json")
        assert response.status_code == 400
        assert error(response)["fields"] == {"text": "Ensure this field has no more than 1000 characters."}
        assert balance(employee) == 5

    def test_huge_ids_are_invalid_data_not_a_database_error(self, as_user, employee):
        payload = {"given_for": 10**20, "core_value_id": 10**20, "text": "t"}
        response = as_user(employee).post("/recognitions", payload, format="json")
        assert response.status_code == 400
        assert set(error(response)["fields"]) == {"given_for", "core_value_id"}

    def test_self_recognition_is_422(self, as_user, employee, core_value):
        payload = {"given_for": employee.pk, "core_value_id": core_value.pk, "text": "Me!"}
        response = as_user(employee).post("/recognitions", payload, format="json")
        assert response.status_code == 422
        assert error(response) == {"code": "self_recognition", "message": "You cannot recognise yourself"}
        assert (Recognition.objects.count(), balance(employee)) == (0, 5)

    def test_deleted_receiver_is_422(self, as_user, employee, organization, core_value):
        gone = UserFactory(organization=organization, deleted=True)
        payload = {"given_for": gone.pk, "core_value_id": core_value.pk, "text": "t"}
        response = as_user(employee).post("/recognitions", payload, format="json")
        assert response.status_code == 422
        assert error(response)["code"] == "receiver_inactive"
        assert (Recognition.objects.count(), balance(employee)) == (0, 5)

    def test_receiver_of_another_organisation_reads_as_unknown(self, as_user, employee, outsider, core_value):
        for given_for in (outsider.pk, 987654):
            payload = {"given_for": given_for, "core_value_id": core_value.pk, "text": "t"}
            response = as_user(employee).post("/recognitions", payload, format="json")
            assert response.status_code == 400
            assert error(response)["code"] == "unknown_reference"
            assert set(error(response)["fields"]) == {"given_for"}
        assert (Recognition.objects.count(), balance(employee)) == (0, 5)

    def test_core_value_of_another_organisation_is_never_accepted(self, as_user, employee, colleague, outsider):
        foreign = CoreValueFactory(organization=outsider.organization)
        payload = {"given_for": colleague.pk, "core_value_id": foreign.pk, "text": "t"}
        response = as_user(employee).post("/recognitions", payload, format="json")
        assert response.status_code == 400
        assert error(response)["code"] == "unknown_reference"
        assert set(error(response)["fields"]) == {"core_value_id"}
        assert (Recognition.objects.count(), balance(employee)) == (0, 5)

    def test_super_admin_without_organisation_cannot_recognise(self, as_user, super_admin, colleague, core_value):
        payload = {"given_for": colleague.pk, "core_value_id": core_value.pk, "text": "t"}
        response = as_user(super_admin).post("/recognitions", payload, format="json")
        assert response.status_code == 403
        assert error(response)["code"] == "access_denied"

    def test_balance_zero_is_400_and_writes_nothing(self, as_user, employee, colleague, core_value):
        User.objects.filter(pk=employee.pk).update(hi5_quota_balance=0)
        payload = {"given_for": colleague.pk, "core_value_id": core_value.pk, "text": "t"}
        response = as_user(employee).post("/recognitions", payload, format="json")
        assert response.status_code == 400
        assert error(response) == {
            "code": "insufficient_hi5_balance",
            "message": "Hi5 quota balance is insufficient for this action",
        }
        assert (Recognition.objects.count(), balance(employee)) == (0, 0)

    def test_requires_token(self, api_client):
        assert api_client.post("/recognitions", {}, format="json").status_code == 401

    def test_write_path_stays_within_seven_queries_one_of_them_the_event(
        self, as_user, employee, colleague, core_value, django_assert_max_num_queries
    ):
        client = as_user(employee)
        payload = {"given_for": colleague.pk, "core_value_id": core_value.pk, "text": "t"}
        with django_assert_max_num_queries(7) as queries:
            assert client.post("/recognitions", payload, format="json").status_code == 201
        assert deferrals(queries) == 1  # the announcement (peerly/events.py) costs one statement


class TestFeed:
    def test_item_shape_and_envelope(self, as_user, employee, organization):
        recognition = RecognitionFactory(organization=organization)
        recognition.core_value.thumbnail_url = "https://cdn.example/v.png"
        recognition.core_value.save()
        Hi5Factory.create_batch(2, recognition=recognition)
        response = as_user(employee).get("/recognitions")
        assert response.status_code == 200
        expected = item(recognition, hi5_count=2)
        expected["core_value"]["thumbnail"] = "https://cdn.example/v.png"
        assert response.json() == {"data": [expected], "meta": {"total": 1, "limit": 10, "offset": 0, "next": None}}

    def test_newest_first_with_id_breaking_ties(self, as_user, employee, organization):
        now = timezone.now()
        old = RecognitionFactory(organization=organization, given_at=now - timedelta(days=1))
        tie_a = RecognitionFactory(organization=organization, given_at=now)
        tie_b = RecognitionFactory(organization=organization, given_at=now)
        ids = [entry["id"] for entry in as_user(employee).get("/recognitions").json()["data"]]
        assert ids == [tie_b.pk, tie_a.pk, old.pk]

    def test_limit_default_cap_and_offset(self, as_user, employee, organization):
        giver, receiver = UserFactory.create_batch(2, organization=organization)
        RecognitionFactory.create_batch(12, organization=organization, given_by=giver, given_for=receiver)
        client = as_user(employee)
        default = client.get("/recognitions").json()
        assert isinstance(default["meta"].pop("next"), str)
        assert (len(default["data"]), default["meta"]) == (10, {"total": 12, "limit": 10, "offset": 0})
        capped = client.get("/recognitions?limit=1000").json()
        assert (len(capped["data"]), capped["meta"]["limit"]) == (12, 100)
        page = client.get("/recognitions?limit=5&offset=10").json()
        assert (len(page["data"]), page["meta"]) == (2, {"total": 12, "limit": 5, "offset": 10, "next": None})
        assert page["data"] == capped["data"][10:12]

    def test_empty_feed_is_200(self, as_user, employee):
        assert as_user(employee).get("/recognitions").json() == {
            "data": [],
            "meta": {"total": 0, "limit": 10, "offset": 0, "next": None},
        }

    def test_hidden_recognitions_are_neither_listed_nor_counted(self, as_user, moderator, organization):
        shown = RecognitionFactory(organization=organization)
        RecognitionFactory(organization=organization, hidden=True)
        body = as_user(moderator).get("/recognitions").json()
        assert ([entry["id"] for entry in body["data"]], body["meta"]["total"]) == ([shown.pk], 1)

    def test_other_organisations_are_invisible(self, as_user, employee, outsider):
        RecognitionFactory(organization=outsider.organization)
        assert as_user(employee).get("/recognitions").json()["meta"]["total"] == 0

    def test_filters_single_and_lists(self, as_user, employee, organization):
        alice, bob, carol = UserFactory.create_batch(3, organization=organization)
        teamwork, ownership = CoreValueFactory.create_batch(2, organization=organization)
        a_to_b = RecognitionFactory(organization=organization, given_by=alice, given_for=bob, core_value=teamwork)
        b_to_c = RecognitionFactory(organization=organization, given_by=bob, given_for=carol, core_value=ownership)
        c_to_a = RecognitionFactory(organization=organization, given_by=carol, given_for=alice, core_value=teamwork)
        client = as_user(employee)

        def ids(query: str) -> set[int]:
            response = client.get(f"/recognitions?{query}")
            assert response.status_code == 200
            return {entry["id"] for entry in response.json()["data"]}

        assert ids(f"given_by={alice.pk}") == {a_to_b.pk}
        assert ids(f"given_for={alice.pk}") == {c_to_a.pk}
        assert ids(f"core_value_id={teamwork.pk}") == {a_to_b.pk, c_to_a.pk}
        assert ids(f"given_by={alice.pk},{bob.pk}") == {a_to_b.pk, b_to_c.pk}
        assert ids(f"given_for={bob.pk}, {carol.pk}&core_value_id={ownership.pk}") == {b_to_c.pk}
        assert ids(f"given_by={alice.pk}&given_for={carol.pk}") == set()

    @pytest.mark.parametrize(
        "query",
        ["given_by=abc", "given_for=1,,2", "core_value_id=1;2", "given_by=-1", "given_by=,", "given_for=1" + "0" * 18],
    )
    def test_invalid_filters_are_invalid_data(self, as_user, employee, query):
        response = as_user(employee).get(f"/recognitions?{query}")
        assert response.status_code == 400
        assert error(response)["code"] == "invalid_data"
        assert set(error(response)["fields"]) == {query.split("=")[0]}

    @pytest.mark.parametrize("query", ["limit=0", "limit=x", "offset=-1"])
    def test_invalid_paging_is_invalid_data(self, as_user, employee, query):
        response = as_user(employee).get(f"/recognitions?{query}")
        assert response.status_code == 400
        assert set(error(response)["fields"]) == {query.split("=")[0]}

    def test_an_empty_filter_is_no_filter(self, as_user, employee, organization):
        RecognitionFactory(organization=organization)
        assert as_user(employee).get("/recognitions?given_by=&core_value_id=").json()["meta"]["total"] == 1

    def test_requires_token(self, api_client):
        assert api_client.get("/recognitions").status_code == 401

    @pytest.mark.parametrize("page_size", [1, 100])
    def test_constant_number_of_queries(
        self, as_user, employee, organization, page_size, django_assert_max_num_queries
    ):
        # given: 100 recognitions among several people and values, each with a Hi5
        people = UserFactory.create_batch(4, organization=organization)
        values = CoreValueFactory.create_batch(3, organization=organization)
        for n in range(100):
            recognition = RecognitionFactory(
                organization=organization,
                given_by=people[n % 4],
                given_for=people[(n + 1) % 4],
                core_value=values[n % 3],
            )
            Hi5Factory(recognition=recognition, given_by=people[(n + 2) % 4])
        client = as_user(employee)
        # when / then: token check + count + page, whatever the page size
        with django_assert_max_num_queries(3):
            response = client.get(f"/recognitions?limit={page_size}")
        assert len(response.json()["data"]) == page_size
        assert {entry["hi5_count"] for entry in response.json()["data"]} == {1}

    def test_feed_query_can_walk_the_partial_index(self, employee, organization):
        from recognitions.selectors import recognition_feed

        RecognitionFactory.create_batch(3, organization=organization)
        sql, params = recognition_feed(actor=employee).page_queryset(offset=10, limit=10).query.sql_with_params()
        with connection.cursor() as cursor:
            # Tiny tables favour a sequential scan; forbid it to learn whether the index can serve the query.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        # The page's ids are picked by walking the index in order (no sort of the skipped rows); only the page's
        # rows are then joined and counted.
        page_ids = plan.split("Limit")[1]
        assert "Scan using recognition_feed" in page_ids
        assert "Sort" not in page_ids.split("Scan using recognition_feed")[0]


class TestRetrieve:
    def test_member_reads_one(self, as_user, employee, organization):
        recognition = RecognitionFactory(organization=organization)
        Hi5Factory(recognition=recognition)
        response = as_user(employee).get(f"/recognitions/{recognition.pk}")
        assert response.status_code == 200
        assert response.json() == {"data": item(recognition, hi5_count=1)}

    def test_hidden_is_404_for_members(self, as_user, employee, organization):
        recognition = RecognitionFactory(organization=organization, hidden=True)
        response = as_user(employee).get(f"/recognitions/{recognition.pk}")
        assert response.status_code == 404
        assert error(response)["code"] == "not_found"

    @pytest.mark.parametrize("role", ["moderator", "org_admin"])
    def test_hidden_is_visible_to_moderators_and_admins(self, request, as_user, organization, role):
        recognition = RecognitionFactory(organization=organization, hidden=True)
        response = as_user(request.getfixturevalue(role)).get(f"/recognitions/{recognition.pk}")
        assert response.status_code == 200
        assert response.json() == {"data": item(recognition)}
        assert response.json()["data"]["is_hidden"] is True

    @pytest.mark.parametrize("role", ["employee", "moderator"])
    def test_another_organisations_is_404(self, request, as_user, outsider, role):
        recognition = RecognitionFactory(organization=outsider.organization)
        response = as_user(request.getfixturevalue(role)).get(f"/recognitions/{recognition.pk}")
        assert response.status_code == 404

    @pytest.mark.parametrize("suffix", ["0", "999999", "9999999999999999999999"])
    def test_unknown_ids_are_404(self, as_user, employee, suffix):
        assert as_user(employee).get(f"/recognitions/{suffix}").status_code == 404


class TestGiveHi5:
    @pytest.fixture
    def recognition(self, organization):
        return RecognitionFactory(organization=organization)

    def test_gives_and_spends_one(self, as_user, employee, recognition):
        response = as_user(employee).post(f"/recognitions/{recognition.pk}/hi5", {"comment": "Yes!"}, format="json")
        assert response.status_code == 201
        hi5 = Hi5.objects.get()
        assert response.json() == {
            "data": {
                "id": hi5.pk,
                "recognition_id": recognition.pk,
                "given_by": summary(employee),
                "comment": "Yes!",
                "given_at": hi5.given_at.isoformat().replace("+00:00", "Z"),
            }
        }
        assert balance(employee) == 4
        assert as_user(employee).get(f"/recognitions/{recognition.pk}").json()["data"]["hi5_count"] == 1

    def test_comment_is_optional_and_an_empty_body_is_fine(self, as_user, employee, recognition):
        response = as_user(employee).post(f"/recognitions/{recognition.pk}/hi5", format="json")
        assert response.status_code == 201
        assert response.json()["data"]["comment"] == ""

    def test_comment_is_bounded(self, as_user, employee, recognition):
        response = as_user(employee).post(f"/recognitions/{recognition.pk}/hi5", {"comment": "x" * 501}, format="json")
        assert response.status_code == 400
        assert set(error(response)["fields"]) == {"comment"}
        assert (Hi5.objects.count(), balance(employee)) == (0, 5)

    def test_second_hi5_is_409_and_spends_nothing(self, as_user, employee, recognition):
        client = as_user(employee)
        assert client.post(f"/recognitions/{recognition.pk}/hi5", format="json").status_code == 201
        response = client.post(f"/recognitions/{recognition.pk}/hi5", format="json")
        assert response.status_code == 409
        assert error(response) == {"code": "already_hi5", "message": "You already gave a Hi5 to this recognition"}
        assert (Hi5.objects.count(), balance(employee)) == (1, 4)

    @pytest.mark.parametrize("side", ["given_by", "given_for"])
    def test_own_recognition_is_422(self, as_user, recognition, side):
        user = getattr(recognition, side)
        response = as_user(user).post(f"/recognitions/{recognition.pk}/hi5", format="json")
        assert response.status_code == 422
        assert error(response)["code"] == "own_recognition"
        assert (Hi5.objects.count(), balance(user)) == (0, 5)

    def test_hidden_recognition_takes_no_hi5(self, as_user, moderator, employee, organization):
        recognition = RecognitionFactory(organization=organization, hidden=True)
        response = as_user(moderator).post(f"/recognitions/{recognition.pk}/hi5", format="json")
        assert response.status_code == 422
        assert error(response)["code"] == "recognition_hidden"
        # Members do not see hidden recognitions at all.
        assert as_user(employee).post(f"/recognitions/{recognition.pk}/hi5", format="json").status_code == 404
        assert (Hi5.objects.count(), balance(moderator), balance(employee)) == (0, 5, 5)

    def test_balance_zero_is_400_and_writes_nothing(self, as_user, employee, recognition):
        User.objects.filter(pk=employee.pk).update(hi5_quota_balance=0)
        response = as_user(employee).post(f"/recognitions/{recognition.pk}/hi5", format="json")
        assert response.status_code == 400
        assert error(response)["code"] == "insufficient_hi5_balance"
        assert (Hi5.objects.count(), balance(employee)) == (0, 0)

    def test_until_the_balance_runs_out(self, as_user, employee, organization):
        giver, receiver = UserFactory.create_batch(2, organization=organization)
        recognitions = RecognitionFactory.create_batch(6, organization=organization, given_by=giver, given_for=receiver)
        client = as_user(employee)
        statuses = [client.post(f"/recognitions/{r.pk}/hi5", format="json").status_code for r in recognitions]
        assert statuses == [201] * 5 + [400]
        assert balance(employee) == 0

    def test_another_organisations_recognition_is_404(self, as_user, employee, outsider):
        recognition = RecognitionFactory(organization=outsider.organization)
        response = as_user(employee).post(f"/recognitions/{recognition.pk}/hi5", format="json")
        assert response.status_code == 404
        assert (Hi5.objects.count(), balance(employee)) == (0, 5)

    def test_write_path_stays_within_seven_queries_one_of_them_the_event(
        self, as_user, employee, recognition, django_assert_max_num_queries
    ):
        client = as_user(employee)
        with django_assert_max_num_queries(7) as queries:
            assert client.post(f"/recognitions/{recognition.pk}/hi5", format="json").status_code == 201
        assert deferrals(queries) == 1


class TestListHi5:
    def test_who_gave_them_newest_first(self, as_user, employee, organization):
        recognition = RecognitionFactory(organization=organization)
        now = timezone.now()
        first = Hi5Factory(recognition=recognition, given_at=now - timedelta(hours=1), comment="nice")
        second = Hi5Factory(recognition=recognition, given_at=now)
        Hi5Factory()  # elsewhere
        response = as_user(employee).get(f"/recognitions/{recognition.pk}/hi5")
        assert response.status_code == 200
        assert response.json() == {
            "data": [
                {
                    "id": hi5.pk,
                    "recognition_id": recognition.pk,
                    "given_by": summary(hi5.given_by),
                    "comment": hi5.comment,
                    "given_at": hi5.given_at.isoformat().replace("+00:00", "Z"),
                }
                for hi5 in (second, first)
            ],
            "meta": {"total": 2, "limit": 10, "offset": 0, "next": None},
        }

    def test_hidden_or_foreign_recognition_is_404(self, as_user, employee, organization, outsider):
        hidden = RecognitionFactory(organization=organization, hidden=True)
        foreign = RecognitionFactory(organization=outsider.organization)
        for recognition in (hidden, foreign):
            assert as_user(employee).get(f"/recognitions/{recognition.pk}/hi5").status_code == 404

    @pytest.mark.parametrize("page_size", [1, 100])
    def test_constant_number_of_queries(
        self, as_user, employee, organization, page_size, django_assert_max_num_queries
    ):
        recognition = RecognitionFactory(organization=organization)
        for fan in UserFactory.create_batch(100, organization=organization, password=NO_PASSWORD):
            Hi5Factory(recognition=recognition, given_by=fan)
        client = as_user(employee)
        with django_assert_max_num_queries(4):
            response = client.get(f"/recognitions/{recognition.pk}/hi5?limit={page_size}")
        assert len(response.json()["data"]) == page_size


def test_put_and_delete_are_not_offered(as_user, org_admin, organization):
    recognition = RecognitionFactory(organization=organization)
    assert as_user(org_admin).delete(f"/recognitions/{recognition.pk}").status_code == 405
    assert as_user(org_admin).put(f"/recognitions/{recognition.pk}", {}, format="json").status_code == 405
