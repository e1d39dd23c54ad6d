"""The back office's "Sign in with Google": the OAuth 2.0 authorization-code flow with PKCE (S256),
`state` and `nonce`, by Authlib's client; the ID token it returns is verified by google-auth, as the
API's are (accounts/google.py).

`/admin/google/login/` keeps the verifier, state and nonce in the session and sends the browser to
Google; `/admin/google/callback/` checks the state, exchanges the code (with the verifier and the
client secret), verifies the ID token (audience PEERLY_GOOGLE_OAUTH_CLIENT_ID, this nonce) and opens
a back-office session for organisation admins, moderators and super admins (accounts.services).
Anyone else sees a page saying why, and the refusal is audited and counted against the client's IP
like a wrong password.
"""

import hmac
import logging

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import login
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.errors import BackOfficeSignInRefused
from accounts.google import google_profile_from_oauth_id_token, google_sign_in_configured
from accounts.services import GOOGLE_BACKOFFICE_BACKEND, backoffice_user_for_google
from peerly.api.exceptions import PeerlyError
from peerly.api.ratelimit import admin_google_limits, limits_refund, limits_take

logger = logging.getLogger(__name__)

SESSION_KEY = "peerly_google_oauth"
SCOPE = "openid email profile"


def _oauth_session(request: HttpRequest) -> OAuth2Session:
    return OAuth2Session(
        client_id=settings.PEERLY_GOOGLE_OAUTH_CLIENT_ID,
        client_secret=settings.PEERLY_GOOGLE_OAUTH_CLIENT_SECRET,
        scope=SCOPE,
        redirect_uri=request.build_absolute_uri(reverse("admin-google-callback")),
        code_challenge_method="S256",
    )


def _refused(request: HttpRequest, message: str, *, status: int = 403) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": "Google sign-in refused", "message": message}
    return TemplateResponse(request, "admin/google_sign_in_refused.html", context, status=status)


def safe_next_url(request: HttpRequest, candidate: str) -> str:
    """`candidate` if it is on this site, else the admin's index (never an open redirect)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url("admin:index")


@never_cache
@require_GET
def google_login(request: HttpRequest) -> HttpResponse:
    if not google_sign_in_configured():
        return _refused(request, "Google sign-in is not configured on this server.", status=503)
    verifier, state, nonce = generate_token(64), generate_token(32), generate_token(32)
    url, _ = _oauth_session(request).create_authorization_url(
        settings.PEERLY_GOOGLE_OAUTH_AUTHORIZATION_URL,
        state=state,
        code_verifier=verifier,
        nonce=nonce,
        prompt="select_account",
    )
    request.session[SESSION_KEY] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": safe_next_url(request, request.GET.get("next", "")),
    }
    return HttpResponseRedirect(url)


@never_cache
@require_GET
def google_callback(request: HttpRequest) -> HttpResponse:
    limits = admin_google_limits(request)
    retry_after = limits_take(request, limits)
    if retry_after is not None:
        return admin.site.too_many_attempts(request, retry_after)
    flow = request.session.pop(SESSION_KEY, None)  # one use: a replayed callback finds nothing
    state = request.GET.get("state", "")
    if not isinstance(flow, dict) or not state or not hmac.compare_digest(state, flow["state"]):
        message = "This sign-in link has expired or was not started here. Please sign in again."
        return _refused(request, message, status=400)
    if request.GET.get("error") or not request.GET.get("code"):
        return _refused(request, "Google sign-in was cancelled.", status=400)
    try:
        token = _oauth_session(request).fetch_token(
            settings.PEERLY_GOOGLE_OAUTH_TOKEN_URL,
            grant_type="authorization_code",
            code=request.GET["code"],
            code_verifier=flow["verifier"],
            timeout=settings.PEERLY_GOOGLE_TIMEOUT_SECONDS,
        )
    except OAuthError as error:
        logger.warning("Google refused the authorization code: %s", error.error)
        return _refused(request, "Google did not confirm this sign-in. Please sign in again.", status=400)
    except (requests.RequestException, ValueError):
        logger.warning("Google token endpoint unreachable", exc_info=True)
        return _refused(request, "Google could not be reached; try again shortly.", status=503)
    try:
        profile = google_profile_from_oauth_id_token(str(token.get("id_token", "")), nonce=flow["nonce"])
    except PeerlyError as error:
        return _refused(request, error.message, status=503 if error.status_code == 503 else 400)
    try:
        user = backoffice_user_for_google(profile=profile)
    except BackOfficeSignInRefused as refusal:
        user_login_failed.send(
            sender=__name__, credentials={"username": profile.email, "method": "google"}, request=request
        )
        return _refused(request, refusal.message)
    login(request, user, backend=GOOGLE_BACKOFFICE_BACKEND)
    limits_refund(limits)
    return HttpResponseRedirect(flow["next"])
