"""The back office's own sign-in pages, under /admin/ before the admin's catch-all (peerly/urls.py)."""

from django.urls import path

from accounts import backoffice_views, two_factor_views

urlpatterns = [
    path("google/login/", backoffice_views.google_login, name="admin-google-login"),
    path("google/callback/", backoffice_views.google_callback, name="admin-google-callback"),
    path("two-factor/", two_factor_views.verify, name="admin-two-factor"),
    path("two-factor/enrol/", two_factor_views.enrol, name="admin-two-factor-enrol"),
    path("two-factor/sign-out/", two_factor_views.sign_out, name="admin-two-factor-sign-out"),
]
