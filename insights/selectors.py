"""Reads of the insights, always within one organisation (the caller's; a super admin names one)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from accounts.models import Organization, User
from accounts.scoping import reaches, target_organization
from corevalues.models import CoreValue
from insights.models import SPAN_YEARS, GiverCount, Kind, MemberDays, OrganizationDay
from insights.periods import Period
from peerly.api.exceptions import AccessDenied, NotFound, UnknownReference
from recognitions.models import Recognition
from recognitions.quota import quota_next_renewal_at

TOP_CORE_VALUES = 3
EPOCH = date(1970, 1, 1)  # day numbers of the rollups count from here
ONLY_ADMINS = "Only admins may read this while the organisation keeps its leaderboard private"


def insights_organization(*, actor: User, org_id: int | None) -> Organization:
    """The organisation an admin's insights are about: their own; a super admin names any with `org_id`."""
    return target_organization(actor, org_id, denied="Only a super admin may read another organisation's insights")


def member_for_stats(*, actor: User, user_id: int | None) -> User:
    """Whose stats the actor may read: their own (None), anyone's of their organisation as an admin, or
    anyone's when the organisation's leaderboard is visible; another organisation's member reads as unknown."""
    if user_id is None or user_id == actor.pk:
        if actor.organization is None:
            raise NotFound("You belong to no organisation: there is no record to show")
        return actor
    member = User.objects.select_related("organization").filter(pk=user_id).first()
    may_read_any = actor.is_org_admin or (actor.organization is not None and actor.organization.leaderboard_visible)
    if not may_read_any:
        raise AccessDenied(ONLY_ADMINS)
    if member is None or member.organization_id is None or not reaches(actor, member.organization_id):
        raise NotFound("User not found")
    if not member.is_active and not actor.is_org_admin:
        raise NotFound("User not found")  # a deleted member's record is for admins only
    return member


@dataclass(frozen=True)
class MemberStats:
    given: int
    received: int
    hi5s_received: int
    hi5_quota_balance: int
    next_renewal_at: datetime
    top_core_values: list[dict]
    first_given_at: datetime | None
    last_given_at: datetime | None
    weeks_streak: int


def weeks_streak(week_starts: set[date], *, this_week: date) -> int:
    """How many consecutive weeks, ending this week or the last one, hold at least one recognition given."""
    week = this_week if this_week in week_starts else this_week - timedelta(days=7)
    streak = 0
    while week in week_starts:
        streak += 1
        week -= timedelta(days=7)
    return streak


def _days_to_weeks(days: list[int]) -> set[date]:
    """The Mondays of the weeks holding these day numbers (local days: the rollups' own)."""
    weeks = set()
    for number in days:
        day = EPOCH + timedelta(days=number)
        weeks.add(day - timedelta(days=day.weekday()))
    return weeks


def member_stats(member: User) -> MemberStats:
    """A member's record, all time: hidden recognitions (and their Hi5s) left out. Three queries whatever
    the member's history: their rows of the rollups (a handful, three per four years), the first and last
    recognition given (two index probes), and the core values they were recognised for."""
    organization = member.organization
    tz = ZoneInfo(organization.timezone)
    days: dict[str, list[int]] = {kind: [] for kind in Kind}
    for kind, some in MemberDays.objects.filter(member=member).values_list("kind", "days"):
        days[kind].extend(some)
    given_days = days[Kind.GIVEN]
    giving = (
        Recognition.objects.visible().filter(given_by=member).aggregate(first=Min("given_at"), last=Max("given_at"))
    )
    top = list(
        Recognition.objects.visible()
        .filter(given_for=member)
        .values("core_value_id", "core_value__text")
        .annotate(count=Count("id"))
        .order_by("-count", "core_value__text", "core_value_id")[:TOP_CORE_VALUES]
    )
    now = timezone.now()
    this_week = now.astimezone(tz).date() - timedelta(days=now.astimezone(tz).weekday())
    return MemberStats(
        given=len(given_days),
        received=len(days[Kind.RECEIVED]),
        hi5s_received=len(days[Kind.HI5S]),
        hi5_quota_balance=member.hi5_quota_balance,
        next_renewal_at=quota_next_renewal_at(
            now=now, frequency=organization.hi5_quota_renewal_frequency, timezone_name=organization.timezone
        ),
        top_core_values=[
            {"core_value_id": row["core_value_id"], "text": row["core_value__text"], "count": row["count"]}
            for row in top
        ],
        first_given_at=giving["first"].astimezone(tz) if giving["first"] else None,
        last_given_at=giving["last"].astimezone(tz) if giving["last"] else None,
        weeks_streak=weeks_streak(_days_to_weeks(given_days), this_week=this_week),
    )


