"""The back office's second factor pages, between a password sign-in and the admin (accounts/two_factor.py).

`/admin/two-factor/` asks for a code from the authenticator app (or a recovery code);
`/admin/two-factor/enrol/` is the first time: a QR code to scan, a code to confirm it, then the
recovery codes, shown once; `/admin/two-factor/sign-out/` leaves (the admin's own logout is behind the
second factor too). Codes count against the admin's login limits, per account and per client IP, like
passwords; every refusal is audited (accounts.services).
"""

import math
import time
from base64 import b32encode
from functools import wraps
from urllib.parse import urlencode

import django_otp
from django.contrib import admin
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from accounts import services
from accounts.backoffice_views import safe_next_url
from accounts.selectors import staff_has_authenticator
from accounts.two_factor import qr_code_svg, second_factor_pending
from peerly.api.ratelimit import admin_login_limits, limits_refund, limits_take

WRONG_CODE = "That code is not right, or it was used already. Wait for the next code and try again."
ENROLMENT_SESSION_KEY = "peerly_totp_enrolment"
ENROLMENT_KEY_SECONDS = 10 * 60


def next_url(request: HttpRequest) -> str:
    """Where to go once the second factor is passed: `next` on this site only, else the admin's index."""
    return safe_next_url(request, request.GET.get("next", ""))


def two_factor_url(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}" if next_url else reverse(name)


def _second_factor_pending(view):
    """Only for a staff session that still owes its second factor; anyone else goes where they belong."""

    @wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated or not request.user.is_staff:
            return HttpResponseRedirect(resolve_url("admin:login"))
        if not second_factor_pending(request):
            return HttpResponseRedirect(next_url(request))
        return view(request)

    return wrapped


def _page(request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
    context = {**admin.site.each_context(request), "title": title, "next": next_url(request), **context}
    return TemplateResponse(request, f"admin/{template}", context)


def _attempt(request: HttpRequest):
    """Count one code against the admin's login limits (account and address): the limits to refund
    on success, and the 429 page when a limit is reached."""
    limits = admin_login_limits(request, request.user.email)
    retry_after = limits_take(request, limits)
    return limits, (admin.site.too_many_attempts(request, retry_after) if retry_after is not None else None)


def _verified(request: HttpRequest, device) -> None:
    request.session.cycle_key()  # a new session id for the session that may now open the admin
    django_otp.login(request, device)


def _wrong_code(user) -> str:
    locked_until = services.staff_second_factor_locked_until(user=user)
    if locked_until is not None:
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
        return f"{WRONG_CODE} After wrong codes, the next try waits: {seconds} second{pluralize(seconds)} from now."
    return WRONG_CODE


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@_second_factor_pending
def verify(request: HttpRequest) -> HttpResponse:
    if not staff_has_authenticator(request.user):
        return HttpResponseRedirect(two_factor_url("admin-two-factor-enrol", next_url(request)))
    error = ""
    if request.method == "POST":
        limits, refused = _attempt(request)
        if refused is not None:
            return refused
        device = services.staff_second_factor_verify(
            user=request.user, code=request.POST.get("code", ""), request=request
        )
        if device is not None:
            limits_refund(limits)
            _verified(request, device)
            return HttpResponseRedirect(next_url(request))
        error = _wrong_code(request.user)
    return _page(request, "two_factor_verify.html", "Two-factor sign-in", error=error)


def _enrolment_key(request: HttpRequest) -> str:
    """The secret this session shows while enrolling: kept in the session only (never in the database
    before it is confirmed, never shown to another session), renewed after ENROLMENT_KEY_SECONDS."""
    pending = request.session.get(ENROLMENT_SESSION_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("created", 0) > ENROLMENT_KEY_SECONDS:
        pending = {"key": random_hex(20), "created": time.time()}
        request.session[ENROLMENT_SESSION_KEY] = pending
    return pending["key"]


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@_second_factor_pending
def enrol(request: HttpRequest) -> HttpResponse:
    if staff_has_authenticator(request.user):  # enrolment never replaces an authenticator
        return HttpResponseRedirect(two_factor_url("admin-two-factor", next_url(request)))
    key = _enrolment_key(request)
    error = ""
    if request.method == "POST":
        limits, refused = _attempt(request)
        if refused is not None:
            return refused
        code = request.POST.get("code", "")
        enrolled = services.staff_totp_enrol(user=request.user, key=key, code=code, request=request)
        if enrolled is not None:
            device, recovery_codes = enrolled
            limits_refund(limits)
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            _verified(request, device)
            title = "Your recovery codes"
            return _page(request, "two_factor_recovery_codes.html", title, recovery_codes=recovery_codes)
        error = WRONG_CODE
    shown = TOTPDevice(user=request.user, key=key)  # not saved: only its otpauth:// URL and key are shown
    secret = b32encode(shown.bin_key).decode()
    return _page(
        request,
        "two_factor_enrol.html",
        "Set up two-factor sign-in",
        error=error,
        qr_code=qr_code_svg(shown.config_url),
        otpauth_url=shown.config_url,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    )


@never_cache
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(resolve_url("admin:login"))
