"""Rate limits: groups, keys, the 429 envelope with Retry-After, the proxy header, the API-key hook."""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django_ratelimit.core import _get_window
from rest_framework.test import APIClient

from peerly.api.ratelimit import Limit, client_ip, rate_limit_for
from peerly.settings import env_rate
from peerly.startup import warn_about_configuration

pytestmark = pytest.mark.django_db

RATE_LIMITED = {"error": {"code": "rate_limited", "message": "Too many requests; slow down"}}
V1 = "application/vnd.peerly.v1"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _one_window():
    """Fixed windows reset the count at their edge: stop the clock so a slow machine cannot cross one
    between the requests of a test (tests about the window travel on their own)."""
    with time_machine.travel(time.time(), tick=False):
        yield


def sign_in(ip: str, **extra):
    return APIClient(HTTP_ACCEPT=V1).post("/oauth/google", {}, format="json", REMOTE_ADDR=ip, **extra)


class TestReads:
    def test_429_envelope_after_the_limit(self, settings, as_user, employee):
        settings.PEERLY_RATE_LIMIT_READS = "3/m"
        client = as_user(employee)
        statuses = [client.get("/users/me").status_code for _ in range(3)]
        response = client.get("/users/me")
        assert statuses == [200, 200, 200]
        assert response.status_code == 429
        assert response.json() == RATE_LIMITED
        assert 1 <= int(response["Retry-After"]) <= 60

    def test_retry_after_is_the_seconds_until_the_window_resets(self, settings, as_user, employee):
        settings.PEERLY_RATE_LIMIT_READS = "1/m"
        client = as_user(employee)
        with time_machine.travel(time.time(), tick=False):
            expected = _get_window(f"user:{employee.pk}", 60) + 1 - int(time.time())
            client.get("/users/me")
            response = client.get("/users/me")
        assert response.status_code == 429
        assert response["Retry-After"] == str(expected)

    def test_window_reset_lets_requests_through_again(self, settings, as_user, employee):
        settings.PEERLY_RATE_LIMIT_READS = "1/m"
        client = as_user(employee)
        with time_machine.travel(time.time(), tick=False) as traveller:
            assert client.get("/users/me").status_code == 200
            retry_after = int(client.get("/users/me")["Retry-After"])
            traveller.shift(retry_after - 1)
            assert client.get("/users/me").status_code == 429
            traveller.shift(1)
            assert client.get("/users/me").status_code == 200

    def test_per_user(self, settings, as_user, employee, org_admin):
        settings.PEERLY_RATE_LIMIT_READS = "1/m"
        assert as_user(employee).get("/users/me").status_code == 200
        assert as_user(employee).get("/users").status_code == 429
        assert as_user(org_admin).get("/users/me").status_code == 200

    def test_anonymous_reads_are_counted_per_ip(self, settings):
        settings.PEERLY_RATE_LIMIT_READS = "1/m"
        client = APIClient()
        assert client.get("/api/schema", REMOTE_ADDR="10.0.0.1").status_code == 200
        assert client.get("/api/schema", REMOTE_ADDR="10.0.0.1").status_code == 429
        assert client.get("/api/schema", REMOTE_ADDR="10.0.0.2").status_code == 200

    def test_health_is_exempt(self, settings, api_client):
        settings.PEERLY_RATE_LIMIT_READS = "1/m"
        assert [api_client.get("/health").status_code for _ in range(3)] == [200, 200, 200]


