"""The feed's exact totals (counters kept by the database) and its one-query pages at any offset."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from accounts.tests.factories import UserFactory
from corevalues.tests.factories import CoreValueFactory
from recognitions.models import Hi5, Recognition, RecognitionCounter
from recognitions.selectors import recognition_feed
from recognitions.serializers import Hi5Serializer, RecognitionSerializer
from recognitions.services import recognition_create
from recognitions.tests.factories import NO_PASSWORD, Hi5Factory, RecognitionFactory
from recognitions.tests.test_concurrency import run_together

pytestmark = pytest.mark.django_db


def counters() -> dict[tuple[int, int], int]:
    """Non-zero counters, (organization, core value) -> visible recognitions."""
    return {
        (row.organization_id, row.core_value_id): row.visible for row in RecognitionCounter.objects.exclude(visible=0)
    }


def true_counts() -> dict[tuple[int, int], int]:
    rows = Recognition.objects.filter(is_hidden=False).values("organization", "core_value").annotate(n=Count("*"))
    return {(row["organization"], row["core_value"]): row["n"] for row in rows}


@pytest.fixture
def people(organization):
    return UserFactory.create_batch(3, organization=organization, password=NO_PASSWORD, hi5_quota_balance=100)


@pytest.fixture
def values(organization):
    return CoreValueFactory.create_batch(2, organization=organization)


class TestCounters:
    def test_follow_creates_hides_unhides_moves_and_deletes(self, organization, other_organization, people, values):
        # given: recognitions in two organisations and two core values, through the service and directly
        for n in range(4):
            recognition_create(
                actor=people[n % 3], given_for=people[(n + 1) % 3].pk, core_value_id=values[n % 2].pk, text="t"
            )
        RecognitionFactory.create_batch(3, organization=organization, core_value=values[0])
        RecognitionFactory.create_batch(2, organization=other_organization)
        RecognitionFactory(organization=organization, core_value=values[1], hidden=True)
        assert counters() == true_counts()
        # when: a moderator hides one (save), a bulk update hides two more, the first is unhidden, one changes
        # core value, one is deleted
        hidden = Recognition.objects.filter(organization=organization, is_hidden=False).order_by("id").first()
        hidden.is_hidden = True
        hidden.save()
        two = list(Recognition.objects.filter(is_hidden=False).order_by("id").values_list("pk", flat=True)[:2])
        Recognition.objects.filter(pk__in=two).update(is_hidden=True)
        Recognition.objects.filter(pk=hidden.pk).update(is_hidden=False)
        moved = (
            Recognition.objects.filter(organization=organization, core_value=values[0], is_hidden=False)
            .order_by("id")
            .first()
        )
        Recognition.objects.filter(pk=moved.pk).update(core_value=values[1])
        Recognition.objects.filter(organization=other_organization).order_by("id").first().delete()
        # then
        assert counters() == true_counts()

    def test_a_hide_that_changes_nothing_writes_nothing(self, organization, values):
        RecognitionFactory(organization=organization, core_value=values[0])
        Recognition.objects.update(text="edited")
        assert counters() == {(organization.pk, values[0].pk): 1}

    def test_deleting_recognitions_with_their_hi5s(self, organization, values):
        made = RecognitionFactory.create_batch(3, organization=organization, core_value=values[0])
        Hi5Factory(recognition=made[0])
        Recognition.objects.filter(pk__in=[made[0].pk, made[1].pk]).delete()
        assert counters() == {(organization.pk, values[0].pk): 1}
        assert not Hi5.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_counter_exact_under_concurrent_creates_and_hides(organization, values):
    # given: 20 givers with a balance, 10 visible recognitions to hide
    givers = UserFactory.create_batch(20, organization=organization, password=NO_PASSWORD, hi5_quota_balance=5)
    receiver = UserFactory(organization=organization, password=NO_PASSWORD)
    to_hide = RecognitionFactory.create_batch(10, organization=organization, core_value=values[0], given_for=receiver)

    # when: 20 threads each create a recognition (on two core values) and half of them hide one
    def work(index: int):
        recognition_create(
            actor=givers[index], given_for=receiver.pk, core_value_id=values[index % 2].pk, text=f"thanks {index}"
        )
        if index % 2 == 0:
            Recognition.objects.filter(pk=to_hide[index // 2].pk).update(is_hidden=True)

    results = run_together(work)

    # then: no error, and the counters are the true counts
    assert [result for result in results if isinstance(result, Exception)] == []
    assert counters() == true_counts()
    assert sum(counters().values()) == 20


class TestFeedTotal:
    def test_meta_total_is_the_true_count_after_mixed_operations(
        self, as_user, organization, other_organization, people, values
    ):
        # given: creates through the API, hides, a deletion, and another organisation's recognitions
        client = as_user(people[0])
        for n in range(5):
            payload = {"given_for": people[1 + n % 2].pk, "core_value_id": values[n % 2].pk, "text": "t"}
            assert client.post("/recognitions", payload, format="json").status_code == 201
        RecognitionFactory.create_batch(3, organization=organization, core_value=values[1])
        RecognitionFactory.create_batch(4, organization=other_organization)
        Recognition.objects.filter(
            pk__in=Recognition.objects.filter(organization=organization).values("pk")[:2]
        ).update(is_hidden=True)
        Recognition.objects.filter(organization=organization, is_hidden=False).order_by("id").first().delete()
        visible = Recognition.objects.filter(organization=organization, is_hidden=False)
        # when / then: unfiltered (counters), by core value (counters), by receiver and giver (counted)
        queries = {
            "": visible,
            f"?core_value_id={values[1].pk}": visible.filter(core_value=values[1]),
            f"?core_value_id={values[0].pk},{values[1].pk}": visible,
            f"?given_for={people[1].pk}": visible.filter(given_for=people[1]),
            f"?given_by={people[0].pk}&core_value_id={values[0].pk}": visible.filter(
                given_by=people[0], core_value=values[0]
            ),
        }
        for query, expected in queries.items():
            response = client.get(f"/recognitions{query}")
            assert response.status_code == 200
            assert response.json()["meta"]["total"] == expected.count(), query
            assert [item["id"] for item in response.json()["data"]] == list(
                expected.order_by("-given_at", "-id").values_list("id", flat=True)[:10]
            ), query

    def test_super_admin_total_counts_every_organisation(self, as_user, super_admin, organization, other_organization):
        RecognitionFactory.create_batch(2, organization=organization)
        RecognitionFactory.create_batch(3, organization=other_organization)
        response = as_user(super_admin).get("/recognitions")
        assert response.json()["meta"] == {"total": 5, "limit": 10, "offset": 0, "next": None}

    def test_an_organisation_without_recognitions_has_total_zero(self, as_user, employee):
        response = as_user(employee).get("/recognitions")
        assert response.json() == {"data": [], "meta": {"total": 0, "limit": 10, "offset": 0, "next": None}}


@pytest.fixture
def recognitions(organization, other_organization, people, values):
    made = [
        RecognitionFactory(
            organization=organization,
            given_by=people[n % 3],
            given_for=people[(n + 1) % 3],
            core_value=values[n % 2],
        )
        for n in range(25)
    ]
    for recognition in made[::3]:
        Hi5Factory(recognition=recognition, given_by=people[(made.index(recognition) + 2) % 3])
    # Equal timestamps: the id breaks the tie.
    Recognition.objects.filter(pk__in=[made[3].pk, made[4].pk]).update(given_at=made[5].given_at)
    # Neither a hidden recognition nor another organisation's is in the feed, from either end.
    RecognitionFactory(organization=organization, given_by=people[0], given_for=people[1], hidden=True)
    RecognitionFactory.create_batch(3, organization=other_organization)
    return made


class TestPages:
    @pytest.fixture
    def expected(self, organization):
        def expected(**filters) -> list[tuple[int, int]]:
            """The feed the slow way: (id, hi5_count) of the organisation's visible recognitions, newest first."""
            return list(
                Recognition.objects.filter(organization=organization, is_hidden=False, **filters)
                .annotate(n=Count("hi5s"))
                .order_by("-given_at", "-id")
                .values_list("id", "n")
            )

        return expected

    @pytest.mark.parametrize(
        ("limit", "offset"),
        # The first page, pages before and past the middle (read from the oldest end), the partial last
        # page, the page just past the end and one far beyond it.
        [
            *[(10, 0), (10, 10), (10, 20), (7, 3), (100, 0), (3, 11), (3, 13), (4, 21), (10, 15), (1, 24), (5, 24)],
            *[(5, 25), (10, 30), (1, 10_000_000)],
        ],
    )
    def test_every_page_is_the_slice_of_the_ordered_feed(self, as_user, people, recognitions, expected, limit, offset):
        expected = expected()
        response = as_user(people[0]).get(f"/recognitions?limit={limit}&offset={offset}")
        assert response.status_code == 200
        body = response.json()
        assert [(item["id"], item["hi5_count"]) for item in body["data"]] == expected[offset : offset + limit]
        cursor = body["meta"].pop("next")
        assert body["meta"] == {"total": 25, "limit": limit, "offset": offset}
        # `next` leads on to the page after this one; none after the last page.
        if offset + limit >= 25:
            assert cursor is None
        else:
            after = as_user(people[0]).get(f"/recognitions?limit={limit}&before={cursor}").json()
            assert [item["id"] for item in after["data"]] == [row[0] for row in expected[offset + limit :][:limit]]

    @pytest.mark.parametrize("filters", ["given_by", "given_for", "core_value_id"])
    def test_pages_past_the_middle_with_a_filter(self, as_user, people, recognitions, expected, values, filters):
        value = values[0].pk if filters == "core_value_id" else people[0].pk
        lookup = {"given_by": "given_by", "given_for": "given_for", "core_value_id": "core_value"}[filters]
        expected = [row[0] for row in expected(**{lookup: value})]
        assert len(expected) >= 5
        client = as_user(people[1])
        for offset in range(len(expected) + 1):
            response = client.get(f"/recognitions?{filters}={value}&limit=3&offset={offset}").json()
            assert [item["id"] for item in response["data"]] == expected[offset : offset + 3], offset
            assert response["meta"]["total"] == len(expected)

    @pytest.mark.parametrize("limit", [1, 4, 25, 100])
    @pytest.mark.parametrize("filters", ["", "given_by={giver}", "given_for={giver}&core_value_id={value}"])
    def test_following_next_walks_the_whole_feed_once(
        self, as_user, people, values, recognitions, expected, limit, filters
    ):
        # given: a filter (or none) and the feed it selects, read the slow way
        query = filters.format(giver=people[0].pk, value=values[0].pk)
        lookups = {"given_by": "given_by", "given_for": "given_for", "core_value_id": "core_value"}
        selected = {lookups[k]: int(v) for k, v in (part.split("=") for part in query.split("&") if part)}
        expected = [row[0] for row in expected(**selected)]
        client = as_user(people[2])
        # when: a client scrolls from the first page on, each time with `before` = the last page's `next`
        seen, pages = [], 0
        body = client.get(f"/recognitions?{query}&limit={limit}").json()
        while True:
            pages += 1
            seen += [item["id"] for item in body["data"]]
            if body["meta"]["next"] is None:
                break
            assert len(body["data"]) == limit
            body = client.get(f"/recognitions?{query}&limit={limit}&before={body['meta']['next']}").json()
            assert body["meta"]["offset"] is None
            assert body["meta"]["total"] == len(expected)
        # then: every recognition once, in the feed's order, and no empty page at the end
        assert seen == expected
        assert pages == max(1, -(-len(expected) // limit))

    def test_a_cursor_page_sees_recognitions_given_since(self, as_user, people, organization, recognitions, expected):
        # given: the first page and its cursor
        client = as_user(people[0])
        first = client.get("/recognitions?limit=5").json()
        # when: a newer recognition is given and an older one hidden before the next page is read
        RecognitionFactory(organization=organization, given_by=people[1], given_for=people[2])
        older = expected()[7][0]
        Recognition.objects.filter(pk=older).update(is_hidden=True)
        second = client.get(f"/recognitions?limit=5&before={first['meta']['next']}").json()
        # then: the next page starts right after the last item seen (no repeat, no gap), without the hidden one
        ids = [row[0] for row in expected()]
        last_seen = first["data"][-1]["id"]
        assert [item["id"] for item in second["data"]] == ids[ids.index(last_seen) + 1 :][:5]
        assert older not in [item["id"] for item in second["data"]]

    @pytest.mark.parametrize("page_size", [1, 100])
    def test_a_deep_page_is_one_query(self, as_user, people, recognitions, page_size, django_assert_max_num_queries):
        client = as_user(people[0])
        with django_assert_max_num_queries(3):
            response = client.get(f"/recognitions?limit={page_size}&offset=20")
        assert len(response.json()["data"]) == min(page_size, 5)

    @pytest.mark.parametrize("page_size", [1, 10])
    def test_a_cursor_page_is_one_query_too(self, as_user, people, recognitions, page_size, django_assert_num_queries):
        client = as_user(people[0])
        cursor = client.get("/recognitions?limit=15").json()["meta"]["next"]
        with django_assert_num_queries(3) as captured:  # token check, total, page: as an offset page
            response = client.get(f"/recognitions?limit={page_size}&before={cursor}")
        assert len(response.json()["data"]) == page_size
        page_sql = captured.captured_queries[-1]["sql"]
        assert "OFFSET" not in page_sql
        assert re.search(r'\(\w+\."given_at", \w+\."id"\) < \(', page_sql), page_sql


class TestPlans:
    """What PostgreSQL does with a page's query, whatever the table's size (forced off the sequential scans
    that tiny tables favour, to learn whether the index can serve the query)."""

    @staticmethod
    def plan(queryset) -> str:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    def test_a_cursor_page_seeks_in_the_index(self, people, recognitions):
        feed = recognition_feed(actor=people[0])
        position = (recognitions[10].given_at, recognitions[10].pk)
        plan = self.plan(feed.page_queryset(offset=0, limit=10, after=position))
        # The page's ids: a scan of the partial index that starts at the cursor's position (an Index Cond
        # on the row comparison, no Filter), neither skipping nor sorting what comes before it.
        page_ids = plan.split("Limit")[1]
        scan = re.search(r"Index (?:Only )?Scan using recognition_feed.*", page_ids, re.DOTALL)
        assert scan, plan
        node = scan.group(0).split("->")[0]
        assert "Index Cond: ((organization_id = " in node
        assert "(ROW(given_at, id) < ROW(" in node
        assert "Filter" not in node
        assert "Sort" not in page_ids[: scan.start()]

    def test_a_page_past_the_middle_walks_the_index_backwards(self, people, recognitions):
        feed = recognition_feed(actor=people[0])
        plan = self.plan(feed.page_queryset(offset=0, limit=10, oldest_first=True))
        page_ids = plan.split("Limit")[1]
        scan = re.search(r"Index (?:Only )?Scan Backward using recognition_feed", page_ids)
        assert scan, plan
        assert "Sort" not in page_ids[: scan.start()]


class TestRendering:
    def test_hand_rendering_equals_drf_generic_rendering(self, organization, people, values):
        # given: a recognition with a thumbnail, a profile image, Hi5s and a non-UTC-looking timestamp
        values[0].thumbnail_url = "https://cdn.example.com/v.png"
        values[0].save()
        people[1].profile_image_url = "https://cdn.example.com/p.png"
        people[1].save()
        recognition = RecognitionFactory(
            organization=organization, given_by=people[0], given_for=people[1], core_value=values[0]
        )
        Hi5Factory(recognition=recognition, given_by=people[2])
        feed = recognition_feed(actor=people[0])
        row = feed.page(offset=0, limit=1, total=1)[0]
        instance = feed.page_queryset(offset=0, limit=1).get()
        serializer = RecognitionSerializer()
        # when
        generic = super(RecognitionSerializer, serializer).to_representation(instance)
        # then: from a feed row and from a model instance, exactly DRF's own output
        assert serializer.to_representation(row) == dict(generic)
        assert serializer.to_representation(instance) == dict(generic)
        assert generic["hi5_count"] == 1

    def test_a_hi5_renders_as_drfs_generic_serializer_would(self, organization, people):
        # given: a Hi5 from someone with a profile image, with a comment
        people[2].profile_image_url = "https://cdn.example.com/p.png"
        people[2].save()
        recognition = RecognitionFactory(organization=organization, given_by=people[0], given_for=people[1])
        hi5 = Hi5Factory(recognition=recognition, given_by=people[2], comment="Bravo é \u2028")
        hi5 = Hi5.objects.select_related("given_by").get(pk=hi5.pk)
        serializer = Hi5Serializer()
        # then
        assert serializer.to_representation(hi5) == dict(super(Hi5Serializer, serializer).to_representation(hi5))


def test_counter_triggers_exist_only_on_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'recognitions_recognition'::regclass AND NOT tgisinternal "
            "AND tgname LIKE 'recognitions_counter%'"
        )
        assert {row[0] for row in cursor.fetchall()} == {
            "recognitions_counter_on_insert",
            "recognitions_counter_on_update",
            "recognitions_counter_on_delete",
        }


def test_recount_command_repairs_counters(organization, values):
    # given: counters damaged (as after a bulk load with the triggers disabled)
    RecognitionFactory.create_batch(3, organization=organization, core_value=values[0])
    RecognitionFactory(organization=organization, core_value=values[1], hidden=True)
    RecognitionCounter.objects.update(visible=99)
    RecognitionCounter.objects.create(organization=organization, core_value=values[1], visible=7)
    out = io.StringIO()
    # when
    call_command("recount_recognitions", stdout=out)
    # then
    assert counters() == true_counts() == {(organization.pk, values[0].pk): 3}
    assert out.getvalue() == "1 counters recounted\n"
