from django.urls import path

from accounts import backoffice_views

urlpatterns = [
    path("login/", backoffice_views.google_login, name="admin-google-login"),
    path("callback/", backoffice_views.google_callback, name="admin-google-callback"),
]
