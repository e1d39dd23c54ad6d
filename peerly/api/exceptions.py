"""The error family every service raises, and the one handler that renders every error.

Codes are stable snake_case strings: once shipped, a code never changes meaning.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger("peerly.errors")


# The generic HTTP errors, one code and message per status, answered alike by the exception handler
# (DRF views) and peerly.api.middleware (Django's own 404/405/500, and what never reaches a view).
GENERIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_data", "Bad request"),
    401: ("invalid_token", "Unauthorized user"),
    403: ("access_denied", "Permission required"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Cannot answer in the requested media type"),
    411: ("length_required", "Send the request body with a Content-Length header"),
    413: ("payload_too_large", "The request body is too large"),
    415: ("unsupported_media_type", "Send the body as application/json"),
    429: ("rate_limited", "Too many requests; slow down"),
    500: ("internal_error", "Internal server error"),
}


WWW_AUTHENTICATE = 'Bearer realm="peerly"'


class PeerlyError(Exception):
    """Base of every error a service raises on purpose."""

    status_code = 400
    code = "invalid_data"
    message = "Invalid request"

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None):
        self.message = message or self.message
        self.fields = fields
        super().__init__(self.message)


class InvalidData(PeerlyError):
    status_code = 400
    code = "invalid_data"
    message = "Please provide valid data"


class UnknownReference(InvalidData):
    """An id in the request names nothing the caller's organisation has (another organisation's reads the same)."""

    code = "unknown_reference"
    message = "The request refers to something that does not exist"


class InvalidToken(PeerlyError):
    status_code = 401
    code, message = GENERIC_ERRORS[401]


class AccessDenied(PeerlyError):
    status_code = 403
    code, message = GENERIC_ERRORS[403]


class NotFound(PeerlyError):
    status_code = 404
    code, message = GENERIC_ERRORS[404]


class Conflict(PeerlyError):
    status_code = 409
    code = "conflict"
    message = "Conflict with the current state"


class RuleViolation(PeerlyError):
    """A valid request that a business rule refuses (422)."""

    status_code = 422
    code = "unprocessable"
    message = "The request cannot be processed"


class ServiceUnavailable(PeerlyError):
    status_code = 503
    code = "service_unavailable"
    message = "A service Peerly depends on is unavailable; try again shortly"


class RateLimited(PeerlyError):
    status_code = 429
    code, message = GENERIC_ERRORS[429]

    def __init__(self, message: str | None = None, *, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after


# DRF's own exceptions, mapped to the generic errors by status (a malformed body says so).
_DRF_STATUSES: dict[type[drf.APIException], int] = {
    drf.AuthenticationFailed: 401,
    drf.NotAuthenticated: 401,
    drf.PermissionDenied: 403,
    drf.NotFound: 404,
    drf.MethodNotAllowed: 405,
    drf.NotAcceptable: 406,
    drf.UnsupportedMediaType: 415,
    drf.Throttled: 429,
}


def _encodable(text: Any) -> str:
    """Messages may echo the client's input; a lone surrogate in it would make the JSON unencodable."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": _encodable(message)}
    if fields:
        error["fields"] = {_encodable(name): _encodable(reason) for name, reason in fields.items()}
    return {"error": error}


def flatten_validation_errors(detail: Any, prefix: str = "") -> dict[str, str]:
    """Turn DRF's nested ValidationError detail into {"field": "first message"}."""
    fields: dict[str, str] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key == "non_field_errors" and not prefix else f"{prefix}{key}"
            fields.update(flatten_validation_errors(value, f"{name}."))
            if not isinstance(value, (dict, list)):
                fields[name] = str(value)
    elif isinstance(detail, list):
        if detail and all(not isinstance(item, (dict, list)) for item in detail):
            fields[prefix.rstrip(".") or "non_field_errors"] = str(detail[0])
        else:
            for index, item in enumerate(detail):
                fields.update(flatten_validation_errors(item, f"{prefix}{index}."))
    else:
        fields[prefix.rstrip(".") or "non_field_errors"] = str(detail)
    return fields


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Render every exception raised in an API view as the error envelope."""
    from rest_framework.views import set_rollback  # rest_framework.views imports our settings: import late

    headers: dict[str, str] = {}
    if isinstance(exc, PeerlyError):
        status, body = exc.status_code, error_body(exc.code, exc.message, exc.fields)
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, drf.ValidationError):
        status = 400
        body = error_body("invalid_data", "Please provide valid data", flatten_validation_errors(exc.detail))
    elif isinstance(exc, drf.APIException):
        status = exc.status_code
        generic = next((status for klass, status in _DRF_STATUSES.items() if isinstance(exc, klass)), None)
        if isinstance(exc, drf.ParseError):
            code, message = "invalid_data", "Malformed request body"
        elif generic is not None:
            code, message = GENERIC_ERRORS[generic]
        else:
            code, message = str(exc.default_code), str(exc.detail)
        if isinstance(exc, drf.NotAcceptable) and getattr(exc, "peerly_code", None):
            code, message = exc.peerly_code, str(exc.detail)
        body = error_body(code, message)
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    elif isinstance(exc, Http404):
        status, body = 404, error_body(*GENERIC_ERRORS[404])
    elif isinstance(exc, DjangoPermissionDenied):
        status, body = 403, error_body(*GENERIC_ERRORS[403])
    elif isinstance(exc, RequestDataTooBig):
        status, body = 413, error_body(*GENERIC_ERRORS[413])
    else:
        request = context.get("request")
        logger.exception(
            "Unhandled error in %s %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
        )
        status, body = 500, error_body(*GENERIC_ERRORS[500])
    if status == 401:
        # RFC 9110: a 401 names the scheme the client should authenticate with.
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    set_rollback()
    response = Response(body, status=status, headers=headers)
    response.peerly_enveloped = True
    return response
