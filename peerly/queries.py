"""Hot queries written by the ORM once per shape, then run with new values (issue #14).

Building a QuerySet and compiling it to SQL costs the ORM more per request than PostgreSQL takes to answer
the hot reads (the feed page: about 1 ms of Python for a query PostgreSQL runs in 0.2 ms). A `QueryShape`
keeps the ORM as the author of the SQL (the selector's own QuerySet, so joins, column names and rules stay
in one place) but asks it once: the first call of each shape builds the QuerySet with stand-in values,
compiles it, and notes where each stand-in landed; every later call fills in the new values.

A shape is what changes the SQL's text: which arguments are None, 0, "" or empty, the length of each list,
the value of each bool (the builder is called with the real value of those). The other arguments are values:
an int, str or aware datetime bound as a parameter becomes a parameter slot; a str the ORM turned into a LIKE pattern
(`istartswith`: `ma` -> `ma%`, with `%`, `_` and backslashes escaped) is turned into one the same way on each call; an
int the ORM writes into the SQL itself (LIMIT and OFFSET) is written into it again on each call, so
PostgreSQL sees the same text as the ORM would have sent. Every other parameter of the compiled SQL
(`is_hidden = false`) is a constant of the shape.

Only for hot paths: a builder must use its arguments as plain values (no arithmetic on them, no branching
on their value other than None or a list's length), which `tests` checks against the ORM's own SQL.
"""

import itertools
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.sql.subqueries import UpdateQuery

Value = int | str | datetime | None | bool | Sequence[int]

MAX_SHAPES = 128  # compiled shapes kept per QueryShape (the feed's filters alone have a million shapes)
# Stand-ins nothing else in a query would be: ints far beyond any id, count or offset, strings in Unicode's
# private use area.
_INT_STAND_IN = 7_300_000_000_000_000_000
_PLACEHOLDER_OR_NUMBER = re.compile(r"%%|%s|\b73[0-9]{17}\b")
_STR_STAND_IN = re.compile("\ue000peerly-[0-9]+\ue000")
_DATETIME_STAND_IN = datetime(2999, 12, 31, tzinfo=UTC)  # minus a microsecond per stand-in


@dataclass(frozen=True)
class _Slot:
    """Where a parameter's value comes from: a constant, or an argument (an item of it for a list), as a
    LIKE pattern when `pattern` is (before, after) (the ORM's wrapping around the escaped value)."""

    constant: Any = None
    argument: str | None = None
    index: int | None = None
    pattern: tuple[str, str] | None = None

    def value(self, arguments: dict[str, "Value"]) -> Any:
        if self.argument is None:
            return self.constant
        value = arguments[self.argument]
        if self.index is not None:
            value = value[self.index]
        if self.pattern is not None:
            before, after = self.pattern
            value = f"{before}{connection.ops.prep_for_like_query(value)}{after}"
        return value


@dataclass(frozen=True)
class _Compiled:
    fragments: tuple[str, ...]  # the SQL, cut where an inlined value goes (len(inlined) + 1 pieces)
    inlined: tuple[tuple[str, int | None], ...]  # (argument, index in a list or None) per cut
    slots: tuple[_Slot, ...]  # one per parameter
    names: tuple[str, ...]  # a .values() query's row keys, in column order
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]  # Django's from_db converters, by column


