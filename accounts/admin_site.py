"""The back office's admin site: Django's, with failed password logins limited.

Failed attempts count per client IP and per account (peerly/api/ratelimit.py); at either limit the
login page answers 429 with `Retry-After` and a clear message, even with the right password, until
the window ends. The page offers "Sign in with Google" where it is configured
(accounts/backoffice_views.py). Successful logins count nothing and reset nothing (an attacker's
success on one account cannot clear another account's counter). Where the second factor is required
(accounts/two_factor.py), a right password leads to the code page, and no admin page opens before
the code.
"""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from peerly.api.ratelimit import admin_login_limits, limits_refund, limits_take


class PeerlyAdminAuthenticationForm(AdminAuthenticationForm):
    # One answer for every refused password, whatever the domain (it must not tell which domains are
    # customers, or which of them sign in with Google only), pointing to Google sign-in.
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter the correct %(username)s and password for a staff account. Where your "
            'organisation signs in with Google only, a password cannot work: use "Sign in with Google".'
        ),
    }


class PeerlyAdminSite(admin.AdminSite):
    site_header = "Peerly administration"
    site_title = "Peerly administration"
    index_title = "Back office"
    # The API has no HTML home page to link to.
    site_url = None
    login_form = PeerlyAdminAuthenticationForm

    def get_app_list(self, request: HttpRequest, app_label=None):
        """The apps, and for organisation admins (and super admins) the Insights page first."""
        from accounts.models import ADMIN_ROLES

        app_list = super().get_app_list(request, app_label)
        if app_label is None and getattr(request.user, "role_id", None) in ADMIN_ROLES:
            url = reverse("admin-insights")
            page = {"name": "Dashboard", "object_name": "InsightsDashboard", "admin_url": url, "view_only": True}
            page |= {"perms": {"view": True}, "add_url": None}
            app_list.insert(0, {"name": "Insights", "app_label": "insights", "app_url": url, "models": [page]})
        return app_list

    def has_permission(self, request: HttpRequest) -> bool:
        from accounts.two_factor import second_factor_pending

        # A password session that owes its second factor opens no admin page (its logout neither:
        # the two-factor pages have their own sign-out).
        return super().has_permission(request) and not second_factor_pending(request)

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        from accounts.google import google_sign_in_configured  # the apps load after the admin site
        from accounts.two_factor import second_factor_pending
        from accounts.two_factor_views import two_factor_url

        extra_context = {**(extra_context or {}), "google_sign_in": google_sign_in_configured()}
        if request.method != "POST":
            if request.user.is_staff and second_factor_pending(request):  # signed in, code still owed
                return HttpResponseRedirect(two_factor_url("admin-two-factor", request.GET.get("next", "")))
            return super().login(request, extra_context)
        limits = admin_login_limits(request, request.POST.get("username", ""))
        retry_after = limits_take(request, limits)  # counted before the password is checked
        if retry_after is not None:
            return self.too_many_attempts(request, retry_after)
        response = super().login(request, extra_context)
        if response.status_code == 302:  # signed in: a success counts nothing
            limits_refund(limits)
            if second_factor_pending(request):  # the password was right; now the code
                return HttpResponseRedirect(two_factor_url("admin-two-factor", response.url))
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
