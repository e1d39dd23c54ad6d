"""The back office's admin site: Django's, with failed password logins limited.

Failed attempts count per client IP and per account (peerly/api/ratelimit.py); at either limit the
login page answers 429 with `Retry-After` and a clear message, even with the right password, until
the window ends. The page offers "Sign in with Google" where it is configured
(accounts/backoffice_views.py). Successful logins count nothing and reset nothing (an attacker's success on one
account cannot clear another account's counter).
"""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from peerly.api.ratelimit import admin_login_limits, limits_refund, limits_take


class PeerlyAdminSite(admin.AdminSite):
    site_header = "Peerly administration"
    site_title = "Peerly administration"
    index_title = "Back office"
    # The API has no HTML home page to link to.
    site_url = None

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        from accounts.google import google_sign_in_configured  # the apps load after the admin site

        extra_context = {**(extra_context or {}), "google_sign_in": google_sign_in_configured()}
        if request.method != "POST":
            return super().login(request, extra_context)
        limits = admin_login_limits(request, request.POST.get("username", ""))
        retry_after = limits_take(request, limits)  # counted before the password is checked
        if retry_after is not None:
            return self.too_many_attempts(request, retry_after)
        response = super().login(request, extra_context)
        if response.status_code == 302:  # signed in: a success counts nothing
            limits_refund(limits)
        return response

    def too_many_attempts(self, request: HttpRequest, retry_after: int) -> HttpResponse:
        context = {
            **self.each_context(request),
            "title": "Too many sign-in attempts",
            "retry_after_minutes": max(1, -(-retry_after // 60)),
        }
        response = TemplateResponse(request, "admin/too_many_attempts.html", context, status=429)
        response["Retry-After"] = str(retry_after)
        return response
