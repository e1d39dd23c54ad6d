"""The periods of the insights: calendar days in the organisation's timezone, `from` and `to` inclusive."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from accounts.models import Organization
from peerly.api.exceptions import InvalidData

DEFAULT_DAYS = 30
MAX_YEARS = 3
# The days a period may name (DRF's DateField takes years 1 to 9999, whose edges would overflow).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9000, 12, 31)


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first day's local midnight."""
        return datetime.combine(self.first_day, datetime.min.time(), tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        """The local midnight after the last day (exclusive)."""
        return datetime.combine(self.last_day + timedelta(days=1), datetime.min.time(), tzinfo=self.tz)

    def previous(self) -> "Period":
        """The period of equal length just before."""
        days = (self.last_day - self.first_day).days + 1
        return Period(
            first_day=self.first_day - timedelta(days=days), last_day=self.first_day - timedelta(days=1), tz=self.tz
        )


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def period_of(organization: Organization, *, first_day: date | None, last_day: date | None) -> Period:
    """The period asked for: by default the last 30 days (today included, in the organisation's
    timezone); `to` before `from`, or more than 3 years apart, is 400 naming the field."""
    for name, day in (("from", first_day), ("to", last_day)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidData(fields={name: f"Must be between {FIRST_DAY} and {LAST_DAY}."})
    tz = ZoneInfo(organization.timezone)
    today = timezone.now().astimezone(tz).date()
    last_day = last_day or (today if first_day is None else max(today, first_day))
    if first_day is None:
        first_day = last_day - timedelta(days=DEFAULT_DAYS - 1)
    if last_day < first_day:
        raise InvalidData(fields={"to": "Must be after `from`."})
    if first_day < _years_before(last_day, MAX_YEARS):
        raise InvalidData(fields={"from": f"At most {MAX_YEARS} years before `to`."})
    return Period(first_day=first_day, last_day=last_day, tz=tz)
