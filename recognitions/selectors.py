"""Reads on recognitions and Hi5s: scoped to the caller's organisation, hidden ones left out of feeds."""

from collections.abc import Sequence

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from peerly.api.exceptions import NotFound
from recognitions.models import Hi5, Recognition


def _with_feed_columns(queryset: QuerySet[Recognition]) -> QuerySet[Recognition]:
    """Giver, receiver and core value joined, `hi5_count` as a correlated subquery: one query for any page.

    The subquery (rather than a JOIN + GROUP BY) keeps the newest-first index scan usable: PostgreSQL
    computes it only for the rows of the page, through the Hi5 unique index on (recognition, given_by).
    """
    hi5_count = (
        Hi5.objects.filter(recognition=OuterRef("pk"))
        .order_by()
        .values("recognition")
        .annotate(count=Count("*"))
        .values("count")
    )
    return queryset.select_related("given_by", "given_for", "core_value").annotate(
        hi5_count=Coalesce(Subquery(hi5_count, output_field=IntegerField()), Value(0))
    )


def recognitions_visible_to(actor: User) -> QuerySet[Recognition]:
    """Every recognition (hidden too) the actor may address by id: their organisation's, all for a super admin."""
    if actor.is_super_admin:
        return Recognition.objects.all()
    return Recognition.objects.filter(organization_id=actor.organization_id)


def recognition_feed(
    *,
    actor: User,
    given_by: Sequence[int] = (),
    given_for: Sequence[int] = (),
    core_value_id: Sequence[int] = (),
) -> QuerySet[Recognition]:
    """Visible recognitions, newest first; each filter is a list of ids (any of them matches).

    Filters on `organization_id` and `is_hidden = false` and orders by (given_at, id) descending, exactly the
    partial indexes' definition, so PostgreSQL can walk an index and stop after the page.
    """
    queryset = recognitions_visible_to(actor).filter(is_hidden=False)
    if given_by:
        queryset = queryset.filter(given_by_id__in=given_by)
    if given_for:
        queryset = queryset.filter(given_for_id__in=given_for)
    if core_value_id:
        queryset = queryset.filter(core_value_id__in=core_value_id)
    return _with_feed_columns(queryset).order_by("-given_at", "-id")


def recognition_get(*, actor: User, recognition_id: int) -> Recognition:
    """One recognition; a hidden one exists only for those who moderate (404 for everybody else)."""
    queryset = recognitions_visible_to(actor)
    if not actor.can_moderate:
        queryset = queryset.filter(is_hidden=False)
    recognition = _with_feed_columns(queryset).filter(pk=recognition_id).first()
    if recognition is None:
        raise NotFound("Recognition not found")
    return recognition


def hi5_list(*, recognition: Recognition) -> QuerySet[Hi5]:
    """Who gave Hi5s to the recognition, newest first."""
    return Hi5.objects.filter(recognition=recognition).select_related("given_by").order_by("-given_at", "-id")
