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
from typing import Any

from rest_framework import serializers


def _expected_json_type(field: serializers.Field) -> tuple[tuple[type, ...], str] | None:
    """The JSON types a field's value must have, with the message, or None when anything may come."""
    if isinstance(field, serializers.BooleanField):
        return (bool,), "Must be true or false."
    if isinstance(field, serializers.ChoiceField):
        keys = list(field.choices)
        if keys and all(isinstance(key, int) and not isinstance(key, bool) for key in keys):
            return (int,), "Must be an integer."
        if keys and all(isinstance(key, str) for key in keys):
            return (str,), "Must be a string."
        return None
    if isinstance(field, serializers.IntegerField):
        return (int,), "Must be an integer."
    if isinstance(field, serializers.FloatField):
        return (int, float), "Must be a number."
    if isinstance(field, serializers.CharField | serializers.DateTimeField | serializers.DateField):
        return (str,), "Must be a string."
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return (list,), "Must be a list."
    if isinstance(field, serializers.DictField | serializers.Serializer):
        return (dict,), "Must be an object."
    return None


class StrictJSONTypes:
    # Refuses a value whose JSON type is not the field's (400 `invalid_data` naming each field).
    # (A comment, not a docstring: drf-spectacular would take a docstring as every serializer's description.)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():  # type: ignore[attr-defined]
                if field.read_only or field.source == "*" or name not in data or data[name] is None:
                    continue
                expected = _expected_json_type(field)
                if expected is None:
                    continue
                value, (types, message) = data[name], expected
                if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
                    errors[name] = [message]
                elif isinstance(value, str) and getattr(field, "max_length", None) and len(value) > field.max_length:
                    # DRF checks the length after trimming whitespace; the schema's maxLength is on what was sent.
                    errors[name] = [f"Ensure this field has no more than {field.max_length} characters."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


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
