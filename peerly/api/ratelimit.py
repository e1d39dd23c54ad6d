"""A minimal rate-limit hook: fixed-window counters in the shared cache (Redis when REDIS_URL is set).

Used for the per-API-key limit. It is deliberately small so it can be replaced by (or plugged into)
the project-wide rate-limit machinery without touching its callers: `rate_limit_hit(bucket=..., rate=...)`.
"""

import time

from django.core.cache import cache

from peerly.api.exceptions import RateLimited


def rate_limit_hit(*, bucket: str, rate: tuple[int, int] | None) -> None:
    """Count one request in BUCKET; raise RateLimited (429 with Retry-After) past `rate` = (requests, seconds)."""
    if rate is None:
        return
    limit, period = rate
    now = time.time()
    window = int(now // period)
    key = f"peerly:ratelimit:{bucket}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the window's counter expired between add() and incr()
        cache.add(key, 1, timeout=period + 1)
        count = 1
    if count > limit:
        retry_after = max(1, int((window + 1) * period - now + 0.999))
        raise RateLimited(retry_after=retry_after)
