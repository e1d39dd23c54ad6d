"""Reads on recognitions and Hi5s: scoped to the caller's organisation, hidden ones left out of feeds."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from accounts.scoping import scope_to_actor, scoped_organization_id
from peerly.api.exceptions import NotFound
from peerly.api.keyset import Keyset
from peerly.api.pagination import span_from_the_end
from peerly.queries import QueryShape, instance_from_row
from recognitions.models import Hi5, Recognition, RecognitionCounter

FEED_ORDER = ("-given_at", "-id")
FEED_ORDER_OLDEST_FIRST = ("given_at", "id")
# A feed item as one flat row (`.values()`): what `RecognitionSerializer` renders, without model instances.
FEED_ROW_FIELDS = (
    "id",
    "text",
    "given_at",
    "given_by_id",
    "given_for_id",
    "core_value_id",
    "core_value__text",
    "core_value__description",
    "core_value__thumbnail_url",
    "given_by__first_name",
    "given_by__last_name",
    "given_by__display_name",
    "given_by__profile_image_url",
    "given_for__first_name",
    "given_for__last_name",
    "given_for__display_name",
    "given_for__profile_image_url",
    "hi5_count",
    "is_hidden",
)


def _with_feed_columns(queryset: QuerySet[Recognition]) -> QuerySet[Recognition]:
    """Giver, receiver and core value joined, `hi5_count` as a correlated subquery: one query for any page.

    The subquery (rather than a JOIN + GROUP BY) keeps the newest-first index scan usable: PostgreSQL
    computes it only for the rows of the page, through the Hi5 unique index on (recognition, given_by).
    """
    return queryset.select_related("given_by", "given_for", "core_value").annotate(hi5_count=hi5_count())


def hi5_count():
    """A recognition's Hi5 count, as an expression to annotate a queryset of recognitions with."""
    count = (
        Hi5.objects.filter(recognition=OuterRef("pk"))
        .order_by()
        .values("recognition")
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))


def feed_row(recognition: Recognition) -> dict[str, Any]:
    """The feed row of a recognition loaded with its giver, receiver, core value and `hi5_count`."""
    row: dict[str, Any] = {}
    for field in FEED_ROW_FIELDS:
        value: Any = recognition
        for part in field.split("__"):
            value = getattr(value, part)
        row[field] = value
    return row


def recognitions_visible_to(actor: User) -> QuerySet[Recognition]:
    """Every recognition (hidden too) the actor may address by id: their organisation's, all for a super admin."""
    return scope_to_actor(actor, Recognition.objects.all())


@functools.cache
def feed_keyset() -> Keyset:
    """The feed's cursors: (given_at, id), newest first (built once: the models must be loaded)."""
    return Keyset.of(Recognition.objects.order_by(*FEED_ORDER))


@dataclass(frozen=True)
class RecognitionFeed:
    """The feed as a `Listing` for the paginator (peerly/api/pagination.py): `count()` is `meta.total`, a page
    is a list of feed rows (`FEED_ROW_FIELDS`, read with `.values()`: no model instances to build).

    A page is ONE query whatever the offset: a subquery walks the partial index newest first and reads only
    index entries (an index-only scan) to pick the page's ids, skipping `offset` entries rather than rows;
    only those ids are then fetched, joined to giver, receiver and core value, and given their Hi5 count.
    (A plain `LIMIT 10 OFFSET 10000` makes PostgreSQL join and count Hi5s for the 10,000 skipped rows too.)
    A page past the middle walks the index from the oldest end instead (the total is known first), so the
    last page skips nothing. A page after a cursor seeks in the index to `(given_at, id) < (cursor's)`: no
    entry is skipped at any depth.

    The total is exact. Without a giver or receiver filter it is the sum of the per-(organisation, core
    value) counters the database keeps up to date (`RecognitionCounter`); with one, those indexes hold few
    rows per person and a count is cheap.

    The feed holds its filters' values, not QuerySets: the total and the page are `QueryShape`s, written by
    the ORM from the same QuerySets (`visible`, `page_queryset`) once per shape of filters, not per request.
    """

    organization_id: int | None  # None: every organisation's (a super admin's)
    given_by: Sequence[int] = ()
    given_for: Sequence[int] = ()
    core_value_ids: Sequence[int] = ()

    @property
    def counters_apply(self) -> bool:
        return not (self.given_by or self.given_for)

    @property
    def visible(self) -> QuerySet[Recognition]:
        """The feed's visible recognitions, newest first or not (the page and the count start from it)."""
        queryset = Recognition.objects.all()
        if self.organization_id is not None:
            queryset = queryset.filter(organization_id=self.organization_id)
        queryset = queryset.visible()
        if self.given_by:
            queryset = queryset.filter(given_by_id__in=self.given_by)
        if self.given_for:
            queryset = queryset.filter(given_for_id__in=self.given_for)
        if self.core_value_ids:
            queryset = queryset.filter(core_value_id__in=self.core_value_ids)
        return queryset

    def count(self) -> int:
        filters = {"organization_id": self.organization_id, "core_value_ids": list(self.core_value_ids)}
        if self.counters_apply:
            return _FEED_TOTAL.value(**filters)
        return _FEED_COUNT.value(**filters, given_by=list(self.given_by), given_for=list(self.given_for))

    @property
    def keyset(self) -> Keyset:
        return feed_keyset()

    def page(self, *, offset: int, limit: int, total: int) -> list[dict[str, Any]]:
        """The rows at `offset` (newest first), read from the oldest end when that end is nearer."""
        if offset >= total:
            return []
        span = span_from_the_end(offset=offset, limit=limit, total=total)
        oldest_first = span is not None
        if oldest_first:
            offset, limit = span
        rows = _FEED_PAGE.rows(
            organization_id=self.organization_id,
            given_by=list(self.given_by),
            given_for=list(self.given_for),
            core_value_ids=list(self.core_value_ids),
            offset=offset,
            limit=limit,
            oldest_first=oldest_first,
        )
        return rows[::-1] if oldest_first else rows

    def page_after(self, position: tuple, *, limit: int) -> list[dict[str, Any]]:
        """The rows after a cursor's `position` (given_at, id), newest first."""
        after_at, after_id = position
        return _FEED_PAGE.rows(
            organization_id=self.organization_id,
            given_by=list(self.given_by),
            given_for=list(self.given_for),
            core_value_ids=list(self.core_value_ids),
            offset=0,
            limit=limit,
            oldest_first=False,
            after_at=after_at,
            after_id=after_id,
        )

    def page_queryset(
        self, *, offset: int, limit: int | None, after: tuple | None = None, oldest_first: bool = False
    ) -> QuerySet[Recognition]:
        """The one query of a page (exposed for tests and EXPLAIN)."""
        end = None if limit is None else offset + limit
        order = FEED_ORDER_OLDEST_FIRST if oldest_first else FEED_ORDER
        visible = self.visible if after is None else self.visible.filter(self.keyset.after(after))
        page_ids = visible.order_by(*order).values("pk")[offset:end]
        return _with_feed_columns(Recognition.objects.filter(pk__in=page_ids)).order_by(*order)


