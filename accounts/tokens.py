"""Peerly's own JWTs: exactly the contract's claims plus `jti`, signed and checked by simplejwt's backend."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.state import token_backend

from accounts.models import User
from peerly.api.exceptions import InvalidToken

PEERLY_CLAIM = "https://peerly.com"
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti", PEERLY_CLAIM)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


def token_claims_for(user: User, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    issued_at = int(now.timestamp())
    organization = user.organization
    return {
        # iss and aud are added by the backend from settings.
        "sub": str(user.pk),
        "exp": issued_at + int(settings.PEERLY_JWT_LIFETIME.total_seconds()),
        "nbf": issued_at,
        "iat": issued_at,
        "jti": uuid.uuid4().hex,
        PEERLY_CLAIM: {
            "roleId": user.role_id,
            "orgId": organization.pk if organization else None,
            "orgName": organization.name if organization else None,
        },
    }


def token_encode(user: User, *, now: datetime | None = None) -> IssuedToken:
    claims = token_claims_for(user, now=now)
    return IssuedToken(
        token=token_backend.encode(claims),
        jti=claims["jti"],
        expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
    )


def token_decode(raw_token: str | bytes) -> dict[str, Any]:
    """Verify signature, algorithm, issuer, audience, exp and nbf; require every contract claim."""
    try:
        payload = token_backend.decode(raw_token, verify=True)
    except TokenBackendError:
        raise InvalidToken() from None
    if any(claim not in payload for claim in REQUIRED_CLAIMS):
        raise InvalidToken()
    if not isinstance(payload["sub"], str) or not payload["sub"].isdigit() or not isinstance(payload["jti"], str):
        raise InvalidToken()
    return payload
