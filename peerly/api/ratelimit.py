"""Rate limits for every API view, applied once as DRF's default throttle.

Each request falls in one group, counted in the cache (Redis when `REDIS_URL` is set, shared by every
process; else per-process memory) with django-ratelimit's fixed windows:

| group      | counted per            | setting                        | default  |
|------------|------------------------|--------------------------------|----------|
| `signin`   | client IP              | `PEERLY_RATE_LIMIT_SIGNIN`     | `10/m`   |
| `writes`   | user (POST/PUT/PATCH/DELETE) | `PEERLY_RATE_LIMIT_WRITES` | `30/m`   |
| `reads`    | user, or client IP when anonymous | `PEERLY_RATE_LIMIT_READS` | `600/m` |
| `api_keys` | API key (every method) | `PEERLY_RATE_LIMIT_API_KEYS`   | `1000/m` |

The admin's password login (accounts/admin_site.py) counts failed attempts per client IP
(`PEERLY_RATE_LIMIT_ADMIN_LOGIN_IP`, `20/h`) and per account (`PEERLY_RATE_LIMIT_ADMIN_LOGIN_ACCOUNT`,
`5/15m`); at either limit the login answers 429 until the window ends, whatever the password.

A view picks its group with `ratelimit_group = "signin"` or opts out with `ratelimit_exempt = True`
(the load balancer's health check). `rate_limit_for()` is the one place that decides (group, key, rate).

API keys: when an authentication class returns an object that is not the JWT payload dict as
`request.auth`, it is an API key; it is counted under `key:<auth.pk>` at `PEERLY_RATE_LIMIT_API_KEYS`.
"""

import contextlib
import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django_ratelimit import ALL, UNSAFE
from django_ratelimit.core import _get_window, _make_cache_key, _split_rate, get_usage
from rest_framework.throttling import BaseThrottle

from peerly.api.exceptions import RateLimited

logger = logging.getLogger(__name__)

RATE_PATTERN = re.compile(r"^[0-9]+/[0-9]*[smhd]$")

GROUP_SETTINGS = {
    "signin": "PEERLY_RATE_LIMIT_SIGNIN",
    "writes": "PEERLY_RATE_LIMIT_WRITES",
    "reads": "PEERLY_RATE_LIMIT_READS",
    "api_keys": "PEERLY_RATE_LIMIT_API_KEYS",
    "admin_login_ip": "PEERLY_RATE_LIMIT_ADMIN_LOGIN_IP",
    "admin_login_account": "PEERLY_RATE_LIMIT_ADMIN_LOGIN_ACCOUNT",
}


@dataclass(frozen=True)
class Limit:
    group: str
    key: str
    rate: str


