"""Request-body serializers that take JSON types at their word.

DRF is lenient on purpose: a CharField accepts 12, an IntegerField "12" or 12.0, a BooleanField
"yes" or 1. The OpenAPI schema promises a string, an integer, a boolean; a client sending the
wrong type has a bug it should hear about (400 with `fields`), and the schema must describe what
the API accepts. Put `StrictJSONTypes` first in the bases of every serializer that parses a JSON
body (not query-string serializers: query values are always strings):

    class ProfileUpdateSerializer(StrictJSONTypes, serializers.Serializer): ...

`openapi_extra` on a serializer is merged into its OpenAPI component (see
`peerly.api.schema.EnvelopeAutoSchema`), for rules the fields alone cannot express, such as
"one of these two fields is required".
"""

import re
from collections.abc import Mapping
from typing import Any

from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator


def _type_error(field: serializers.Field, value: Any) -> str | None:
    """DRF's own message when value's JSON type is not the field's, else None."""
    if isinstance(field, serializers.BooleanField):
        types, key = (bool,), "invalid"
    elif isinstance(field, serializers.ChoiceField):
        keys = list(field.choices)
        if keys and all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
            types, key = (int,), "invalid_choice"
        elif keys and all(isinstance(k, str) for k in keys):
            types, key = (str,), "invalid_choice"
        else:
            return None
    elif isinstance(field, serializers.IntegerField):
        types, key = (int,), "invalid"
    elif isinstance(field, serializers.FloatField):
        types, key = (int, float), "invalid"
    elif isinstance(field, serializers.CharField):
        types, key = (str,), "invalid"
    else:
        return None
    if isinstance(value, types) and (bool in types or not isinstance(value, bool)):
        return None
    return str(field.error_messages[key]).format(input=value)


class StrictJSONTypes:
    # Refuses a value whose JSON type is not the field's (400 `invalid_data`, DRF's message for the field),
    # and a string longer than max_length as sent (DRF measures it after trimming whitespace). Other fields
    # are still validated, so the client hears about every field at once.
    # (A comment, not a docstring: drf-spectacular would take a docstring as every serializer's description.)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            return super().to_internal_value(data)  # type: ignore[misc]
        errors: dict[str, list[str]] = {}
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            if field.read_only or field.source == "*" or name not in data or data[name] is None:
                continue
            value = data[name]
            message = _type_error(field, value)
            max_length = getattr(field, "max_length", None)
            if message is None and isinstance(value, str) and max_length is not None and len(value) > max_length:
                message = str(field.error_messages["max_length"]).format(max_length=max_length)
            if message is not None:
                errors[name] = [message]
        if not errors:
            return super().to_internal_value(data)  # type: ignore[misc]
        try:
            super().to_internal_value({k: v for k, v in data.items() if k not in errors})  # type: ignore[misc]
        except serializers.ValidationError as exc:
            others = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            errors = {**others, **errors}
        raise serializers.ValidationError(errors)


HTTP_URL_PATTERN = r"^https?://[^\x00-\x20/?#]+([/?#][^\x00-\x20]*)?$"


class HttpUrlField(serializers.CharField):
    """An http(s) URL: a host, then no spaces or control characters. The schema states exactly this rule
    (`HTTP_URL_PATTERN`, mapped in peerly.api.schema).

    (Django's URLValidator is stricter than any OpenAPI `format: uri`, so clients could not know
    which URLs pass; javascript:, data: and other schemes are refused all the same.)
    """

    default_error_messages = {"invalid": "Enter a valid http(s) URL."}

    def __init__(self, **kwargs):
        # Not trimmed: str.strip() also eats characters the pattern allows (U+0085), so "valid" would change.
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and not re.fullmatch(HTTP_URL_PATTERN, value):
            self.fail("invalid")
        return value


class QueryParams(serializers.Serializer):
    """Query-string parameters that hot views read without DRF building and running a serializer per request.

    `validated(data)` answers exactly what `cls(data=data)` would (`validated_data`, or the same 400
    `invalid_data`): an absent parameter takes its field's default (or is left out), and a plain value of a
    plain field (an integer field given digits within its bounds; a string field given a short string
    without NUL or surrogates) is read here; anything else, an empty value or a custom rule included, goes
    through DRF's own validation. `peerly/tests/test_query_params.py` holds the two equal.
    """

    @classmethod
    def validated(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        if cls.validate is not serializers.Serializer.validate:
            return cls._validated_by_drf(data)
        values: dict[str, Any] = {}
        for name, field in cls._declared_fields.items():
            if name not in data:
                if field.required:
                    return cls._validated_by_drf(data)
                if field.default is not serializers.empty:
                    values[name] = field.get_default()
                continue
            value = _plain_value(field, data[name])
            if value is _NOT_PLAIN:
                return cls._validated_by_drf(data)
            values[name] = value
        return values

    @classmethod
    def _validated_by_drf(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        serializer = cls(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


_NOT_PLAIN = object()
_MAX_PLAIN_DIGITS = 18  # below 2**63: no validator of a field here could refuse the int itself
_SURROGATES = re.compile("[\ud800-\udfff]")
_PLAIN_STRING_VALIDATORS = (
    MaxLengthValidator,
    MinLengthValidator,
    ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
)


def _plain_value(field: serializers.Field, value: Any) -> Any:
    """The field's value for `value` when both are plain (see QueryParams), else _NOT_PLAIN."""
    if not isinstance(value, str) or not value:
        return _NOT_PLAIN
    if type(field) is serializers.IntegerField:
        if not all(isinstance(validator, (MaxValueValidator, MinValueValidator)) for validator in field.validators):
            return _NOT_PLAIN
        if len(value) > _MAX_PLAIN_DIGITS or not (value.isascii() and value.isdigit()):
            return _NOT_PLAIN
        number = int(value)
        too_small = field.min_value is not None and number < field.min_value
        too_large = field.max_value is not None and number > field.max_value
        return _NOT_PLAIN if too_small or too_large else number
    if type(field) is serializers.CharField:
        if not all(isinstance(validator, _PLAIN_STRING_VALIDATORS) for validator in field.validators):
            return _NOT_PLAIN
        text = value.strip() if field.trim_whitespace else value
        if not text or "\x00" in text or _SURROGATES.search(text):
            return _NOT_PLAIN
        if (field.max_length is not None and len(text) > field.max_length) or (
            field.min_length is not None and len(text) < field.min_length
        ):
            return _NOT_PLAIN
        return text
    return _NOT_PLAIN
