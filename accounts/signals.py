"""Django's sign-in signals, recorded in the audit trail (by accounts.services).

`user_logged_in` is sent by `django.contrib.auth.login` for every back-office session (password or
Google); `user_login_failed` by `authenticate` for a wrong password, and by the Google sign-in for its
refusals, with `credentials={"username": ..., "method": ...}`. (The two-factor step records its own
outcomes: accounts.services.staff_second_factor_verify.)
"""

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts import services


@receiver(user_logged_in, dispatch_uid="accounts.audit_sign_in")
def _signed_in(sender, request, user, **kwargs) -> None:
    # login() keeps the backend in the session (user.backend is set only by authenticate()).
    backend = request.session.get(BACKEND_SESSION_KEY, "") if request is not None else ""
    services.staff_sign_in_record(user=user, request=request, backend=backend)


@receiver(user_login_failed, dispatch_uid="accounts.audit_sign_in_failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    services.staff_sign_in_failure_record(
        username=str(credentials.get("username", "")),
        method=str(credentials.get("method", "password")),
        request=request,
    )
