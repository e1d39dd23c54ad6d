"""OpenAPI generation: the success envelope, the error envelope and the vendor media type."""

import copy

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from peerly.api.raises import errors_raised_by
from peerly.api.serializers import HTTP_URL_PATTERN, HttpUrlField

VENDOR_MEDIA_TYPE = "application/vnd.peerly.v1+json"
# DRF's CharField refuses NUL characters, and (trimming whitespace) blank text unless allow_blank.
# Non-empty on purpose: drf-spectacular adds `oneOf: [this, {maxLength: 0}]` for allow_blank fields,
# and "" must match exactly one branch.
NO_NUL_PATTERN = r"^[^\x00]+$"
NON_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable snake_case error code.")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Only for validation errors: field -> reason."
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "ErrorEnvelope"


_ERROR_DESCRIPTIONS = {
    "400": "Invalid data (`invalid_data` with `fields`), or a rule on the request such as `insufficient_hi5_balance`.",
    "401": "`invalid_token`: missing, malformed, expired or revoked token.",
    "403": "`access_denied`: the caller's role does not allow this.",
    "404": "`not_found`: unknown id, or an id of another organisation.",
    "406": "`unsupported_version`: the Accept header names an unknown API version.",
    "409": "A duplicate (`already_reported`, `already_hi5`, ...), or `idempotency_in_progress`.",
    "411": "`length_required`: send the body with a Content-Length header (chunked bodies are refused).",
    "413": "`payload_too_large`: the body is over the size limit.",
    "415": "`unsupported_media_type`: send application/json.",
    "422": "A business rule refuses the request, or `idempotency_key_reused`.",
    "429": "`rate_limited`: retry after the `Retry-After` header's seconds.",
    "503": "A dependency (database, Google) is unavailable.",
}


class EnvelopeAutoSchema(AutoSchema):
    """Wraps success bodies in {"data": ...} and declares the errors every endpoint can answer.

    The errors an operation answers come from its shape (a body, a list, authentication, an id in the
    path) and from what its handler's services and selectors raise (peerly/api/raises.py): views list none.
    """

    def map_renderers(self, attribute):
        return ["application/json", VENDOR_MEDIA_TYPE]

    def _get_request_body(self, direction="request"):
        """A JSON body is required whenever there is one: an absent body is never what a client means."""
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """Strings the API refuses are not schema-valid: NUL characters, and blanks where trimmed text is required.
        Nested lists state their size rules."""
        if isinstance(field, HttpUrlField):
            url = {"type": "string", "pattern": HTTP_URL_PATTERN, "maxLength": field.max_length or 2000}
            schema = {"oneOf": [url, {"type": "string", "maxLength": 0}]} if field.allow_blank else url
            return schema | ({"readOnly": True} if field.read_only else {})
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        plain_string = (
            schema.get("type") == "string"
            and not {"pattern", "format", "enum", "oneOf"} & set(schema)
            and not any(isinstance(v, RegexValidator) for v in getattr(field, "validators", ()))
        )
        if direction == "request" and isinstance(field, serializers.CharField) and plain_string:
            required_text = field.trim_whitespace and not field.allow_blank
            schema["pattern"] = NON_BLANK_PATTERN if required_text else NO_NUL_PATTERN
        # drf-spectacular leaves out a nested `many=True` serializer's size rules; state them.
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            min_items = field.min_length if field.min_length is not None else (0 if field.allow_empty else 1)
            if min_items:
                schema["minItems"] = min_items
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        """Merges a request serializer's `openapi_extra` (rules across fields, e.g. `anyOf` required)."""
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        extra = getattr(force_instance(serializer), "openapi_extra", None)
        if extra and direction == "request":
            schema.update(copy.deepcopy(extra))
        return schema

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        if not status_code.startswith("2"):
            return response
        for content in response.get("content", {}).values():
            schema = content.get("schema", {})
            if "$ref" in schema and schema["$ref"].rsplit("/", 1)[-1].startswith("Paginated"):
                continue
            content["schema"] = {"type": "object", "required": ["data"], "properties": {"data": schema}}
        return response

    def _handler(self):
        return getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)

    def _handler_is_idempotent(self) -> bool:
        from peerly.api.idempotency import is_idempotent  # imports the models: not at settings time

        return self.method == "POST" and is_idempotent(self._handler())

    def _raised_codes(self) -> dict[str, list[str]]:
        """Status -> the error codes the handler's services and selectors raise (peerly/api/raises.py)."""
        handler = self._handler()
        codes: dict[str, set[str]] = {}
        for error in errors_raised_by(handler, self.method) if handler is not None else ():
            codes.setdefault(str(error.status_code), set()).add(error.code)
        return {status: sorted(found) for status, found in codes.items()}

    def get_override_parameters(self):
        """A handler decorated with `@idempotent` accepts the Idempotency-Key header."""
        parameters = list(super().get_override_parameters())
        if self._handler_is_idempotent():
            from peerly.api.idempotency import KEY_HEADER, KEY_PATTERN

            parameters.append(
                OpenApiParameter(
                    KEY_HEADER,
                    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
                    location=OpenApiParameter.HEADER,
                    required=False,
                    description="Makes a retry safe: the same key again (within 24 h) replays the first answer "
                    "(with `Idempotent-Replayed: true`) and writes nothing. 1-255 printable ASCII characters; "
                    "a new UUID per attempt is a good key.",
                )
            )
        return parameters

    def _error_statuses(self) -> list[str]:
        statuses = ["406", "429"]
        if self._handler_is_idempotent():
            statuses += ["409", "422"]
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += ["400", "411", "413", "415"]
        elif self.method == "GET" and self._is_list_view():
            statuses.append("400")
        if self.view.get_authenticators():
            statuses += ["401", "403"]
        statuses += list(self._raised_codes())
        if "{id}" in self.path or "{" in self.path:
            statuses.append("404")
        return sorted(set(statuses))

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        raised = self._raised_codes()
        for status in self._error_statuses():
            if status not in responses:
                description = _ERROR_DESCRIPTIONS[status]
                if raised.get(status):
                    description += " Here: " + ", ".join(f"`{code}`" for code in raised[status]) + "."
                responses[status] = self._get_response_for_code(
                    OpenApiResponse(ErrorEnvelopeSerializer, description=description), status
                )
        return responses


class PeerlyJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.PeerlyJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The token from `POST /oauth/google` (or `manage.py issue_token`).",
        }


def strip_trailing_slashes(result, generator, request, public):
    """Routes accept an optional trailing slash; document the contract's canonical path without it."""
    result["paths"] = {(path.rstrip("/") or "/"): item for path, item in result["paths"].items()}
    return result


def plain_version(result, generator, request, public):
    """`info.version` is the API version ("1"), not drf-spectacular's "1 (1)" when a request names it."""
    from drf_spectacular.settings import spectacular_settings

    result["info"]["version"] = spectacular_settings.VERSION
    return result
