"""Reads of the insights, always within one organisation (the caller's; a super admin names one)."""

import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from django.core.cache import caches
from django.db import connection
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from accounts.models import Organization, User
from accounts.scoping import reaches, target_organization
from corevalues.models import CoreValue
from insights.models import SPAN_YEARS, GiverCount, History, Kind, MemberDays, OrganizationDay
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


# --- closed days and live ones ------------------------------------------------------------------------------
#
# Reading every member's rows costs the same for 90 days as for 3 years (tens of ms at 10,000 members). What a
# period's closed days hold (those before yesterday, in the organisation's timezone) only moves with the
# organisation's history version (insights.models.History: a retroactive change, a rebuild, a member's soft
# delete or restore), so it is cached under that version; the live days (yesterday on) are read from the
# recognitions and Hi5s themselves, a day or two of them, through their indexes.

INSIGHTS_CACHE = "insights"  # the cache alias (peerly/settings.py)
CLOSED_SECONDS = 24 * 60 * 60  # an entry's key names the version and the days: it is never read stale
CLOSED_FORMAT = 1  # in the keys: a deploy that changes what is cached never reads another release's entries


def _live_from(period: Period) -> date:
    """The first live day: yesterday, in the organisation's timezone."""
    return timezone.now().astimezone(period.tz).date() - timedelta(days=1)


def _closed_and_live(period: Period) -> tuple[Period | None, Period | None]:
    """The period's closed days and its live ones (either may be None)."""
    live_from = _live_from(period)
    closed = live = None
    if period.first_day < live_from:
        last = min(period.last_day, live_from - timedelta(days=1))
        closed = Period(first_day=period.first_day, last_day=last, tz=period.tz)
    if period.last_day >= live_from:
        live = Period(first_day=max(period.first_day, live_from), last_day=period.last_day, tz=period.tz)
    return closed, live


def history_version(organization: Organization) -> int:
    """The version of the organisation's closed days; read before them (a change committed in between moves
    it, so what is cached under the version read is never older than that version)."""
    return History.objects.filter(organization_id=organization.pk).values_list("version", flat=True).first() or 0


