"""One JSON access line per request, and error lines, all carrying the request id."""

import io
import json
import logging

import pytest

from peerly.api.logging import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db

ACCESS_FIELDS = {"time", "level", "logger", "message", "method", "path", "status", "duration_ms", "user_id", "org_id"}


@pytest.fixture
def log_lines():
    """The lines the project's JSON formatter writes, parsed back: lines() -> [dict, ...]."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "peerly.access"]


def test_success_line(as_user, employee, log_lines):
    response = as_user(employee).get("/users/me?limit=1", HTTP_X_REQUEST_ID="client-req.42")

    [line] = access_lines(log_lines())
    assert response["X-Request-ID"] == "client-req.42"
    assert set(line) >= ACCESS_FIELDS
    assert line["level"] == "INFO"
    assert line["message"] == "GET /users/me 200"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/users/me", 200)
    assert (line["user_id"], line["org_id"]) == (employee.pk, employee.organization_id)
    assert line["request_id"] == "client-req.42"
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0


def test_401_line_has_no_user(api_client, log_lines):
    response = api_client.get("/users/me", HTTP_AUTHORIZATION="Bearer nonsense")

    [line] = access_lines(log_lines())
    assert response.status_code == 401
    assert (line["status"], line["user_id"], line["org_id"]) == (401, None, None)
    assert line["request_id"] == response["X-Request-ID"]
    assert len(line["request_id"]) == 32


def test_validation_error_line(as_user, employee, log_lines):
    response = as_user(employee).put("/users/me", {"first_name": ""}, format="json")

    [line] = access_lines(log_lines())
    assert response.status_code == 400
    assert (line["method"], line["status"], line["user_id"]) == ("PUT", 400, employee.pk)


def test_unknown_path_line(api_client, log_lines):
    api_client.get("/no/such/path", HTTP_X_REQUEST_ID="r1")

    [line] = access_lines(log_lines())
    assert (line["path"], line["status"], line["request_id"]) == ("/no/such/path", 404, "r1")


@pytest.mark.parametrize("incoming", ["has space", "x" * 129, "semi;colon", "\u00e9"])
def test_unsafe_request_id_is_replaced(api_client, log_lines, incoming):
    response = api_client.get("/health", HTTP_X_REQUEST_ID=incoming)

    [line] = access_lines(log_lines())
    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32
    assert line["request_id"] == response["X-Request-ID"]


def test_server_error_is_logged_with_request_id_and_traceback(as_user, employee, monkeypatch, log_lines):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("accounts.selectors.requested_organization_id", explode)
    client = as_user(employee)
    client.raise_request_exception = False

    response = client.get("/users", HTTP_X_REQUEST_ID="req-500")

    lines = log_lines()
    [error] = [line for line in lines if line["logger"] == "peerly.errors"]
    [access] = access_lines(lines)
    assert response.status_code == 500
    assert (error["level"], error["request_id"]) == ("ERROR", "req-500")
    assert error["message"] == "Unhandled error in GET /users"
    assert "RuntimeError: boom" in error["exc_info"]
    assert (access["status"], access["request_id"], access["user_id"]) == (500, "req-500", employee.pk)


def test_error_outside_drf_is_logged_with_request_id(client, monkeypatch, log_lines):
    """A crash in plain Django (not a DRF view) goes through JsonErrorMiddleware."""

    def explode(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr("peerly.api.views.HealthView.dispatch", explode)
    client.raise_request_exception = False

    response = client.get("/health", HTTP_X_REQUEST_ID="req-django")

    lines = log_lines()
    [error] = [line for line in lines if line["logger"] == "peerly.errors"]
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "Internal server error"}}
    assert error["request_id"] == "req-django"
    assert "RuntimeError: kaboom" in error["exc_info"]
    assert access_lines(lines)[0]["status"] == 500