# --- the organisation's insights (organisation admins; the leaderboard for members where visible) --------


def day_number(day: date) -> int:
    """A local calendar day as the rollups count it: days since 1970-01-01."""
    return (day - EPOCH).days


def span_of(year: int) -> int:
    """The four-year span a year's days are kept in (`MemberDays.span`)."""
    return year - year % SPAN_YEARS


# How many of a member's days (the sorted array of an `insights_memberdays` row, alias m) fall in a period,
# from the day before its first to its last (day numbers): `width_bucket(last, m.days) - width_bucket(before,
# m.days)`, two binary searches (`width_bucket(x, sorted_array)` counts the elements <= x).
#
# Per member, over the spans a period touches: what they gave and received in the period and in the one
# before; then who took part, over the members whose rows exist (the rest took part in neither).
PARTICIPATION_SQL = """
SELECT count(*) FILTER (WHERE s.given > 0),
       count(*) FILTER (WHERE s.received > 0),
       count(*) FILTER (WHERE (s.given > 0 OR s.received > 0) AND u.soft_delete_at IS NULL),
       count(*) FILTER (WHERE s.previous_given > 0),
       count(*) FILTER (WHERE s.previous_received > 0),
       count(*) FILTER (WHERE (s.previous_given > 0 OR s.previous_received > 0) AND u.soft_delete_at IS NULL),
       (SELECT count(*) FROM accounts_user AS a WHERE a.organization_id = %(org)s AND a.soft_delete_at IS NULL)
FROM (
    SELECT m.member_id,
           sum(width_bucket(%(last)s, m.days) - width_bucket(%(before)s, m.days))
               FILTER (WHERE m.kind = 'given') AS given,
           sum(width_bucket(%(last)s, m.days) - width_bucket(%(before)s, m.days))
               FILTER (WHERE m.kind = 'received') AS received,
           sum(width_bucket(%(previous_last)s, m.days) - width_bucket(%(previous_before)s, m.days))
               FILTER (WHERE m.kind = 'given') AS previous_given,
           sum(width_bucket(%(previous_last)s, m.days) - width_bucket(%(previous_before)s, m.days))
               FILTER (WHERE m.kind = 'received') AS previous_received
    FROM insights_memberdays AS m
    WHERE m.organization_id = %(org)s AND m.kind IN ('given', 'received')
      AND m.span BETWEEN %(first_span)s AND %(last_span)s
    GROUP BY m.member_id
) AS s
JOIN accounts_user AS u ON u.id = s.member_id
"""


