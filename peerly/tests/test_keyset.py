"""The keyset behind every list's cursor: orders it can page by, and the condition "after this position"."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F

from accounts.models import User
from accounts.tests.factories import UserFactory
from peerly.api.keyset import Keyset
from recognitions.models import Recognition

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(organization) -> list[User]:
    """Namesakes and near-namesakes: ties on the first keys, in both directions."""
    names = [("Ann", "Lee"), ("Ann", "Lee"), ("Ann", "Kim"), ("Bob", "Lee"), ("Ann", "Zed"), ("Bob", "Kim")]
    return [UserFactory(organization=organization, first_name=first, last_name=last) for first, last in names]


@pytest.mark.parametrize(
    "order",
    [
        ("first_name", "last_name", "id"),
        ("-first_name", "-last_name", "-id"),
        ("first_name", "-last_name", "id"),  # directions change: the runs are joined lexicographically
        ("-first_name", "last_name", "-id"),
        ("first_name", "-id"),
        ("-id",),
    ],
)
def test_after_each_position_come_exactly_the_items_that_follow_it(organization, people, order):
    members = User.objects.filter(organization=organization).order_by(*order)
    keyset = Keyset.of(members)
    ordered = list(members)
    for index, member in enumerate(ordered):
        position = keyset.position(keyset.cursor(member))
        assert list(members.filter(keyset.after(position))) == ordered[index + 1 :], (order, index)
    # read from its other end, the list comes reversed
    assert list(members.order_by(*keyset.reversed_order()))[::-1] == ordered


def test_a_cursor_reads_back_its_position(people):
    keyset = Keyset.of(Recognition.objects.order_by("-given_at", "-id"))
    row = {"given_at": people[0].created_at, "id": 7}
    assert keyset.position(keyset.cursor(row)) == (people[0].created_at, 7)


@pytest.mark.parametrize(
    ("queryset", "why"),
    [
        (User.objects.all(), "order_by()"),
        (User.objects.order_by(F("first_name").asc(), "id"), "order_by()"),
        (User.objects.order_by("first_name"), "unique"),
        (User.objects.order_by("soft_delete_at", "id"), "nullable"),
    ],
)
def test_an_order_that_cannot_be_paged_by_cursor_is_a_programming_error(queryset, why):
    with pytest.raises(ImproperlyConfigured, match=why):
        Keyset.of(queryset)