def _parse_ip(value: str) -> str | None:
    """The address in canonical form; IPv6 clients are counted per /64 (what one subscriber usually holds)."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def client_ip(request: Any) -> str:
    """The client's address: REMOTE_ADDR, or the configured proxy header when one is trusted.

    With `PEERLY_TRUSTED_PROXY_HEADER` (a META key such as `HTTP_X_FORWARDED_FOR`) and
    `PEERLY_TRUSTED_PROXY_COUNT` = N trusted proxies each appending the address they saw, the client
    is the N-th entry from the right; entries further left are whatever the client claimed and are
    ignored. When the header has fewer entries, the left-most one is used. A header that is missing
    or unparsable falls back to REMOTE_ADDR.
    """
    remote_addr = _parse_ip(request.META.get("REMOTE_ADDR") or "") or "unknown"
    header = settings.PEERLY_TRUSTED_PROXY_HEADER
    if not header:
        return remote_addr
    entries = [item for item in request.META.get(header, "").split(",") if item.strip()]
    if not entries:
        return remote_addr
    count = max(1, settings.PEERLY_TRUSTED_PROXY_COUNT)
    chosen = entries[-count] if len(entries) >= count else entries[0]
    return _parse_ip(chosen) or remote_addr


def _rate(group: str) -> str:
    return getattr(settings, GROUP_SETTINGS[group])


def rate_limit_for(request: Any, view: Any) -> Limit | None:
    """The limit this request counts against, or None when the view is exempt."""
    if getattr(view, "ratelimit_exempt", False):
        return None
    group = getattr(view, "ratelimit_group", None)
    if group is not None and group not in GROUP_SETTINGS:
        raise ValueError(f"{type(view).__name__}.ratelimit_group must be one of {sorted(GROUP_SETTINGS)}")
    if group == "signin":
        return Limit("signin", f"ip:{client_ip(request)}", _rate("signin"))
    auth = getattr(request, "auth", None)
    if auth is not None and not isinstance(auth, dict):
        return Limit("api_keys", f"key:{auth.pk}", _rate("api_keys"))
    user = getattr(request, "user", None)
    if group is None:
        group = "writes" if user is not None and request.method in UNSAFE else "reads"
    key = f"user:{user.pk}" if user is not None else f"ip:{client_ip(request)}"
    return Limit(group, key, _rate(group))


class PeerlyRateLimit(BaseThrottle):
    """The default throttle of every API view (REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]).

    Runs after authentication and permissions, so it knows the user or API key. Over the limit it
    raises RateLimited (429 `rate_limited` with Retry-After). If the cache is down, requests are let
    through (and an error logged): availability over limits.
    """

    def allow_request(self, request, view) -> bool:
        limit = rate_limit_for(request, view)
        if limit is None:
            return True
        try:
            usage = get_usage(
                request, group=limit.group, key=lambda group, req: limit.key, rate=limit.rate, increment=True
            )
        except Exception:
            logger.exception("Rate-limit cache unavailable; request allowed", extra={"ratelimit_group": limit.group})
            return True
        if usage is not None and usage["should_limit"]:
            # django-ratelimit's window still counts at its last second (time_left 0): the next one starts after.
            raise RateLimited(retry_after=usage["time_left"] + 1)
        return True


# --- Failed admin logins ---------------------------------------------------------


def admin_login_limits(request: Any, username: str) -> list[Limit]:
    """The two counters a failed admin login counts against: the client's IP and the account tried."""
    account = username.strip().lower()[:254]
    return [
        Limit("admin_login_ip", f"ip:{client_ip(request)}", _rate("admin_login_ip")),
        Limit("admin_login_account", f"account:{account}", _rate("admin_login_account")),
    ]


def admin_google_limits(request: Any) -> list[Limit]:
    """A refused Google sign-in counts against the client's IP, on the same counter as wrong passwords."""
    return [Limit("admin_login_ip", f"ip:{client_ip(request)}", _rate("admin_login_ip"))]


def _usage(request: Any, limit: Limit, *, increment: bool) -> dict | None:
    try:
        return get_usage(
            request, group=limit.group, key=lambda group, req: limit.key, rate=limit.rate, increment=increment
        )
    except Exception:
        logger.exception("Rate-limit cache unavailable; login attempt allowed", extra={"ratelimit_group": limit.group})
        return None


def limits_take(request: Any, limits: list[Limit]) -> int | None:
    """Count one attempt against each limit, atomically; the seconds to wait (for Retry-After) when any
    limit is now exceeded, else None. Counting before the attempt runs means parallel attempts cannot
    all slip under a limit."""
    waits = [
        usage["time_left"] + 1
        for limit in limits
        if (usage := _usage(request, limit, increment=True)) is not None and usage["count"] > usage["limit"]
    ]
    return max(waits) if waits else None


def limits_refund(limits: list[Limit]) -> None:
    """Take back the attempt counted by limits_take (the login succeeded). Best effort: a window that
    ended meanwhile has nothing to take back."""
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    for limit in limits:
        _, period = _split_rate(limit.rate)
        key = _make_cache_key(limit.group, _get_window(limit.key, period), limit.rate, limit.key, ALL)
        with contextlib.suppress(Exception):  # a missing key, or the cache is down: nothing to refund
            cache.decr(key)