def _participation(organization: Organization, period: Period, previous: Period) -> tuple[dict, dict]:
    """Givers, receivers (deleted members too: totals) and participation (active members who gave or
    received) of the period and the previous one, in one query over the members' rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            PARTICIPATION_SQL,
            {
                "org": organization.pk,
                "before": day_number(period.first_day) - 1,
                "last": day_number(period.last_day),
                "previous_before": day_number(previous.first_day) - 1,
                "previous_last": day_number(previous.last_day),
                "first_span": span_of(previous.first_day.year),
                "last_span": span_of(period.last_day.year),
            },
        )
        givers, receivers, participants, previous_givers, previous_receivers, previous_participants, active = (
            cursor.fetchone()
        )

    def counts(givers: int, receivers: int, participants: int) -> dict:
        rate = round(participants / active, 4) if active else 0.0
        return {"givers": givers, "receivers": receivers, "active_members": active, "participation_rate": rate}

    return counts(givers, receivers, participants), counts(previous_givers, previous_receivers, previous_participants)


def insights_summary(organization: Organization, period: Period) -> dict:
    """The period's counts, and the same for the period of equal length just before: three queries over
    the rollups (core values; recognitions and Hi5s per day; members' days), whatever the period's length."""
    previous = period.previous()
    values = list(CoreValue.objects.filter(organization=organization).order_by("id").values_list("id", "text"))
    in_period, before = Q(day__gte=period.first_day), Q(day__lt=period.first_day)
    per_value = {
        row.pop("core_value_id"): row
        for row in OrganizationDay.objects.filter(
            organization=organization, day__gte=previous.first_day, day__lte=period.last_day
        )
        .order_by()
        .values("core_value_id")
        .annotate(
            current_recognitions=Sum("recognitions", filter=in_period, default=0),
            current_hi5s=Sum("hi5s", filter=in_period, default=0),
            previous_recognitions=Sum("recognitions", filter=before, default=0),
            previous_hi5s=Sum("hi5s", filter=before, default=0),
        )
    }
    current, earlier = _participation(organization, period, previous)
    result = {}
    for key, counts in (("current", current), ("previous", earlier)):
        by_value = [
            {
                "core_value_id": value_id,
                "text": text,
                "count": per_value.get(value_id, {}).get(f"{key}_recognitions", 0),
            }
            for value_id, text in values
        ]
        result[key] = {
            "recognitions": sum(row[f"{key}_recognitions"] for row in per_value.values()),
            "hi5s": sum(row[f"{key}_hi5s"] for row in per_value.values()),
            **counts,
            "by_core_value": by_value,
        }
    return {**result["current"], "from": period.first_day, "to": period.last_day, "previous": result["previous"]}


TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def _bucket_starts(period: Period, interval: str) -> list[date]:
    day = period.first_day
    if interval == "week":
        day -= timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    starts = []
    while day <= period.last_day:
        starts.append(day)
        day = _bucket_after(day, interval)
    return starts


def _bucket_after(start: date, interval: str) -> date:
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


DISTINCT_GIVERS_SQL = """
SELECT count(*) FILTER (WHERE s.head > 0), count(*) FILTER (WHERE s.tail > 0)
FROM (
    SELECT m.member_id,
           sum(width_bucket(%(first_last)s, m.days) - width_bucket(%(first_before)s, m.days)) AS head,
           sum(width_bucket(%(last_last)s, m.days) - width_bucket(%(last_before)s, m.days)) AS tail
    FROM insights_memberdays AS m
    WHERE m.organization_id = %(org)s AND m.kind = 'given' AND m.span = ANY(%(spans)s)
    GROUP BY m.member_id
) AS s
"""


def _givers_in_partial_buckets(organization: Organization, first: tuple[date, date], last: tuple[date, date]) -> tuple:
    """Distinct givers in two ranges of days (the period's partial first and last buckets)."""
    with connection.cursor() as cursor:
        cursor.execute(
            DISTINCT_GIVERS_SQL,
            {
                "org": organization.pk,
                "first_before": day_number(first[0]) - 1,
                "first_last": day_number(first[1]),
                "last_before": day_number(last[0]) - 1,
                "last_last": day_number(last[1]),
                "spans": sorted({span_of(day.year) for day in (*first, *last)}),
            },
        )
        return cursor.fetchone()


def insights_timeline(organization: Organization, period: Period, interval: str) -> list[dict]:
    """One point per day, week (from Monday) or month of the period, zero-filled (the first and last
    may be partial: they count only the period's days). Recognitions and Hi5s add up from the daily
    rollups; distinct givers come from their own count per interval, and for a partial first or last
    bucket from the members' days within the period."""
    starts = _bucket_starts(period, interval)
    totals = {
        row["bucket"]: row
        for row in OrganizationDay.objects.filter(
            organization=organization, day__gte=period.first_day, day__lte=period.last_day
        )
        .annotate(bucket=TRUNC[interval]("day"))
        .order_by()
        .values("bucket")
        .annotate(bucket_recognitions=Sum("recognitions"), bucket_hi5s=Sum("hi5s"))
    }
    givers = dict(
        GiverCount.objects.filter(
            organization=organization, unit=interval, start__gte=starts[0], start__lte=period.last_day
        ).values_list("start", "givers")
    )
    first_range = (period.first_day, min(_bucket_after(starts[0], interval) - timedelta(days=1), period.last_day))
    last_range = (max(starts[-1], period.first_day), period.last_day)
    first_partial = first_range != (starts[0], _bucket_after(starts[0], interval) - timedelta(days=1))
    last_partial = last_range != (starts[-1], _bucket_after(starts[-1], interval) - timedelta(days=1))
    if first_partial or last_partial:
        first_givers, last_givers = _givers_in_partial_buckets(organization, first_range, last_range)
        if first_partial:
            givers[starts[0]] = first_givers
        if last_partial:
            givers[starts[-1]] = last_givers
    return [
        {
            "start": start,
            "recognitions": totals.get(start, {}).get("bucket_recognitions", 0),
            "hi5s": totals.get(start, {}).get("bucket_hi5s", 0),
            "givers": givers.get(start, 0),
        }
        for start in starts
    ]


LEADERBOARD_MAX = 50


def leaderboard_organization(*, actor: User, org_id: int | None) -> Organization:
    """Admins read their organisation's leaderboard (a super admin any); members only where it is visible."""
    organization = insights_organization(actor=actor, org_id=org_id)
    if not actor.is_org_admin and not organization.leaderboard_visible:
        raise AccessDenied("This organisation keeps its leaderboard to its admins")
    return organization


# The leaderboard: per active member, their count in the period from their rows of the spans it touches (of
# every core value, or of the one asked for: insights_membervaluedays); ranked over everyone with at least
# one, then cut to the limit.
LEADERBOARD_SQL = """
SELECT s.member_id, s.count, rank() OVER (ORDER BY s.count DESC)
FROM (
    SELECT m.member_id, sum(width_bucket(%(last)s, m.days) - width_bucket(%(before)s, m.days))::integer AS count
    FROM {table} AS m
    JOIN accounts_user AS u ON u.id = m.member_id AND u.soft_delete_at IS NULL
    WHERE m.organization_id = %(org)s AND m.kind = %(kind)s AND m.span BETWEEN %(first_span)s AND %(last_span)s
      {of_value}
    GROUP BY m.member_id
) AS s
WHERE s.count > 0
ORDER BY s.count DESC, s.member_id
LIMIT %(limit)s
"""
LEADERBOARD_KINDS = {"received": Kind.RECEIVED, "given": Kind.GIVEN, "hi5s_received": Kind.HI5S}


def _ranking(
    organization: Organization, period: Period, *, by: str, core_value_id: int | None, limit: int
) -> list[tuple]:
    """(member id, count, rank) of the period's top members."""
    if core_value_id is None:
        sql = LEADERBOARD_SQL.format(table="insights_memberdays", of_value="")
    else:  # fixed fragments, the core value itself a parameter
        sql = LEADERBOARD_SQL.format(table="insights_membervaluedays", of_value="AND m.core_value_id = %(core_value)s")
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "org": organization.pk,
                "kind": str(LEADERBOARD_KINDS[by]),
                "core_value": core_value_id,
                "before": day_number(period.first_day) - 1,
                "last": day_number(period.last_day),
                "first_span": span_of(period.first_day.year),
                "last_span": span_of(period.last_day.year),
                "limit": limit,
            },
        )
        return cursor.fetchall()


def insights_leaderboard(
    organization: Organization, period: Period, *, by: str, core_value_id: int | None, limit: int
) -> list[dict]:
    """The period's top members (active ones: soft-deleted members are left out of rankings) by
    recognitions received or given, or Hi5s received; equal counts share a rank (1, 2, 2, 4), then
    the lower user id first."""
    if core_value_id is not None and not CoreValue.objects.filter(pk=core_value_id, organization=organization).exists():
        raise UnknownReference(fields={"core_value_id": "No such core value in this organisation"})
    ranking = _ranking(organization, period, by=by, core_value_id=core_value_id, limit=limit)
    people = User.objects.in_bulk([user_id for user_id, _, _ in ranking])
    return [
        {"rank": rank, "user": people[user_id], "count": count} for user_id, count, rank in ranking if user_id in people
    ]