def _feed_counters(*, organization_id: int | None, core_value_ids: Sequence[int]) -> QuerySet[RecognitionCounter]:
    counters = RecognitionCounter.objects.all()
    if organization_id is not None:
        counters = counters.filter(organization_id=organization_id)
    if core_value_ids:
        counters = counters.filter(core_value_id__in=core_value_ids)
    return counters.values("visible")


_FEED_TOTAL = QueryShape(_feed_counters, wrap="SELECT COALESCE(SUM(visible), 0)::bigint FROM ({query}) AS counters")
_FEED_COUNT = QueryShape(
    lambda **filters: RecognitionFeed(**filters).visible.order_by().values("pk"),
    wrap="SELECT count(*) FROM ({query}) AS matches",
)
_FEED_PAGE = QueryShape(
    lambda *, offset, limit, oldest_first, after_at=None, after_id=None, **filters: (
        RecognitionFeed(**filters)
        .page_queryset(
            offset=offset,
            limit=limit,
            oldest_first=oldest_first,
            after=None if after_at is None else (after_at, after_id),
        )
        .values(*FEED_ROW_FIELDS)
    )
)


def recognition_feed(
    *,
    actor: User,
    given_by: Sequence[int] = (),
    given_for: Sequence[int] = (),
    core_value_id: Sequence[int] = (),
) -> RecognitionFeed:
    """Visible recognitions, newest first; each filter is a list of ids (any of them matches).

    Filters on `organization_id` and `is_hidden = false` and orders by (given_at, id) descending, exactly the
    partial indexes' definition, so PostgreSQL can walk an index and stop after the page.
    """
    return RecognitionFeed(
        organization_id=scoped_organization_id(actor),
        given_by=tuple(given_by),
        given_for=tuple(given_for),
        core_value_ids=tuple(core_value_id),
    )


def recognition_get(*, actor: User, recognition_id: int) -> Recognition:
    """One recognition; a hidden one exists only for those who moderate (404 for everybody else)."""
    queryset = recognitions_visible_to(actor)
    if not actor.can_moderate:
        queryset = queryset.visible()
    recognition = _with_feed_columns(queryset).filter(pk=recognition_id).first()
    if recognition is None:
        raise NotFound("Recognition not found")
    return recognition


# What giving a Hi5 reads of its recognition (recognitions.services.hi5_give): no joins, no Hi5 count.
HI5_TARGET_FIELDS = ("id", "organization_id", "core_value_id", "given_by_id", "given_for_id", "is_hidden")


def _recognition_by_id(*, recognition_id: int, organization_id: int | None, visible_only: bool) -> QuerySet:
    queryset = Recognition.objects.filter(pk=recognition_id)
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    if visible_only:
        queryset = queryset.visible()
    return queryset.values(*HI5_TARGET_FIELDS)


_HI5_TARGET = QueryShape(_recognition_by_id)


def recognition_for_hi5(*, actor: User, recognition_id: int) -> Recognition:
    """The recognition a Hi5 is given to, found by recognition_get's rules (the actor's organisation; a
    hidden one only for those who moderate, 404 for everybody else), with only the columns hi5_give reads."""
    rows = _HI5_TARGET.rows(
        recognition_id=recognition_id,
        organization_id=scoped_organization_id(actor),
        visible_only=not actor.can_moderate,
    )
    if not rows:
        raise NotFound("Recognition not found")
    return instance_from_row(Recognition, rows[0])


def recognition_for_delivery(*, organization_id: int, recognition_id: int) -> Recognition | None:
    """A recognition of that organisation (hidden too) with the feed's columns, for Peerly's own deliveries
    (webhooks): no actor, the event names the organisation."""
    return (
        _with_feed_columns(Recognition.objects.filter(organization_id=organization_id))
        .filter(pk=recognition_id)
        .first()
    )


def hi5_list(*, recognition: Recognition) -> QuerySet[Hi5]:
    """Who gave Hi5s to the recognition, newest first."""
    return Hi5.objects.filter(recognition=recognition).select_related("given_by").order_by("-given_at", "-id")
