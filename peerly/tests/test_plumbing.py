"""Versioning, envelopes and errors that every endpoint shares."""

import logging

import pytest
from django.db import DatabaseError
from rest_framework.test import APIClient

from accounts.tokens import token_encode

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw_client(employee):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_encode(employee).token}")
    return client


class TestVersioning:
    @pytest.mark.parametrize(
        "accept",
        [
            "application/vnd.peerly.v1",
            "application/vnd.peerly.v1+json",
            "application/json",
            "*/*",
            None,
            "text/html,application/xhtml+xml,*/*;q=0.8",
        ],
    )
    def test_supported(self, raw_client, employee, accept):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = raw_client.get("/users/me", **headers)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["data"]["id"] == employee.pk

    @pytest.mark.parametrize("accept", ["application/vnd.peerly.v9", "application/vnd.peerly.v2+json"])
    def test_unknown_version_is_406(self, raw_client, accept):
        response = raw_client.get("/users/me", HTTP_ACCEPT=accept)
        assert response.status_code == 406
        assert response.json()["error"]["code"] == "unsupported_version"

    def test_unknown_version_on_public_endpoint(self):
        response = APIClient().get("/health", HTTP_ACCEPT="application/vnd.peerly.v9")
        assert response.status_code == 406
        assert response.json()["error"]["code"] == "unsupported_version"


class TestErrors:
    def test_unknown_path_is_json_404(self, api_client):
        response = api_client.get("/no/such/thing")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "Not found"}}

    def test_malformed_json(self, as_user, employee):
        response = as_user(employee).generic("PUT", "/users/me", '{"first_name": ', content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_data"

    def test_non_object_json(self, as_user, employee):
        response = as_user(employee).generic("PUT", "/users/me", "[1, 2]", content_type="application/json")
        assert response.status_code == 400

    def test_deeply_nested_json(self, as_user, employee):
        body = "[" * 5000 + "]" * 5000
        response = as_user(employee).generic("PUT", "/users/me", '{"a": ' + body + "}", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_data"

    def test_wrong_content_type(self, as_user, employee):
        response = as_user(employee).generic(
            "PUT", "/users/me", "first_name=x", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 415
        assert response.json()["error"]["code"] == "unsupported_media_type"

    def test_body_over_limit_is_413(self, as_user, employee, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        body = '{"first_name": "' + "x" * 2000 + '"}'
        response = as_user(employee).generic("PUT", "/users/me", body, content_type="application/json")
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"

    def test_unexpected_error_is_json_500_with_request_id_logged(self, as_user, employee, monkeypatch, caplog):
        def explode(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr("accounts.selectors.requested_organization_id", explode)
        client = as_user(employee)
        client.raise_request_exception = False
        with caplog.at_level(logging.ERROR, logger="peerly.errors"):
            response = client.get("/users", HTTP_X_REQUEST_ID="req-123")
        assert response.status_code == 500
        assert response.json() == {"error": {"code": "internal_error", "message": "Internal server error"}}
        assert "boom" not in response.content.decode()
        assert response["X-Request-ID"] == "req-123"
        assert any(getattr(r, "request_id", None) == "req-123" for r in caplog.records)

    def test_request_id_generated_when_absent(self, api_client):
        response = api_client.get("/health")
        assert len(response["X-Request-ID"]) == 32


class TestHealth:
    def test_ok(self, api_client):
        response = api_client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"data": {"status": "ok", "database": "ok"}}

    def test_database_down_is_503(self, api_client, monkeypatch):
        def broken_cursor(*args, **kwargs):
            raise DatabaseError("connection refused")

        monkeypatch.setattr("peerly.api.views.connection.cursor", broken_cursor)
        response = api_client.get("/health")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"


class TestDocs:
    def test_schema_is_openapi3_with_vendor_type_bearer_and_error_envelope(self, api_client):
        response = APIClient().get("/api/schema", HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        assert "bearerAuth" in schema["components"]["securitySchemes"]
        assert "ErrorEnvelope" in schema["components"]["schemas"]
        me = schema["paths"]["/users/me"]["get"]["responses"]
        assert "application/vnd.peerly.v1+json" in me["200"]["content"]
        assert me["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")

    @pytest.mark.parametrize("accept", ["application/vnd.peerly.v1", "application/json", "application/yaml"])
    def test_schema_version_and_download_name_are_plain(self, accept):
        response = APIClient().get("/api/schema", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        suffix = "yaml" if accept.endswith("yaml") else "json"
        assert response["Content-Disposition"] == f'inline; filename="Peerly API.{suffix}"'
        if suffix == "json":
            assert response.json()["info"]["version"] == "1"
        else:
            assert "\n  version: '1'\n" in response.content.decode()

    def test_swagger_ui_is_served_offline(self, client):
        response = client.get("/api/docs")
        assert response.status_code == 200
        html = response.content.decode()
        assert "swagger-ui" in html
        assert "cdn" not in html.lower()


class TestPaths:
    @pytest.mark.parametrize("path", ["/health", "/health/", "/api/schema", "/api/schema/"])
    def test_public_paths_tolerate_a_trailing_slash_without_redirect(self, path):
        assert APIClient().get(path, HTTP_ACCEPT="application/json").status_code == 200

    def test_docs_with_slash(self, client):
        assert client.get("/api/docs/").status_code == 200

    @pytest.mark.parametrize("path", ["/logout", "/logout/"])
    def test_logout_with_or_without_slash(self, as_user, employee, path):
        assert as_user(employee).post(path).status_code == 200

    def test_sign_in_path_with_slash_is_routed(self, api_client):
        response = api_client.post("/oauth/google/", {}, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_data")

    @pytest.mark.parametrize("accept", ["application/vnd.peerly.v1", "application/vnd.peerly.v1+json"])
    def test_schema_answers_the_vendor_type_as_json(self, accept):
        response = APIClient().get("/api/schema", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response.json()["openapi"].startswith("3.")


class TestGenericErrors:
    """One table (GENERIC_ERRORS) gives the code and message of every generic status, wherever it is answered."""

    @pytest.mark.parametrize(
        ("method", "path", "body", "content_type", "status"),
        [
            ("get", "/no/such/path", None, None, 404),  # Django's own 404, rewritten by the middleware
            ("delete", "/logout", None, None, 405),  # DRF's MethodNotAllowed
            ("post", "/recognitions", "x", "text/plain", 415),  # DRF's UnsupportedMediaType
        ],
    )
    def test_generic_statuses_answer_the_table(self, as_user, employee, method, path, body, content_type, status):
        from peerly.api.exceptions import GENERIC_ERRORS

        client = as_user(employee)
        kwargs = {"data": body, "content_type": content_type} if body is not None else {}
        response = getattr(client, method)(path, **kwargs)
        code, message = GENERIC_ERRORS[status]
        assert response.status_code == status
        assert response.json() == {"error": {"code": code, "message": message}}
