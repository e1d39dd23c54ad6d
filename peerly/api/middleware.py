import logging
import re
import time
import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse

from peerly.api.exceptions import GENERIC_ERRORS, error_body
from peerly.api.logging import request_id_var, request_var

access_logger = logging.getLogger("peerly.access")
error_logger = logging.getLogger("peerly.errors")

REQUEST_ID_HEADER = "X-Request-ID"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

# Paths served as HTML (the admin and the Swagger UI) keep Django's own error pages.
HTML_PREFIXES = ("/admin/", "/api/docs", "/static/", "/notifications/unsubscribe")  # pages for people


class RequestIdMiddleware:
    """Accepts or generates X-Request-ID, echoes it, and writes one JSON access-log line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        request_token = request_var.set(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            user = getattr(request, "peerly_user", None)
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": getattr(user, "id", None),
                    "org_id": getattr(user, "organization_id", None),
                    "request_id": request_id,
                },
            )
            return response
        finally:
            request_id_var.reset(token)
            request_var.reset(request_token)


class RequireContentLengthMiddleware:
    """Refuses a chunked request body (no Content-Length) with 411 `length_required`.

    Under WSGI, Django reads no more than Content-Length bytes, so a chunked body would silently
    parse as empty and answer a misleading validation error. Bodies with a Content-Length are
    bounded by PEERLY_MAX_BODY_BYTES (413) before they are read. Other methods' bodies are ignored.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        has_length = bool(request.META.get("CONTENT_LENGTH"))
        if chunked and not has_length and request.method in BODY_METHODS and not request.path.startswith(HTML_PREFIXES):
            return JsonResponse(error_body(*GENERIC_ERRORS[411]), status=411)
        return self.get_response(request)


class JsonErrorMiddleware:
    """Errors produced outside DRF (unknown paths, oversized bodies, crashes) become the JSON envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or request.path.startswith(HTML_PREFIXES):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code, message = GENERIC_ERRORS.get(response.status_code, ("error", response.reason_phrase))
        return JsonResponse(error_body(code, message), status=response.status_code)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(HTML_PREFIXES):
            return None
        error_logger.exception("Unhandled error in %s %s", request.method, request.path)
        return JsonResponse(error_body(*GENERIC_ERRORS[500]), status=500)
