"""The back office's authentication backends.

`StaffPasswordBackend` is the password sign-in: Django's, for the staff who may use a password
(`User.may_sign_in_with_password`: super admins, and the staff of organisations that chose passwords).
Django also asks it for the session's user on every request, so a session opened with a password ends
as soon as the organisation turns password sign-in off.

`GoogleBackOfficeBackend` authenticates nothing itself (accounts/backoffice_views.py verifies Google's
answer and calls `django.contrib.auth.login` with it); Django asks it for the session's user on every
request, so a member deleted since then is signed out and a demoted one loses the admin (`User.is_staff`).
"""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class _OrganizationLoaded(ModelBackend):
    def get_user(self, user_id):
        user = User.objects.select_related("organization").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


class GoogleBackOfficeBackend(_OrganizationLoaded):
    def authenticate(self, request, username=None, password=None, **kwargs):
        return None  # never a password


class StaffPasswordBackend(_OrganizationLoaded):
    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and user.may_sign_in_with_password
