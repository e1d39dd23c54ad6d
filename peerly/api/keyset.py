"""Keyset pages ("cursors"): the page after a position in a list's order, read by one index range scan at
any depth.

A list's order always ends in a unique column (`-given_at, -id`), so the sort key of its last item is a
position that no other item shares. The cursor is that sort key, with the list's identity, as urlsafe
base64 of compact JSON: opaque to clients, refused when it is not exactly what this list hands out. The
next page is `WHERE (given_at, id) < (%s, %s) ORDER BY given_at DESC, id DESC LIMIT n`: with an index in
that order PostgreSQL seeks to the position instead of skipping the items before it, as OFFSET must.

A cursor is only a position: it carries no scope, no filter and no right. The caller's organisation and
filters apply to the page after it exactly as to any other page.
"""

import base64
import binascii
import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import BooleanField, Expression, F, Field, Model, Q, QuerySet, Value
from django.db.models import fields as model_fields
from django.utils.dateparse import parse_datetime

from peerly.api.exceptions import InvalidData

CURSOR_ALPHABET = "A-Za-z0-9_-"  # urlsafe base64, without padding
CURSOR_PATTERN = f"^[{CURSOR_ALPHABET}]+$"
MAX_CURSOR_LENGTH = 1000
NOT_A_CURSOR = "Not a cursor of this list: pass `meta.next` of a page of this same list."
_CURSOR = re.compile(CURSOR_PATTERN)


