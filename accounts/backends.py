"""The authentication backend of back-office sessions opened by the Google sign-in.

It authenticates nothing itself (`accounts/backoffice_views.py` verifies Google's answer and calls
`django.contrib.auth.login` with it); Django asks it for the session's user on every request, so a
member deleted since then is signed out and a demoted one loses the admin (`User.is_staff`).
"""

from django.contrib.auth.backends import ModelBackend


class GoogleBackOfficeBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        return None  # never a password
