"""One credential per request, strictly, on every authenticated route of the schema.

A credential header that is present is used, empty or not: an empty or blank one is 401
`invalid_token` (never ignored in favour of the other header), and two credentials are refused.
Public routes (GET /health, POST /oauth/google) take no credential and are not listed here.
"""

import pytest
from rest_framework.test import APIClient

from accounts.tokens import token_encode
from integrations.models import ApiKeyScope
from integrations.services import api_key_create
from tests.openapi import operations
from tests.resources import RESOURCE_BUILDERS, resource_of

pytestmark = pytest.mark.django_db

V1 = "application/vnd.peerly.v1"
AUTHENTICATED = [operation for operation in operations() if not operation.public]


def credential_cases(jwt: str, api_key: str) -> dict[str, dict[str, str]]:
    return {
        "JWT + empty X-API-Key": {"HTTP_AUTHORIZATION": f"Bearer {jwt}", "HTTP_X_API_KEY": ""},
        "JWT + blank X-API-Key": {"HTTP_AUTHORIZATION": f"Bearer {jwt}", "HTTP_X_API_KEY": "   "},
        "API key + empty Authorization": {"HTTP_X_API_KEY": api_key, "HTTP_AUTHORIZATION": ""},
        "JWT + API key": {"HTTP_AUTHORIZATION": f"Bearer {jwt}", "HTTP_X_API_KEY": api_key},
        "empty X-API-Key alone": {"HTTP_X_API_KEY": ""},
        "empty Authorization alone": {"HTTP_AUTHORIZATION": ""},
        "blank Authorization alone": {"HTTP_AUTHORIZATION": "  "},
        "Bearer without a token": {"HTTP_AUTHORIZATION": "Bearer"},
        "Bearer and blanks": {"HTTP_AUTHORIZATION": "Bearer   "},
    }


def test_every_authenticated_route_is_covered():
    assert len(AUTHENTICATED) >= 20


@pytest.mark.parametrize("operation", AUTHENTICATED, ids=str)
def test_a_present_credential_is_used_even_when_empty(operation, org_admin, organization):
    # given a valid JWT and a valid API key with every scope, and an object of the organisation for ids
    jwt = token_encode(org_admin).token
    _, api_key = api_key_create(
        organization=organization, created_by=org_admin, name="HRIS", scopes=list(ApiKeyScope.values)
    )
    builder = RESOURCE_BUILDERS.get(resource_of(operation.path))
    url = operation.url(**dict.fromkeys(operation.path_params, str(builder(organization).pk) if builder else "1"))
    client = APIClient(HTTP_ACCEPT=V1)

    # when each malformed combination of credential headers is sent
    answers = {
        label: client.generic(operation.method, url, b"{}", content_type="application/json", **headers)
        for label, headers in credential_cases(jwt, api_key).items()
    }

    # then every one is refused as an invalid credential, before the route does anything
    refused = {label: (r.status_code, r.json().get("error", {}).get("code")) for label, r in answers.items()}
    assert refused == dict.fromkeys(answers, (401, "invalid_token"))
    assert {r.headers.get("WWW-Authenticate") for r in answers.values()} == {'Bearer realm="peerly"'}


def test_a_request_without_credentials_is_told_how_to_authenticate():
    response = APIClient(HTTP_ACCEPT=V1).get("/users/me")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_token")
    assert response["WWW-Authenticate"] == 'Bearer realm="peerly"'
