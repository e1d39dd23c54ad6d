"""Quota periods: pure date arithmetic, no database."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from accounts.models import RenewalFrequency


def quota_period_start(*, now: datetime, frequency: str, timezone_name: str) -> date:
    """The local date on which the quota period containing `now` began, in the organisation's timezone.

    Weekly periods begin on Monday at 00:00, monthly ones on the 1st at 00:00, local time. `now` must be
    timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local_day = now.astimezone(ZoneInfo(timezone_name)).date()
    if frequency == RenewalFrequency.WEEKLY:
        return local_day - timedelta(days=local_day.weekday())
    if frequency == RenewalFrequency.MONTHLY:
        return local_day.replace(day=1)
    raise ValueError(f"Unknown renewal frequency {frequency!r}")


def quota_next_renewal_at(*, now: datetime, frequency: str, timezone_name: str) -> datetime:
    """When the period after the one containing `now` begins: local midnight, timezone-aware."""
    start = quota_period_start(now=now, frequency=frequency, timezone_name=timezone_name)
    if frequency == RenewalFrequency.WEEKLY:
        following = start + timedelta(days=7)
    else:
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(following.year, following.month, following.day, tzinfo=ZoneInfo(timezone_name))
