from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.response import Response

from peerly.api.exceptions import InvalidData
from peerly.api.keyset import CURSOR_ALPHABET, CURSOR_PATTERN, MAX_CURSOR_LENGTH, Keyset
from peerly.api.serializers import QueryParams

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_OFFSET = 10_000_000
BEFORE_WITH_OFFSET = "Give either `before` (a cursor) or an `offset`, not both."


class PageParams(QueryParams):
    limit = serializers.IntegerField(min_value=1, required=False)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, required=False, default=0)
    # Checked by the list's Keyset (an empty value is no cursor, like an empty filter).
    before = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class Listing(Protocol):
    """What the paginator pages through: a QuerySet (as `QuerySetListing`), or a selector's own list that reads
    its pages its own way (the feed: recognitions.selectors.RecognitionFeed)."""

    @property
    def keyset(self) -> Keyset: ...

    def count(self) -> int: ...

    def page(self, *, offset: int, limit: int, total: int) -> Sequence: ...

    def page_after(self, position: tuple, *, limit: int) -> Sequence: ...


def span_from_the_end(*, offset: int, limit: int, total: int) -> tuple[int, int] | None:
    """Where a page past the middle of a list lies when the list is read in the opposite order: (offset,
    limit) there, or None when reading from the front skips less. With the exact total known first, the
    last page of a million items skips nothing instead of a million index entries."""
    stop = min(offset + limit, total)
    if offset >= stop or total - stop >= offset:
        return None
    return total - stop, stop - offset


@dataclass(frozen=True)
class QuerySetListing:
    """A QuerySet as a `Listing`: pages by OFFSET (from the end past the middle), or after a cursor."""

    queryset: QuerySet

    @cached_property
    def keyset(self) -> Keyset:
        return Keyset.of(self.queryset)

    def count(self) -> int:
        return self.queryset.count()

    def page(self, *, offset: int, limit: int, total: int) -> list:
        if offset >= total:
            return []
        span = span_from_the_end(offset=offset, limit=limit, total=total)
        if span is None:
            return list(self.queryset[offset : offset + limit])
        start, size = span
        return list(self.queryset.order_by(*self.keyset.reversed_order())[start : start + size])[::-1]

    def page_after(self, position: tuple, *, limit: int) -> list:
        return list(self.queryset.filter(self.keyset.after(position))[:limit])


class LimitOffsetPagination:
    """`limit` (default 10, at most 100: larger values are capped), and `offset` or `before` (a cursor).

    Answers {"data": [...], "meta": {"total", "limit", "offset", "next"}}. `next` is the cursor of the page
    after this one (None on the last page): `?before=<next>` reads it at the same cost at any depth (see
    peerly/api/keyset.py), where `offset` skips items. On a cursor page `offset` is None: its place in the
    list is the cursor's. A list whose items are few (an organisation's core values) subclasses with a larger
    `default_limit`.
    """

    default_limit = DEFAULT_LIMIT

    def __init__(self) -> None:
        self.limit = self.default_limit
        self.offset: int | None = 0
        self.total = 0
        self.next: str | None = None

    def paginate_queryset(self, items: QuerySet | Listing, request, view=None, *, total: int | None = None) -> list:
        self.limit, offset, before = self.page_params(request)
        listing = QuerySetListing(items) if isinstance(items, QuerySet) else items
        position = listing.keyset.position(before) if before else None
        self.total = listing.count() if total is None else total
        if position is None:
            self.offset = offset
            page = list(listing.page(offset=offset, limit=self.limit, total=self.total))
            more = offset + len(page) < self.total
        else:
            # One item more than the page tells whether a page follows, in the same query.
            self.offset = None
            page = list(listing.page_after(position, limit=self.limit + 1))
            more = len(page) > self.limit
            page = page[: self.limit]
        self.next = listing.keyset.cursor(page[-1]) if more and page else None
        return page

    @classmethod
    def page_params(cls, request) -> tuple[int, int, str]:
        """The request's (limit, offset, before): validated (400 `invalid_data`), the limit capped; `before`
        with a non-zero offset is 400 naming `offset`."""
        params = PageParams.validated(
            {k: request.query_params[k] for k in ("limit", "offset", "before") if k in request.query_params}
        )
        offset, before = params["offset"], params.get("before", "")
        if before and offset:
            raise InvalidData(fields={"offset": BEFORE_WITH_OFFSET})
        return min(params.get("limit", cls.default_limit), MAX_LIMIT), offset, before

    @classmethod
    def counted_page_response(
        cls, *, limit: int, offset: int, total: int, items: Sequence, serializer_class: type, keyset: Keyset
    ) -> Response:
        """How a view answers an offset page whose items and total it read itself (at `page_params`' limit and
        offset)."""
        paginator = cls()
        paginator.limit, paginator.offset = limit, offset
        paginator.total = total
        if items and paginator.offset + len(items) < total:
            paginator.next = keyset.cursor(items[-1])
        return paginator.get_paginated_response(serializer_class(items, many=True).data)

    @classmethod
    def page_response(cls, request, items: QuerySet | Listing, serializer_class: type) -> Response:
        """How a view answers a list: take the requested page, render its items, envelope them with meta."""
        paginator = cls()
        page = paginator.paginate_queryset(items, request)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)

    def get_paginated_response(self, data: list[Any]) -> Response:
        meta = {"total": self.total, "limit": self.limit, "offset": self.offset, "next": self.next}
        response = Response({"data": data, "meta": meta})
        response.peerly_enveloped = True
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {
                "data": schema,
                "meta": {
                    "type": "object",
                    "required": ["total", "limit", "offset", "next"],
                    "properties": {
                        "total": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "Items in the whole list (with its filters), not only on this page.",
                        },
                        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                        "offset": {
                            "type": "integer",
                            "minimum": 0,
                            "nullable": True,
                            "description": "Items skipped before this page; null on a page read with `before`.",
                        },
                        "next": {
                            "type": "string",
                            "pattern": CURSOR_PATTERN,
                            "maxLength": MAX_CURSOR_LENGTH,
                            "nullable": True,
                            "description": "Cursor of the page after this one (pass it as `before`); null on the "
                            "last page.",
                        },
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size (default {self.default_limit}, values above {MAX_LIMIT} are capped).",
                "schema": {"type": "integer", "minimum": 1, "default": self.default_limit},
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "description": "Number of items to skip. Not with `before` (400 naming `offset`, unless 0).",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            },
            {
                "name": "before",
                "in": "query",
                "required": False,
                "description": "A cursor: `meta.next` of a page of this same list. Answers the page after it, "
                "in the list's order, at the same cost at any depth (infinite scroll). Opaque; a cursor of "
                "another list, or anything else, is 400 `invalid_data` naming `before`. Empty: no cursor.",
                # Empty is allowed: no cursor, like an empty filter.
                "schema": {"type": "string", "pattern": f"^[{CURSOR_ALPHABET}]*$", "maxLength": MAX_CURSOR_LENGTH},
            },
        ]