class TestWrites:
    def test_per_user_writes_do_not_block_another_user_or_reads(self, settings, as_user, employee, moderator):
        settings.PEERLY_RATE_LIMIT_WRITES = "2/m"
        body = {"first_name": "A", "last_name": "B", "display_name": "AB"}
        first = as_user(employee)
        assert [first.put("/users/me", body, format="json").status_code for _ in range(2)] == [200, 200]
        refused = first.put("/users/me", body, format="json")
        assert refused.status_code == 429
        assert refused.json() == RATE_LIMITED
        assert "Retry-After" in refused
        assert as_user(moderator).put("/users/me", body, format="json").status_code == 200
        assert first.get("/users/me").status_code == 200

    def test_refused_write_changes_nothing(self, settings, as_user, employee):
        settings.PEERLY_RATE_LIMIT_WRITES = "1/m"
        client = as_user(employee)
        client.put("/users/me", {"first_name": "One", "last_name": "", "display_name": "One"}, format="json")
        response = client.put("/users/me", {"first_name": "Two", "last_name": "", "display_name": "Two"}, format="json")
        employee.refresh_from_db()
        assert response.status_code == 429
        assert employee.first_name == "One"


class TestSignIn:
    def test_per_ip(self, settings):
        settings.PEERLY_RATE_LIMIT_SIGNIN = "2/m"
        assert [sign_in("10.0.0.1").status_code for _ in range(2)] == [400, 400]
        refused = sign_in("10.0.0.1")
        assert refused.status_code == 429
        assert refused.json() == RATE_LIMITED
        assert int(refused["Retry-After"]) >= 1
        assert sign_in("10.0.0.2").status_code == 400

    def test_successful_sign_ins_count_too(self, settings, fake_google, employee):
        settings.PEERLY_RATE_LIMIT_SIGNIN = "1/m"
        body = {"access_token": fake_google.access_token(email=employee.email)}
        client = APIClient(HTTP_ACCEPT=V1)
        assert client.post("/oauth/google", body, format="json").status_code == 200
        assert client.post("/oauth/google", body, format="json").status_code == 429

    def test_proxy_header_ignored_unless_configured(self, settings):
        settings.PEERLY_RATE_LIMIT_SIGNIN = "1/m"
        assert sign_in("10.0.0.9", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 400
        # A client cannot escape its limit by making up a header nobody asked us to trust.
        assert sign_in("10.0.0.9", HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 429

    def test_proxy_header_honoured_when_configured(self, settings):
        settings.PEERLY_RATE_LIMIT_SIGNIN = "1/m"
        settings.PEERLY_TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
        assert sign_in("10.0.0.9", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 400
        assert sign_in("10.0.0.9", HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 400
        assert sign_in("10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.1.1.1").status_code == 429


class TestClientIp:
    @pytest.fixture
    def request_with(self):
        def build(remote_addr: str = "10.0.0.1", forwarded: str | None = None):
            extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
            return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **extra)

        return build

    def test_remote_addr_by_default(self, request_with):
        assert client_ip(request_with("10.0.0.1", "1.1.1.1")) == "10.0.0.1"

    @pytest.mark.parametrize(
        ("count", "forwarded", "expected"),
        [
            (1, "1.1.1.1", "1.1.1.1"),
            (1, "6.6.6.6, 1.1.1.1", "1.1.1.1"),  # the left entry is the client's own claim
            (2, "6.6.6.6, 1.1.1.1, 172.16.0.1", "1.1.1.1"),
            (3, "1.1.1.1, 172.16.0.1", "1.1.1.1"),  # fewer entries than proxies: the first
            (1, "not-an-ip", "10.0.0.1"),
            (1, "", "10.0.0.1"),
            (1, " , ", "10.0.0.1"),
            (1, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),  # IPv6 counted per /64
            (1, "::ffff:1.2.3.4", "1.2.3.4"),
        ],
    )
    def test_trusted_header(self, settings, request_with, count, forwarded, expected):
        settings.PEERLY_TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
        settings.PEERLY_TRUSTED_PROXY_COUNT = count
        assert client_ip(request_with("10.0.0.1", forwarded)) == expected

    def test_missing_header_falls_back_to_remote_addr(self, settings, request_with):
        settings.PEERLY_TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
        assert client_ip(request_with("10.0.0.1")) == "10.0.0.1"


class TestRateLimitFor:
    def request(self, method: str = "GET", user=None, auth=None):
        return SimpleNamespace(method=method, user=user, auth=auth, META={"REMOTE_ADDR": "10.0.0.1"})

    def test_groups(self, settings):
        user = SimpleNamespace(pk=5)
        view = SimpleNamespace()
        assert rate_limit_for(self.request("GET", user, {}), view) == Limit("reads", "user:5", "600/m")
        assert rate_limit_for(self.request("DELETE", user, {}), view) == Limit("writes", "user:5", "30/m")
        assert rate_limit_for(self.request("POST"), SimpleNamespace(ratelimit_group="signin")) == Limit(
            "signin", "ip:10.0.0.1", "10/m"
        )
        assert rate_limit_for(self.request(), SimpleNamespace(ratelimit_exempt=True)) is None

    def test_api_key_hook(self, settings):
        """An authentication class returning a key object as request.auth gets the per-key limit."""
        key = SimpleNamespace(pk=7)
        assert rate_limit_for(self.request("POST", None, key), SimpleNamespace()) == Limit(
            "api_keys", "key:7", "1000/m"
        )

    def test_unknown_group_is_a_programming_error(self):
        with pytest.raises(ValueError, match="ratelimit_group"):
            rate_limit_for(self.request(), SimpleNamespace(ratelimit_group="typo"))


def test_cache_outage_lets_requests_through_and_logs(monkeypatch, as_user, employee, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr("peerly.api.ratelimit.get_usage", broken)
    with caplog.at_level(logging.ERROR, logger="peerly.api.ratelimit"):
        response = as_user(employee).get("/users/me")
    assert response.status_code == 200
    assert any("Rate-limit cache unavailable" in record.getMessage() for record in caplog.records)


class TestConfiguration:
    @pytest.mark.parametrize("value", ["30/m", "600/h", "100/5m", "1/s", "5/d"])
    def test_valid_rates(self, monkeypatch, value):
        monkeypatch.setenv("PEERLY_RATE_LIMIT_TEST", value)
        assert env_rate("PEERLY_RATE_LIMIT_TEST", "1/m") == value

    @pytest.mark.parametrize("value", ["30", "30/minute", "m/30", "-1/m", "30/m "])
    def test_invalid_rates_fail_fast(self, monkeypatch, value):
        monkeypatch.setenv("PEERLY_RATE_LIMIT_TEST", value)
        with pytest.raises(ImproperlyConfigured, match="PEERLY_RATE_LIMIT_TEST"):
            env_rate("PEERLY_RATE_LIMIT_TEST", "1/m")

    LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1"}}

    @staticmethod
    def startup_warnings(settings, caplog, *, debug: bool, caches: dict, calls: int = 1) -> list:
        """The events warn_about_configuration() logs in a process with these settings (called `calls` times)."""
        settings.DEBUG = debug
        settings.CACHES = caches
        warn_about_configuration.cache_clear()
        try:
            with caplog.at_level(logging.WARNING, logger="peerly"):
                for _ in range(calls):
                    warn_about_configuration()
        finally:
            warn_about_configuration.cache_clear()
        return caplog.records

    def test_startup_warns_once_when_limits_are_per_process(self, settings, caplog):
        records = self.startup_warnings(settings, caplog, debug=False, caches=self.LOCMEM, calls=2)
        assert [r.event for r in records] == ["rate_limits_per_process"]
        assert "REDIS_URL is not set" in records[0].getMessage()

    def test_no_warning_with_redis(self, settings, caplog):
        assert self.startup_warnings(settings, caplog, debug=False, caches=self.REDIS) == []

    def test_no_warning_in_a_debug_run(self, settings, caplog):
        assert self.startup_warnings(settings, caplog, debug=True, caches=self.LOCMEM) == []

    @pytest.mark.parametrize(
        ("code", "warns"),
        [
            ("import peerly.wsgi", True),
            ("import peerly.asgi", True),
            ("import django; django.setup()", False),  # what every manage.py command does
        ],
    )
    def test_only_a_server_loading_the_application_warns(self, code, warns):
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="s" * 50, DJANGO_SETTINGS_MODULE="peerly.settings")
        result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert ("REDIS_URL is not set" in result.stderr + result.stdout) is warns