class RowComparison(Expression):
    """`(a, b, c) < (x, y, z)`: a row comparison, which PostgreSQL turns into one index range condition
    (an `Index Cond`) on an index whose columns are in that order and direction."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, columns: Sequence[str], operator: str, values: Sequence[Any]):
        if operator not in ("<", ">", "=") or len(columns) != len(values) or not columns:
            raise ValueError("a row comparison takes as many values as columns and one of <, >, =")
        super().__init__(output_field=BooleanField())
        self.columns = [F(column) for column in columns]
        self.operator = operator
        self.values = list(values)

    def get_source_expressions(self) -> list:
        return self.columns

    def set_source_expressions(self, expressions) -> None:
        self.columns = list(expressions)

    def as_sql(self, compiler, connection):
        left, right, params = [], [], []
        for column in self.columns:
            sql, column_params = compiler.compile(column)
            left.append(sql)
            params.extend(column_params)
        for column, value in zip(self.columns, self.values, strict=True):
            # Typed like the column it is compared with (a datetime as a timestamptz, ...).
            sql, value_params = compiler.compile(Value(value, output_field=column.output_field))
            right.append(sql)
            params.extend(value_params)
        return f"({', '.join(left)}) {self.operator} ({', '.join(right)})", params


@dataclass(frozen=True)
class SortKey:
    name: str  # a field path of the model (`created_at`, `recognition__given_at`) or an annotation
    descending: bool
    field: Field  # types the cursor's value


@dataclass(frozen=True)
class Keyset:
    """A list's order, as its cursors write and read it."""

    label: str  # the list's identity inside its cursors: a cursor of another list is refused
    keys: tuple[SortKey, ...]

    @classmethod
    def of(cls, queryset: QuerySet) -> "Keyset":
        """The keyset of a queryset's explicit `order_by()`, which must name columns or annotations (not
        expressions: annotate those, so each item carries its sort key) and end in a unique column."""
        order = tuple(queryset.query.order_by)
        model = queryset.model
        if not order or not all(isinstance(term, str) for term in order):
            raise ImproperlyConfigured(
                f"{model.__name__} list: order_by() names of columns or annotations, ending in id"
            )
        annotations = {term.lstrip("-"): queryset.query.annotations.get(term.lstrip("-")) for term in order}
        if not any(annotations.values()):
            return _keyset_of_columns(model, order)  # the same for every request: built once
        return cls._build(model, order, {name: a.output_field for name, a in annotations.items() if a is not None})

    @classmethod
    def _build(cls, model: type[Model], order: tuple[str, ...], annotated: dict[str, Field]) -> "Keyset":
        keys = []
        for term in order:
            name = term.lstrip("-")
            if name == "pk":
                name = model._meta.pk.name
            field = annotated[name] if name in annotated else _field_at(model, name)
            if field.null:
                # A NULL compares as unknown in a row comparison: those rows would never be reached.
                raise ImproperlyConfigured(f"{model.__name__} list: cannot page by {name}, a nullable column")
            keys.append(SortKey(name=name, descending=term.startswith("-"), field=field))
        if not (keys[-1].field.primary_key or keys[-1].field.unique):
            raise ImproperlyConfigured(f"{model.__name__} list: the order must end in a unique column")
        identity = f"{model._meta.label_lower}:{','.join(order)}"
        return cls(label=hashlib.sha256(identity.encode()).hexdigest()[:8], keys=tuple(keys))

    def reversed_order(self) -> tuple[str, ...]:
        """The list's order from its other end: exactly the list reversed, since the order is complete (it
        ends in a unique column) and has no NULLs to place."""
        return tuple(("" if key.descending else "-") + key.name for key in self.keys)

    def cursor(self, item: Any) -> str:
        """The cursor of the page after `item` (a model instance, or a row read with `.values()`)."""
        values = [_json_value(_value_of(item, key.name)) for key in self.keys]
        raw = json.dumps([self.label, *values], separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def position(self, cursor: str) -> tuple:
        """The sort key a cursor holds; 400 `invalid_data` (field `before`) unless this list issued it."""
        try:
            if len(cursor) > MAX_CURSOR_LENGTH or not _CURSOR.match(cursor):
                raise ValueError
            decoded = json.loads(
                base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode(),
                parse_constant=_refuse,  # NaN, Infinity
            )
            if not isinstance(decoded, list) or len(decoded) != len(self.keys) + 1 or decoded[0] != self.label:
                raise ValueError
            return tuple(_parsed(value, key.field) for value, key in zip(decoded[1:], self.keys, strict=True))
        except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
            raise InvalidData(fields={"before": NOT_A_CURSOR}) from None

    def after(self, position: Sequence[Any]) -> Q | RowComparison:
        """The items after `position` in the list's order: one row comparison per run of keys sorted the
        same way (`(a, b) < (x, y)`), joined lexicographically when directions change."""
        runs: list[tuple[bool, list[str], list[Any]]] = []
        for key, value in zip(self.keys, position, strict=True):
            if not runs or runs[-1][0] != key.descending:
                runs.append((key.descending, [], []))
            runs[-1][1].append(key.name)
            runs[-1][2].append(value)
        condition: Q | RowComparison | None = None
        for descending, names, values in reversed(runs):
            beyond = RowComparison(names, "<" if descending else ">", values)
            condition = beyond if condition is None else beyond | (RowComparison(names, "=", values) & condition)
        return condition


@functools.cache
def _keyset_of_columns(model: type[Model], order: tuple[str, ...]) -> Keyset:
    return Keyset._build(model, order, {})


def _field_at(model, path: str) -> Field:
    field = None
    for part in path.split("__"):
        if field is not None:
            model = field.related_model
        field = model._meta.get_field(part)
    return field


def _value_of(item: Any, name: str) -> Any:
    if isinstance(item, dict):
        return item[name]
    for part in name.split("__"):
        item = getattr(item, part)
    return item


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def _refuse(constant: str):
    raise ValueError(constant)


def _parsed(value: Any, field: Field) -> Any:
    """A cursor's value, checked against the column it is compared with: the database never sees a value
    of the wrong type or out of the column's range (which would be a 500)."""
    if isinstance(field, model_fields.DateTimeField):
        if not isinstance(value, str):
            raise ValueError
        moment = parse_datetime(value)
        if moment is None or moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(UTC)
    if isinstance(field, model_fields.IntegerField):  # AutoField and BigAutoField too
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        if type(value) is not int or not (low is None or low <= value) or not (high is None or value <= high):
            raise ValueError
        return value
    if isinstance(field, model_fields.CharField | model_fields.TextField):
        if not isinstance(value, str) or "\x00" in value or (field.max_length and len(value) > field.max_length):
            raise ValueError
        value.encode()  # a lone surrogate (`"\ud800"`) cannot reach the database: UnicodeEncodeError
        return value
    raise ImproperlyConfigured(f"cannot page by a {type(field).__name__}")
