"""The admin's password login is limited: failed attempts per client IP and per account (#13).

Client addresses are loopback ones given as REMOTE_ADDR to Django's in-process test client: nothing connects.
"""

import time

import pytest
import time_machine
from django.test import Client

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.PEERLY_RATE_LIMIT_ADMIN_LOGIN_ACCOUNT = "3/h"
    settings.PEERLY_RATE_LIMIT_ADMIN_LOGIN_IP = "5/h"
    with time_machine.travel(time.time(), tick=False):  # one fixed window for the whole test
        yield


def staff(organization):
    organization.staff_password_sign_in = True
    organization.save()
    user = UserFactory(organization=organization, moderator=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def login(email: str, password: str, ip: str = "127.0.0.1"):
    return Client(REMOTE_ADDR=ip).post("/admin/login/", {"username": email, "password": password})


def test_an_account_is_paused_after_its_failed_attempts_even_with_the_right_password(organization):
    moderator = staff(organization)
    answers = [login(moderator.email, "wrong", ip=f"127.0.0.{n}").status_code for n in range(3)]
    assert answers == [200, 200, 200]  # the form again, with its error

    refused = login(moderator.email, PASSWORD, ip="127.0.0.99")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in refused.content.decode()


def test_an_address_is_paused_after_its_failed_attempts_on_any_accounts(organization):
    moderator = staff(organization)
    for n in range(5):
        assert login(f"nobody{n}@example.com", "wrong").status_code == 200
    assert login(moderator.email, PASSWORD).status_code == 429
    assert login(moderator.email, PASSWORD, ip="127.0.0.2").status_code == 302  # another address


def test_a_success_does_not_count_and_does_not_reset_another_accounts_counter(organization):
    victim, attacker = staff(organization), staff(organization)
    for n in range(3):
        login(victim.email, "wrong", ip=f"127.0.1.{n}")
    for _ in range(4):
        assert login(attacker.email, PASSWORD, ip="127.0.2.1").status_code == 302  # successes count nothing
    assert login(victim.email, PASSWORD, ip="127.0.3.1").status_code == 429


def test_the_pause_ends_with_the_window(organization):
    moderator = staff(organization)
    for n in range(3):
        login(moderator.email, "wrong", ip=f"127.0.0.{n}")
    assert login(moderator.email, PASSWORD).status_code == 429
    with time_machine.travel(time.time() + 3700, tick=False):
        assert login(moderator.email, PASSWORD).status_code == 302


def test_an_attempt_is_counted_before_the_password_is_checked(organization, monkeypatch):
    """Parallel guesses cannot all pass a check made before any of them is counted: the count comes first."""
    from django.contrib.admin import AdminSite

    moderator = staff(organization)
    seen: list[int] = []

    def login_while_counting(self, request, extra_context=None):
        from peerly.api.ratelimit import _usage, admin_login_limits

        account = admin_login_limits(request, request.POST["username"])[1]
        seen.append(_usage(request, account, increment=False)["count"])
        return original(self, request, extra_context)

    original = AdminSite.login
    monkeypatch.setattr(AdminSite, "login", login_while_counting)
    login(moderator.email, "wrong")
    assert seen == [1]  # already counted while the password is being checked
