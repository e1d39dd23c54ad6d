"""Google sign-in: an OAuth access token (checked at the userinfo endpoint) or an ID token (the API's
and the back office's authorization-code flow, each with its own client id).

ID tokens are verified by google-auth against the certificates at PEERLY_GOOGLE_CERTS_URL and the
configured client ids. Certificates are fetched through an HTTP cache that honours Google's
Cache-Control, so a sign-in does not fetch them every time.
"""

import hmac
import logging
import re
from dataclasses import dataclass

import cachecontrol
import google.auth.exceptions
import requests
from django.conf import settings
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import id_token as google_id_token

from peerly.api.exceptions import InvalidToken, ServiceUnavailable

# RFC 6750 b64token: what an OAuth bearer token may contain (Google's are "ya29." + URL-safe characters).
ACCESS_TOKEN_PATTERN = r"[A-Za-z0-9\-._~+/]+=*"

logger = logging.getLogger(__name__)


class GoogleUnavailable(ServiceUnavailable):
    code = "google_unavailable"
    message = "Google could not be reached to verify the sign-in; try again shortly"


@dataclass(frozen=True)
class GoogleProfile:
    email: str
    email_verified: bool
    given_name: str
    family_name: str
    name: str
    picture: str


class _TimeoutSession(requests.Session):
    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", settings.PEERLY_GOOGLE_TIMEOUT_SECONDS)
        return super().request(*args, **kwargs)


# One cached session per process for the public certificates (never for userinfo: that is per user).
_certs_session = cachecontrol.CacheControl(_TimeoutSession())
_userinfo_session = _TimeoutSession()


def _is_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _profile_from_claims(claims: dict) -> GoogleProfile:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise InvalidToken("The Google account has no email address")

    def text(key: str) -> str:
        value = claims.get(key)
        return value.strip()[:100] if isinstance(value, str) else ""

    return GoogleProfile(
        email=email.strip().lower(),
        email_verified=_is_true(claims.get("email_verified")),
        given_name=text("given_name"),
        family_name=text("family_name"),
        name=text("name"),
        picture=claims.get("picture") if isinstance(claims.get("picture"), str) else "",
    )


def _verified_id_token_claims(token: str, audience: str | list[str]) -> dict:
    try:
        claims = google_id_token.verify_token(
            token,
            GoogleRequest(session=_certs_session),
            audience=audience,
            certs_url=settings.PEERLY_GOOGLE_CERTS_URL,
        )
    except google.auth.exceptions.TransportError:
        logger.warning("Google certificates unreachable", exc_info=True)
        raise GoogleUnavailable() from None
    except (ValueError, google.auth.exceptions.GoogleAuthError):
        raise InvalidToken() from None
    if claims.get("iss") not in settings.PEERLY_GOOGLE_ISSUERS:
        raise InvalidToken()
    return claims


def google_profile_from_id_token(token: str) -> GoogleProfile:
    client_ids = settings.PEERLY_GOOGLE_CLIENT_IDS
    if not client_ids:
        # Without an audience google-auth would accept a token minted for any client.
        logger.error("ID-token sign-in refused: PEERLY_GOOGLE_CLIENT_IDS is not set")
        raise InvalidToken("Sign-in with an ID token is not configured")
    return _profile_from_claims(_verified_id_token_claims(token, client_ids))


def google_sign_in_configured() -> bool:
    """Whether the back office offers "Sign in with Google" (its web client is configured)."""
    return bool(settings.PEERLY_GOOGLE_OAUTH_CLIENT_ID and settings.PEERLY_GOOGLE_OAUTH_CLIENT_SECRET)


def google_profile_from_oauth_id_token(token: str, *, nonce: str) -> GoogleProfile:
    """The ID token of the back office's authorization-code flow: minted for its own client id and
    carrying the nonce that flow sent (a token replayed from another sign-in does not)."""
    claims = _verified_id_token_claims(token, settings.PEERLY_GOOGLE_OAUTH_CLIENT_ID)
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
        raise InvalidToken("The Google sign-in does not match this browser's request")
    return _profile_from_claims(claims)


def google_profile_from_access_token(token: str) -> GoogleProfile:
    if not re.fullmatch(ACCESS_TOKEN_PATTERN, token):
        raise InvalidToken()  # never put control or non-ASCII characters in a header to Google
    try:
        response = _userinfo_session.get(
            settings.PEERLY_GOOGLE_USERINFO_URL, headers={"Authorization": f"Bearer {token}"}
        )
    except requests.RequestException:
        logger.warning("Google userinfo unreachable", exc_info=True)
        raise GoogleUnavailable() from None
    if response.status_code in (400, 401, 403):
        raise InvalidToken()
    if response.status_code != 200:
        logger.warning("Google userinfo answered %s", response.status_code)
        raise GoogleUnavailable()
    try:
        claims = response.json()
    except ValueError:
        raise GoogleUnavailable() from None
    if not isinstance(claims, dict):
        raise GoogleUnavailable()
    return _profile_from_claims(claims)