class QueryShape:
    """`build(**arguments) -> QuerySet`, compiled once per shape of its arguments, run with their values."""

    def __init__(
        self, build: Callable[..., QuerySet], *, wrap: str = "{query}", update: dict[str, Any] | None = None
    ) -> None:
        """`wrap`: SQL around the compiled query (`SELECT sum(n) FROM ({query}) q`), for reads a QuerySet
        cannot stay lazy for (aggregates). `update`: the shape is `build(...).update(**update)` instead of a
        read (one table, no joins: the ORM then needs no query of its own to write the UPDATE); run it with
        `execute`."""
        self.build = build
        self.wrap = wrap
        self.update = update
        self._compiled: dict[Hashable, _Compiled] = {}

    def sql(self, **arguments: Value) -> tuple[str, list[Any]]:
        """The SQL and parameters the ORM would send for build(**arguments)."""
        compiled = self._compiled_for(arguments)
        pieces = [compiled.fragments[0]]
        for (name, index), fragment in zip(compiled.inlined, compiled.fragments[1:], strict=True):
            value = arguments[name] if index is None else arguments[name][index]
            pieces.append(str(int(value)))
            pieces.append(fragment)
        return "".join(pieces), [slot.value(arguments) for slot in compiled.slots]

    def rows(self, **arguments: Value) -> list[dict[str, Any]]:
        """The rows of a `.values()` QuerySet, as `.values()` would give them."""
        compiled = self._compiled_for(arguments)
        sql, params = self.sql(**arguments)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [_converted(row, compiled.converters) for row in rows]
        return [dict(zip(compiled.names, row, strict=True)) for row in rows]

    def value(self, **arguments: Value) -> Any:
        """The first column of the first row (None without a row): an aggregate's result."""
        sql, params = self.sql(**arguments)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return None if row is None else row[0]

    def execute(self, **arguments: Value) -> int:
        """Run an `update` shape; how many rows it changed (as QuerySet.update answers)."""
        sql, params = self.sql(**arguments)
        with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def _compiled_for(self, arguments: dict[str, Value]) -> _Compiled:
        key = tuple(sorted((name, _shape_of(value)) for name, value in arguments.items()))
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= MAX_SHAPES:
                # A client choosing list lengths chooses shapes: the oldest goes, memory stays bounded.
                self._compiled.pop(next(iter(self._compiled), None), None)
            compiled = self._compiled[key] = self._compile(arguments)
        return compiled

    def _compile(self, arguments: dict[str, Value]) -> _Compiled:
        counter = itertools.count()
        where: dict[Any, tuple[str, int | None]] = {}

        def stand_in(name: str, value: Value, index: int | None = None) -> Value:
            if isinstance(value, bool) or (index is None and not value):
                return value  # part of the shape: the builder sees the real value
            if isinstance(value, (list, tuple)):
                return [stand_in(name, item, position) for position, item in enumerate(value)]
            if isinstance(value, str):
                replacement: int | str | datetime = f"\ue000peerly-{next(counter)}\ue000"
            elif isinstance(value, datetime):
                if value.tzinfo is None:
                    raise ValueError("a datetime argument must be aware")
                replacement = _DATETIME_STAND_IN - timedelta(microseconds=next(counter))
            else:
                replacement = _INT_STAND_IN + next(counter)
            where[replacement] = (name, index)
            return replacement

        queryset = self.build(**{name: stand_in(name, value) for name, value in arguments.items()})
        query = queryset.query
        if self.update is not None:  # what QuerySet.update does, short of running it
            query = query.chain(UpdateQuery)
            query.add_update_values(self.update)
            query.clear_select_clause()
            query.get_initial_alias()
            if query.count_active_tables() != 1 or query.related_updates:
                raise ValueError("an update shape writes one table and joins none")
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        # As ValuesIterable names a row's columns.
        names = (
            tuple(query.selected)
            if query.selected
            else (*query.extra_select, *query.values_select, *query.annotation_select)
        )
        converters = tuple(
            (position, tuple(convs), expression)
            for position, (convs, expression) in compiler.get_converters(
                [expression for expression, _, _ in getattr(compiler, "select", None) or ()]
            ).items()
        )
        fragments, inlined, slots = [], [], []
        remaining = iter(params)
        start = 0
        text = self.wrap.replace("{query}", sql)
        for match in _PLACEHOLDER_OR_NUMBER.finditer(text):
            token = match.group()
            if token == "%%":
                continue
            if token == "%s":
                slots.append(_slot_for(next(remaining), where))
                continue
            if int(token) in where:  # a stand-in the ORM wrote into the SQL (LIMIT, OFFSET)
                fragments.append(text[start : match.start()])
                inlined.append(where[int(token)])
                start = match.end()
        fragments.append(text[start:])
        if next(remaining, None) is not None:
            raise ValueError("the SQL has fewer placeholders than parameters")
        return _Compiled(tuple(fragments), tuple(inlined), tuple(slots), names, converters)


def first_rows(*queries: tuple[QueryShape, dict[str, Value]]) -> list[dict[str, Any] | None]:
    """The first row (or None) of each (shape, arguments), in one round trip: queries of at most one row each
    (by primary key, which each selects: a row of NULLs reads as none), side by side in one statement, each
    LEFT JOINed to a row of nothing."""
    joins, columns, params, widths = [], [], [], []
    for shape, arguments in queries:
        sql, shape_params = shape.sql(**arguments)
        joins.append(f"LEFT JOIN ({sql}) AS q{len(joins)} ON TRUE")
        columns.append(f"q{len(columns)}.*")
        params.extend(shape_params)
        widths.append(len(shape._compiled_for(arguments).names))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM (SELECT) AS one_row {' '.join(joins)}", params)  # noqa: S608
        rows = cursor.fetchall()
    if len(rows) != 1:
        raise ValueError("first_rows is for queries of one row at most")
    row, found, start = rows[0], [], 0
    for (shape, arguments), width in zip(queries, widths, strict=True):
        compiled = shape._compiled_for(arguments)
        values = row[start : start + width]
        start += width
        if all(value is None for value in values):
            found.append(None)
            continue
        if compiled.converters:
            values = _converted(values, compiled.converters)
        found.append(dict(zip(compiled.names, values, strict=True)))
    return found


def instance_from_row(model: type[Model], row: dict[str, Any]) -> Model:
    """A model instance from a `.values()` row of its columns (by attname); the other columns deferred,
    so reading one queries it rather than seeing a default."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in row]
    return model.from_db(connection.alias, names, [row[name] for name in names])


def _slot_for(param: Any, where: dict[Any, tuple[str, int | None]]) -> _Slot:
    if isinstance(param, datetime) and param.tzinfo is not None and param in where:
        return _Slot(argument=where[param][0], index=where[param][1])
    if isinstance(param, bool) or not isinstance(param, (int, str)):
        return _Slot(constant=param)
    if param in where:
        return _Slot(argument=where[param][0], index=where[param][1])
    found = _STR_STAND_IN.search(param) if isinstance(param, str) else None
    if found is None:
        return _Slot(constant=param)
    if not set(param[: found.start()] + param[found.end() :]) <= {"%"}:  # only LIKE's wildcards around it
        raise ValueError(f"a string argument in a form QueryShape does not know: {param!r}")
    name, index = where[found.group()]
    return _Slot(argument=name, index=index, pattern=(param[: found.start()], param[found.end() :]))


def _shape_of(value: Value) -> Hashable:
    if isinstance(value, (list, tuple)):
        return ("list", len(value))
    if isinstance(value, bool) or not value:  # None, 0, "": selectors skip a filter, the ORM an OFFSET 0
        return (type(value).__name__, value)
    return type(value).__name__


def _converted(row: tuple, converters: tuple) -> tuple:
    values = list(row)
    for position, convs, expression in converters:
        for converter in convs:
            values[position] = converter(values[position], expression, connection)
    return tuple(values)
