from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.response import Response

from peerly.api.serializers import QueryParams

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_OFFSET = 10_000_000


class PageParams(QueryParams):
    limit = serializers.IntegerField(min_value=1, required=False)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, required=False, default=0)


class LimitOffsetPagination:
    """`limit` (default 10, at most 100: larger values are capped) and `offset`.

    Answers {"data": [...], "meta": {"total", "limit", "offset"}}. A list whose items are few (an
    organisation's core values) subclasses with a larger `default_limit`.
    """

    default_limit = DEFAULT_LIMIT

    def __init__(self) -> None:
        self.limit = self.default_limit
        self.offset = 0
        self.total = 0

    def paginate_queryset(self, queryset: QuerySet | Sequence, request, view=None, *, total: int | None = None):
        self.limit, self.offset = self.page_params(request)
        if total is None:
            total = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        self.total = total
        return list(queryset[self.offset : self.offset + self.limit])

    @classmethod
    def page_params(cls, request) -> tuple[int, int]:
        """The request's (limit, offset): validated (400 `invalid_data`), the limit capped."""
        params = PageParams.validated(
            {k: request.query_params[k] for k in ("limit", "offset") if k in request.query_params}
        )
        return min(params.get("limit", cls.default_limit), MAX_LIMIT), params["offset"]

    @classmethod
    def counted_page_response(cls, request, *, total: int, items: Sequence, serializer_class: type) -> Response:
        """How a view answers a list whose page and total it read itself (`page_params`)."""
        paginator = cls()
        paginator.limit, paginator.offset = cls.page_params(request)
        paginator.total = total
        return paginator.get_paginated_response(serializer_class(items, many=True).data)

    @classmethod
    def page_response(cls, request, items: QuerySet | Sequence, serializer_class: type) -> Response:
        """How a view answers a list: take the requested page, render its items, envelope them with meta."""
        paginator = cls()
        page = paginator.paginate_queryset(items, request)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)

    def get_paginated_response(self, data: list[Any]) -> Response:
        response = Response({"data": data, "meta": {"total": self.total, "limit": self.limit, "offset": self.offset}})
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
                    "required": ["total", "limit", "offset"],
                    "properties": {
                        "total": {"type": "integer", "minimum": 0},
                        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                        "offset": {"type": "integer", "minimum": 0},
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
                "description": "Number of items to skip.",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            },
        ]