class _Near:
    """The few latest reads of closed days, kept as objects in this process (no unpickling), in front of the
    shared cache; keyed as the cache is (by version), so never stale either."""

    def __init__(self, entries: int):
        self.entries = entries
        self.values: OrderedDict[str, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            value = self.values.get(key)
            if value is not None:
                self.values.move_to_end(key)
            return value

    def put(self, key: str, value) -> None:
        with self.lock:
            self.values[key] = value
            while len(self.values) > self.entries:
                self.values.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.values.clear()


# At 10,000 members a summary's closed days are three sets of ids (about 2 MB), a leaderboard's two arrays
# (160 KB): a process keeps at most about 30 MB of them.
NEAR = _Near(entries=16)


def _remembered(organization: Organization, version: int, closed: Period, what: tuple, compute: Callable):
    """compute() (a read of the closed days), cached under the organisation's history version; shared by
    every caller (and thread) of the process: never to be changed in place."""
    parts = (
        "insights",
        CLOSED_FORMAT,
        organization.pk,
        version,
        closed.tz.key,
        closed.first_day,
        closed.last_day,
        *what,
    )
    key = ":".join(str(part) for part in parts)
    value = NEAR.get(key)
    if value is None:
        cache = caches[INSIGHTS_CACHE]
        value = cache.get(key)
        if value is None:
            value = compute()
            cache.set(key, value, CLOSED_SECONDS)
        NEAR.put(key, value)
    return value


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _days_params(organization: Organization, period: Period) -> dict:
    return {
        "org": organization.pk,
        "before": day_number(period.first_day) - 1,
        "last": day_number(period.last_day),
        "first_span": span_of(period.first_day.year),
        "last_span": span_of(period.last_day.year),
    }


@dataclass(frozen=True)
class ClosedSummary:
    """What a period's closed days hold for the summary: recognitions and Hi5s per core value, and who gave,
    who received, and who of them took part (gave or received, and is active): member ids."""

    per_value: dict[int, tuple[int, int]]
    givers: frozenset[int]
    receivers: frozenset[int]
    participants: frozenset[int]


NOTHING_CLOSED = ClosedSummary(per_value={}, givers=frozenset(), receivers=frozenset(), participants=frozenset())

# Per member, over the spans the closed days touch: whether they gave, received, and are active.
CLOSED_PARTICIPATION_SQL = """
SELECT s.member_id, s.given > 0, s.received > 0, u.soft_delete_at IS NULL
FROM (
    SELECT m.member_id,
           coalesce(sum(width_bucket(%(last)s, m.days) - width_bucket(%(before)s, m.days))
                    FILTER (WHERE m.kind = 'given'), 0) AS given,
           coalesce(sum(width_bucket(%(last)s, m.days) - width_bucket(%(before)s, m.days))
                    FILTER (WHERE m.kind = 'received'), 0) AS received
    FROM insights_memberdays AS m
    WHERE m.organization_id = %(org)s AND m.kind IN ('given', 'received')
      AND m.span BETWEEN %(first_span)s AND %(last_span)s
    GROUP BY m.member_id
) AS s
JOIN accounts_user AS u ON u.id = s.member_id
WHERE s.given > 0 OR s.received > 0
"""
# Recognitions and Hi5s per core value of a range of days (the daily rollups).
PER_VALUE_SQL = """
    SELECT d.core_value_id, sum(d.recognitions)::integer AS recognitions, sum(d.hi5s)::integer AS hi5s
    FROM insights_organizationday AS d
    WHERE d.organization_id = %(org)s AND d.day >= %(first_day)s AND d.day <= %(last_day)s
    GROUP BY d.core_value_id
"""
# The live days in one round trip: their visible recognitions' givers, receivers and who of them is active
# (three arrays), and their recognitions and Hi5s per core value (PER_VALUE_SQL: three more).
LIVE_SUMMARY_SQL = f"""
WITH live AS MATERIALIZED (
    SELECT r.given_by_id, r.given_for_id FROM recognitions_recognition AS r
    WHERE r.organization_id = %(org)s AND NOT r.is_hidden AND r.given_at >= %(start)s AND r.given_at < %(end)s
), per_value AS ({PER_VALUE_SQL})
SELECT (SELECT coalesce(array_agg(DISTINCT given_by_id), '{{}}') FROM live),
       (SELECT coalesce(array_agg(DISTINCT given_for_id), '{{}}') FROM live),
       (SELECT coalesce(array_agg(u.id), '{{}}') FROM accounts_user AS u
        WHERE u.id IN (SELECT given_by_id FROM live UNION SELECT given_for_id FROM live) AND u.soft_delete_at IS NULL),
       (SELECT coalesce(array_agg(core_value_id), '{{}}') FROM per_value),
       (SELECT coalesce(array_agg(recognitions), '{{}}') FROM per_value),
       (SELECT coalesce(array_agg(hi5s), '{{}}') FROM per_value)
"""  # noqa: S608 (constant fragments only; the values are bound parameters)
# The organisation's history version, active members and core values (ids and texts, by id), in one round trip.
ORGANIZATION_SQL = """
SELECT coalesce((SELECT h.version FROM insights_history AS h WHERE h.organization_id = %(org)s), 0),
       (SELECT count(*) FROM accounts_user AS u WHERE u.organization_id = %(org)s AND u.soft_delete_at IS NULL),
       (SELECT coalesce(array_agg(v.id ORDER BY v.id), '{}') FROM corevalues_corevalue AS v
        WHERE v.organization_id = %(org)s),
       (SELECT coalesce(array_agg(v.text ORDER BY v.id), '{}') FROM corevalues_corevalue AS v
        WHERE v.organization_id = %(org)s)
"""


def _per_value(organization: Organization, period: Period) -> dict[int, tuple[int, int]]:
    """Recognitions and Hi5s per core value of the period's days (the daily rollups)."""
    params = {"org": organization.pk, "first_day": period.first_day, "last_day": period.last_day}
    return {value: (recognitions, hi5s) for value, recognitions, hi5s in _rows(PER_VALUE_SQL, params)}


def _closed_summary(organization: Organization, period: Period) -> ClosedSummary:
    rows = _rows(CLOSED_PARTICIPATION_SQL, _days_params(organization, period))
    return ClosedSummary(
        per_value=_per_value(organization, period),
        givers=frozenset(member for member, gave, _, _ in rows if gave),
        receivers=frozenset(member for member, _, received, _ in rows if received),
        participants=frozenset(member for member, _, _, active in rows if active),
    )


def _summary_of(organization: Organization, version: int, active: int, period: Period) -> dict:
    """One period's counts: its closed days' (cached) and its live days' (read) together."""
    closed, live = _closed_and_live(period)
    held = NOTHING_CLOSED
    if closed is not None:
        held = _remembered(organization, version, closed, ("summary",), lambda: _closed_summary(organization, closed))
    per_value = dict(held.per_value)
    givers, receivers, participants = len(held.givers), len(held.receivers), len(held.participants)
    if live is not None:
        params = {
            "org": organization.pk,
            "start": live.start,
            "end": live.end,
            "first_day": live.first_day,
            "last_day": live.last_day,
        }
        live_givers, live_receivers, live_participants, values, recognitions, hi5s = _rows(LIVE_SUMMARY_SQL, params)[0]
        for value, value_recognitions, value_hi5s in zip(values, recognitions, hi5s, strict=True):
            before = per_value.get(value, (0, 0))
            per_value[value] = (before[0] + value_recognitions, before[1] + value_hi5s)
        # the live days' members the closed days do not count yet (the live ones are few: C-speed sets)
        givers += len(set(live_givers) - held.givers)
        receivers += len(set(live_receivers) - held.receivers)
        participants += len(set(live_participants) - held.participants)
    return {
        "per_value": per_value,
        "recognitions": sum(recognitions for recognitions, _ in per_value.values()),
        "hi5s": sum(hi5s for _, hi5s in per_value.values()),
        "givers": givers,
        "receivers": receivers,
        "active_members": active,
        "participation_rate": round(participants / active, 4) if active else 0.0,
    }


def insights_summary(organization: Organization, period: Period) -> dict:
    """The period's counts, and the same for the period of equal length just before. Givers and receivers
    count deleted members too (totals); participation is the active members who gave or received, over the
    active members. A period's closed days are read once per history version (their rollups: recognitions
    and Hi5s per day, members' days) and cached; its live days are read each time: a few queries, whatever
    the period's length."""
    version, active, value_ids, value_texts = _rows(ORGANIZATION_SQL, {"org": organization.pk})[0]
    values = list(zip(value_ids, value_texts, strict=True))
    result = {}
    for key, which in (("current", period), ("previous", period.previous())):
        counts = _summary_of(organization, version, active, which)
        per_value = counts.pop("per_value")
        counts["by_core_value"] = [
            {"core_value_id": value_id, "text": text, "count": per_value.get(value_id, (0, 0))[0]}
            for value_id, text in values
        ]
        result[key] = counts
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


# A partial bucket's distinct givers: read from its recognitions when they are few (a week's, a day's),
# from every member's days otherwise (a cost that grows with the members, not the recognitions).
DIRECT_GIVERS_MAX = 10_000
DIRECT_GIVERS_SQL = """
SELECT count(DISTINCT r.given_by_id) FROM recognitions_recognition AS r
WHERE r.organization_id = %(org)s AND NOT r.is_hidden AND r.given_at >= %(start)s AND r.given_at < %(end)s
"""


def _givers_in(organization: Organization, period: Period) -> int:
    return _rows(DIRECT_GIVERS_SQL, {"org": organization.pk, "start": period.start, "end": period.end})[0][0]


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


def _bucket_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def insights_timeline(organization: Organization, period: Period, interval: str) -> list[dict]:
    """One point per day, week (from Monday) or month of the period, zero-filled (the first and last
    may be partial: they count only the period's days). The points before the bucket that holds yesterday
    count closed days only: read once per history version and cached; the others are read each time."""
    split = max(period.first_day, _bucket_start(_live_from(period), interval))
    points = []
    if split > period.first_day:
        head = Period(
            first_day=period.first_day, last_day=min(split - timedelta(days=1), period.last_day), tz=period.tz
        )
        cached = _remembered(
            organization,
            history_version(organization),
            head,
            ("timeline", interval),
            lambda: _timeline(organization, head, interval),
        )
        points = [dict(point) for point in cached]  # the caller's own copies
    if split <= period.last_day:
        points.extend(
            _timeline(organization, Period(first_day=split, last_day=period.last_day, tz=period.tz), interval)
        )
    return points


def _timeline(organization: Organization, period: Period, interval: str) -> list[dict]:
    """One point per day, week (from Monday) or month of the period, zero-filled (the first and last
    may be partial: they count only the period's days). Recognitions and Hi5s add up from the daily
    rollups; distinct givers come from their own count per interval, and for a partial first or last
    bucket from its recognitions (or, when they are many, the members' days within the period)."""
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
    partial = {}
    if first_range != (starts[0], _bucket_after(starts[0], interval) - timedelta(days=1)):
        partial[starts[0]] = first_range
    if last_range != (starts[-1], _bucket_after(starts[-1], interval) - timedelta(days=1)):
        partial[starts[-1]] = last_range
    through_days = {}
    for start, (first, last) in partial.items():
        recognitions = totals.get(start, {}).get("bucket_recognitions", 0)
        if recognitions <= DIRECT_GIVERS_MAX:  # read directly (none: nobody gave)
            givers[start] = recognitions and _givers_in(organization, Period(first, last, period.tz))
        else:
            through_days[start] = (first, last)
    if through_days:
        ranges = list(through_days.values())
        counted = _givers_in_partial_buckets(organization, ranges[0], ranges[-1])
        givers.update(zip(through_days, (counted[0], counted[-1]), strict=False))
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


# The leaderboard of closed days: per active member, their count from their rows of the spans the days touch
# (of every core value, or of the one asked for: insights_membervaluedays), everyone with at least one, by
# count then id.
CLOSED_LEADERBOARD_SQL = """
SELECT s.member_id, s.count
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
"""
# The live days' counts per active member, read from the recognitions (or Hi5s) given since: two arrays in one
# row (members, counts), parsed far faster than a row per member. Filled in per kind (LIVE_COUNTED).
LIVE_LEADERBOARD_SQL = """
SELECT coalesce(array_agg(x.member), '{{}}'), coalesce(array_agg(x.count), '{{}}') FROM (
SELECT r.{member}, count(*) FROM {source}
JOIN accounts_user AS u ON u.id = r.{member} AND u.soft_delete_at IS NULL
WHERE r.organization_id = %(org)s AND NOT r.is_hidden AND {moment} >= %(start)s AND {moment} < %(end)s
  {of_value}
GROUP BY 1
) AS x(member, count)
"""
_RECOGNITIONS = {"source": "recognitions_recognition AS r", "moment": "r.given_at"}
_HI5S = {
    "source": "recognitions_hi5 AS h JOIN recognitions_recognition AS r ON r.id = h.recognition_id",
    "moment": "h.given_at",
}
LIVE_COUNTED = {  # by: who is counted, and in what
    "received": {"member": "given_for_id", **_RECOGNITIONS},
    "given": {"member": "given_by_id", **_RECOGNITIONS},
    "hi5s_received": {"member": "given_for_id", **_HI5S},
}
LEADER_FIELDS = ("id", "first_name", "last_name", "display_name", "profile_image_url")  # what an entry shows
LEADERBOARD_KINDS = {"received": Kind.RECEIVED, "given": Kind.GIVEN, "hi5s_received": Kind.HI5S}


@dataclass(frozen=True)
class Standings:
    """Members (ids) with at least one, and their counts, by count (descending) then id."""

    members: array
    counts: array

    @classmethod
    def of(cls, rows: list[tuple[int, int]]) -> "Standings":
        """From (member, count) rows by count (descending) then member."""
        return cls(members=array("q", (member for member, _ in rows)), counts=array("q", (count for _, count in rows)))

    @cached_property
    def count_of(self) -> dict[int, int]:
        """Each member's count (made once per process for a cached read: see _Near)."""
        return dict(zip(self.members, self.counts, strict=True))

    @cached_property
    def ascending(self) -> array:
        return self.counts[::-1]


def _closed_standings(organization: Organization, period: Period, *, by: str, core_value_id: int | None) -> Standings:
    if core_value_id is None:
        sql = CLOSED_LEADERBOARD_SQL.format(table="insights_memberdays", of_value="")
    else:  # fixed fragments, the core value itself a parameter
        sql = CLOSED_LEADERBOARD_SQL.format(
            table="insights_membervaluedays", of_value="AND m.core_value_id = %(core_value)s"
        )
    params = {**_days_params(organization, period), "kind": str(LEADERBOARD_KINDS[by]), "core_value": core_value_id}
    return Standings.of(_rows(sql, params))


def _live_counts(organization: Organization, period: Period, *, by: str, core_value_id: int | None) -> dict[int, int]:
    of_value = "" if core_value_id is None else "AND r.core_value_id = %(core_value)s"
    params = {"org": organization.pk, "start": period.start, "end": period.end, "core_value": core_value_id}
    members, counts = _rows(LIVE_LEADERBOARD_SQL.format(**LIVE_COUNTED[by], of_value=of_value), params)[0]
    return dict(zip(members, counts, strict=True))


def ranked(standings: Standings, live: dict[int, int], limit: int) -> list[tuple[int, int, int]]:
    """(member, count, rank) of the top `limit`: the closed days' standings plus the live days' counts.

    Only the members counted in the live days move; the others keep their closed order. Equal counts share
    a rank (1, 2, 2, 4): a rank is 1 + how many members count more, found by bisection in the closed counts,
    the moved members' before and after."""
    count_of = standings.count_of if live else {}
    before = [count_of.get(member, 0) for member in live]
    moved = {member: count + earlier for (member, count), earlier in zip(live.items(), before, strict=True)}
    candidates = []  # (-count, member): sorted as tuples, by count (descending) then member
    for member, count in zip(standings.members, standings.counts, strict=True):
        if len(candidates) >= limit:
            break
        if member not in moved:
            candidates.append((-count, member))
    candidates.extend((-count, member) for member, count in moved.items())
    candidates.sort()
    moved_before = sorted(before)
    moved_after = sorted(moved.values())

    def more_than(ascending, count: int) -> int:
        return len(ascending) - bisect_right(ascending, count)

    def rank(count: int) -> int:
        return (
            1 + more_than(standings.ascending, count) - more_than(moved_before, count) + more_than(moved_after, count)
        )

    return [(member, -negative, rank(-negative)) for negative, member in candidates[:limit]]


def insights_leaderboard(
    organization: Organization, period: Period, *, by: str, core_value_id: int | None, limit: int
) -> list[dict]:
    """The period's top members (active ones: soft-deleted members are left out of rankings) by
    recognitions received or given, or Hi5s received; equal counts share a rank (1, 2, 2, 4), then
    the lower user id first. The closed days' standings are cached, the live days read."""
    if core_value_id is not None and not CoreValue.objects.filter(pk=core_value_id, organization=organization).exists():
        raise UnknownReference(fields={"core_value_id": "No such core value in this organisation"})
    closed, live = _closed_and_live(period)
    standings = Standings.of([])
    if closed is not None:
        version = history_version(organization)
        standings = _remembered(
            organization,
            version,
            closed,
            ("leaderboard", by, core_value_id),
            lambda: _closed_standings(organization, closed, by=by, core_value_id=core_value_id),
        )
    moved = {} if live is None else _live_counts(organization, live, by=by, core_value_id=core_value_id)
    ranking = ranked(standings, moved, limit)
    people = User.objects.only(*LEADER_FIELDS).in_bulk([user_id for user_id, _, _ in ranking])
    return [
        {"rank": rank, "user": people[user_id], "count": count} for user_id, count, rank in ranking if user_id in people
    ]
