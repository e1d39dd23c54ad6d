import pytest
from rest_framework.test import APIClient

from integrations.services import api_key_create

V1 = "application/vnd.peerly.v1"


@pytest.fixture
def make_key(org_admin):
    """make_key(scopes=[...], organization=..., **kwargs) -> (ApiKey, secret)."""

    def make(scopes=("users:read",), organization=None, **kwargs):
        return api_key_create(
            organization=organization or org_admin.organization,
            created_by=kwargs.pop("created_by", org_admin),
            name=kwargs.pop("name", "HRIS"),
            scopes=list(scopes),
            **kwargs,
        )

    return make


def key_client(secret: str, header: str = "bearer") -> APIClient:
    client = APIClient(HTTP_ACCEPT=V1)
    if header == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    else:
        client.credentials(HTTP_X_API_KEY=secret)
    return client


@pytest.fixture
def as_key():
    """as_key(secret, header="bearer"|"x-api-key") -> an API client sending that API key."""
    return key_client
