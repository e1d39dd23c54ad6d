"""A minimal rate-limit hook: fixed-window counters in the shared cache (Redis when REDIS_URL is set).

Used for the per-API-key limit until the project-wide rate limits land; rates are written as
django-ratelimit writes them (`1000/m`, `10/s`, `5000/h`, `100/5m`), so the setting keeps its meaning
when this hook is replaced by that machinery. Callers: `rate_limit_hit(bucket=..., rate=...)`.
"""

import re
import time

from django.core.cache import cache

from peerly.api.exceptions import RateLimited

RATE_PATTERN = re.compile(r"^(?P<count>[0-9]+)/(?P<multiplier>[0-9]*)(?P<unit>[smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`1000/m` -> (1000 requests, 60 seconds)."""
    match = RATE_PATTERN.match(rate.strip())
    if match is None:
        raise ValueError(f"A rate looks like 1000/m (per s, m, h or d), not {rate!r}")
    return int(match["count"]), int(match["multiplier"] or 1) * UNIT_SECONDS[match["unit"]]


def rate_limit_hit(*, bucket: str, rate: str | None) -> None:
    """Count one request in BUCKET; past `rate` raise RateLimited (429 `rate_limited` with Retry-After)."""
    if not rate:
        return
    limit, period = parse_rate(rate)
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
        raise RateLimited(retry_after=max(1, int((window + 1) * period - now + 0.999)))
