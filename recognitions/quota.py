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
