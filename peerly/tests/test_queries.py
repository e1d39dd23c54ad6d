"""QueryShape: the SQL written once per shape is, for every value, the SQL the ORM writes for that value."""

from datetime import UTC, datetime

import pytest
from django.db.models import Q

from accounts.models import User
from accounts.tests.factories import UserFactory
from peerly.queries import QueryShape, first_rows, instance_from_row
from recognitions.models import Recognition
from recognitions.selectors import (
    _FEED_COUNT,
    _FEED_PAGE,
    _FEED_TOTAL,
    FEED_ROW_FIELDS,
    RecognitionFeed,
    _feed_counters,
)
from recognitions.tests.factories import Hi5Factory, RecognitionFactory

pytestmark = pytest.mark.django_db

FEEDS = [
    {"organization_id": 7, "given_by": [], "given_for": [], "core_value_ids": []},
    {"organization_id": 12345678901, "given_by": [], "given_for": [], "core_value_ids": []},
    {"organization_id": None, "given_by": [], "given_for": [], "core_value_ids": []},  # a super admin's
    {"organization_id": 7, "given_by": [3], "given_for": [], "core_value_ids": [1, 2]},
    {"organization_id": 7, "given_by": [4], "given_for": [5, 6, 7], "core_value_ids": []},
    {"organization_id": 8, "given_by": [9], "given_for": [10, 11, 12], "core_value_ids": []},  # same shape
]
PAGES = [(0, 10), (10, 10), (10_000, 1), (0, 100), (25, None)]


def orm(queryset, wrap: str = "{query}") -> tuple[str, list]:
    sql, params = queryset.query.sql_with_params()
    return wrap.replace("{query}", sql), list(params)


@pytest.mark.parametrize("filters", FEEDS)
@pytest.mark.parametrize(("offset", "limit"), PAGES)
@pytest.mark.parametrize("oldest_first", [False, True])
def test_the_feed_page_is_the_orms_sql(filters, offset, limit, oldest_first):
    feed = RecognitionFeed(**filters)
    expected = orm(feed.page_queryset(offset=offset, limit=limit, oldest_first=oldest_first).values(*FEED_ROW_FIELDS))
    assert _FEED_PAGE.sql(**filters, offset=offset, limit=limit, oldest_first=oldest_first) == expected


@pytest.mark.parametrize("filters", FEEDS)
@pytest.mark.parametrize("limit", [1, 11, 101])
@pytest.mark.parametrize(
    "after",
    [
        (datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC), 42),
        (datetime(2021, 1, 1, tzinfo=UTC), 9_000_000_000),
    ],
)
def test_the_feed_page_after_a_cursor_is_the_orms_sql(filters, limit, after):
    feed = RecognitionFeed(**filters)
    expected = orm(feed.page_queryset(offset=0, limit=limit, after=after).values(*FEED_ROW_FIELDS))
    arguments = {**filters, "offset": 0, "limit": limit, "oldest_first": False}
    assert _FEED_PAGE.sql(**arguments, after_at=after[0], after_id=after[1]) == expected


def test_a_naive_datetime_is_refused():
    shape = QueryShape(lambda *, at: Recognition.objects.filter(given_at__lt=at).values("pk"))
    with pytest.raises(ValueError, match="aware"):
        shape.sql(at=datetime(2026, 1, 1))


@pytest.mark.parametrize("filters", FEEDS)
def test_the_feed_total_is_the_orms_sql(filters):
    counted = RecognitionFeed(**filters)
    if counted.counters_apply:
        counters = {key: filters[key] for key in ("organization_id", "core_value_ids")}
        assert _FEED_TOTAL.sql(**counters) == orm(_feed_counters(**counters), _FEED_TOTAL.wrap)
    else:
        assert _FEED_COUNT.sql(**filters) == orm(counted.visible.order_by().values("pk"), _FEED_COUNT.wrap)


def test_rows_are_what_values_gives(organization, employee):
    # given: recognitions with Hi5s, the feed of a member
    recognitions = RecognitionFactory.create_batch(3, organization=organization)
    Hi5Factory.create_batch(2, recognition=recognitions[1])
    feed = RecognitionFeed(organization_id=organization.pk)
    # then: the same rows as the ORM's .values(), page after page (from either end), and the exact total
    for offset, limit in ((0, 2), (2, 2), (1, 1), (0, 100)):
        assert feed.page(offset=offset, limit=limit, total=3) == list(
            feed.page_queryset(offset=offset, limit=limit).values(*FEED_ROW_FIELDS)
        )
    assert feed.count() == 3
    assert RecognitionFeed(organization_id=organization.pk, given_by=(recognitions[0].given_by_id,)).count() == 1


def test_strings_repeated_arguments_and_constants(organization):
    # given: a shape using a string twice, an int, a constant (soft_delete_at IS NULL has none; role 3 is one)
    alice = UserFactory(organization=organization, first_name="Alice", email="alice@x.example")
    UserFactory(organization=organization, first_name="Bob", email="bob@x.example")

    def build(*, email: str, organization_id: int):
        return (
            User.objects.filter(Q(email=email) | Q(first_name=email), organization_id=organization_id, role_id=3)
            .order_by("id")
            .values("id", "first_name")
        )

    shape = QueryShape(build)
    for email in ("bob@x.example", "alice@x.example"):
        arguments = {"email": email, "organization_id": organization.pk}
        # then: the ORM's SQL and parameters for each value, and its rows
        assert shape.sql(**arguments) == orm(build(**arguments))
        assert shape.rows(**arguments) == list(build(**arguments))
    assert shape.rows(email="alice@x.example", organization_id=organization.pk) == [
        {"id": alice.pk, "first_name": "Alice"}
    ]
    assert len(shape._compiled) == 1  # one shape, compiled once


def test_an_instance_from_a_row_defers_what_the_row_lacks(organization):
    user = UserFactory(organization=organization, first_name="Ada")
    row = User.objects.filter(pk=user.pk).values("first_name", "id").get()  # not in the model's order
    instance = instance_from_row(User, row)
    assert (instance.pk, instance.first_name) == (user.pk, "Ada")
    assert "email" in instance.get_deferred_fields()
    assert instance.email == user.email  # read from the database when used, never a default


def test_first_rows_reads_one_row_queries_side_by_side_in_one_round_trip(organization, django_assert_num_queries):
    ada = UserFactory(organization=organization, first_name="Ada")
    by_id = QueryShape(lambda *, pk: User.objects.filter(pk=pk).values("id", "first_name", "last_login"))
    with django_assert_num_queries(1):
        found = first_rows((by_id, {"pk": ada.pk}), (by_id, {"pk": ada.pk + 1000}), (by_id, {"pk": ada.pk}))
    assert found == [{"id": ada.pk, "first_name": "Ada", "last_login": None}, None, found[0]]
    with django_assert_num_queries(1):
        assert first_rows((by_id, {"pk": -1}), (by_id, {"pk": -2})) == [None, None]


def test_the_shapes_kept_are_bounded(organization, monkeypatch):
    monkeypatch.setattr("peerly.queries.MAX_SHAPES", 3)
    shape = QueryShape(lambda *, ids: User.objects.filter(pk__in=ids).values("id"))
    for length in range(1, 8):  # seven shapes: one list length each
        assert shape.rows(ids=list(range(1, length + 1))) == []
    assert len(shape._compiled) == 3
    assert shape.sql(ids=[5]) == orm(User.objects.filter(pk__in=[5]).values("id"))  # compiled again when needed
