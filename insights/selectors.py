"""Reads of the insights, always within one organisation (the caller's; a super admin names one)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Window
from django.db.models.functions import Rank, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from accounts.models import Organization, User
from accounts.scoping import reaches, target_organization
from corevalues.models import CoreValue
from insights.periods import Period
from peerly.api.exceptions import AccessDenied, NotFound, UnknownReference
from recognitions.models import Hi5, Recognition
from recognitions.quota import quota_next_renewal_at

TOP_CORE_VALUES = 3
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


def member_stats(member: User) -> MemberStats:
    """A member's record, all time: hidden recognitions (and their Hi5s) left out. Five queries whatever
    the member's history (each on an index of the giver or the receiver)."""
    organization = member.organization
    tz = ZoneInfo(organization.timezone)
    given = Recognition.objects.visible().filter(given_by=member)
    received = Recognition.objects.visible().filter(given_for=member)
    giving = given.aggregate(count=Count("id"), first=Min("given_at"), last=Max("given_at"))
    top = list(
        received.values("core_value_id", "core_value__text")
        .annotate(count=Count("id"))
        .order_by("-count", "core_value__text", "core_value_id")[:TOP_CORE_VALUES]
    )
    weeks = set(
        given.annotate(week=TruncWeek("given_at", tzinfo=tz)).values_list("week", flat=True).distinct().order_by()
    )
    now = timezone.now()
    this_week = now.astimezone(tz).date() - timedelta(days=now.astimezone(tz).weekday())
    return MemberStats(
        given=giving["count"],
        received=received.count(),
        hi5s_received=Hi5.objects.filter(recognition__in=received).count(),
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
        weeks_streak=weeks_streak({week.date() for week in weeks}, this_week=this_week),
    )


# --- the organisation's insights (organisation admins; the leaderboard for members where visible) --------


def _visible_in(organization: Organization, period: Period):
    return Recognition.objects.visible().filter(
        organization=organization, given_at__gte=period.start, given_at__lt=period.end
    )


def _hi5s_in(organization: Organization, period: Period):
    """Hi5s given in the period, on the organisation's visible recognitions."""
    return Hi5.objects.filter(
        recognition__organization=organization,
        recognition__is_hidden=False,
        given_at__gte=period.start,
        given_at__lt=period.end,
    )


def _counts(organization: Organization, period: Period, active_members: int) -> dict:
    visible = _visible_in(organization, period)
    totals = visible.aggregate(
        recognitions=Count("id"), givers=Count("given_by", distinct=True), receivers=Count("given_for", distinct=True)
    )
    participants = (
        User.objects.active()
        .filter(organization=organization)
        .filter(Exists(visible.filter(given_by=OuterRef("pk"))) | Exists(visible.filter(given_for=OuterRef("pk"))))
        .count()
    )
    by_value = dict(visible.order_by().values_list("core_value_id").annotate(count=Count("id")))
    return {
        **totals,
        "hi5s": _hi5s_in(organization, period).count(),
        "active_members": active_members,
        "participation_rate": round(participants / active_members, 4) if active_members else 0.0,
        "by_core_value": by_value,
    }


def insights_summary(organization: Organization, period: Period) -> dict:
    """The period's counts, and the same for the period of equal length just before."""
    active_members = User.objects.active().filter(organization=organization).count()
    values = list(CoreValue.objects.filter(organization=organization).order_by("id").values_list("id", "text"))
    result = {}
    for key, one in (("current", period), ("previous", period.previous())):
        counts = _counts(organization, one, active_members)
        by_value = counts.pop("by_core_value")
        counts["by_core_value"] = [
            {"core_value_id": value_id, "text": text, "count": by_value.get(value_id, 0)} for value_id, text in values
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
        if interval == "day":
            day += timedelta(days=1)
        elif interval == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


def insights_timeline(organization: Organization, period: Period, interval: str) -> list[dict]:
    """One point per day, week (from Monday) or month of the period, zero-filled (the first and last
    may be partial: they count only the period's days)."""
    trunc = TRUNC[interval]
    tz = period.tz
    recognitions = {
        row["bucket"].date(): row
        for row in _visible_in(organization, period)
        .annotate(bucket=trunc("given_at", tzinfo=tz))
        .order_by()
        .values("bucket")
        .annotate(recognitions=Count("id"), givers=Count("given_by", distinct=True))
    }
    hi5s = dict(
        (bucket.date(), count)
        for bucket, count in _hi5s_in(organization, period)
        .annotate(bucket=trunc("given_at", tzinfo=tz))
        .order_by()
        .values_list("bucket")
        .annotate(count=Count("id"))
    )
    return [
        {
            "start": start,
            "recognitions": recognitions.get(start, {}).get("recognitions", 0),
            "hi5s": hi5s.get(start, 0),
            "givers": recognitions.get(start, {}).get("givers", 0),
        }
        for start in _bucket_starts(period, interval)
    ]


LEADERBOARD_MAX = 50


def leaderboard_organization(*, actor: User, org_id: int | None) -> Organization:
    """Admins read their organisation's leaderboard (a super admin any); members only where it is visible."""
    organization = insights_organization(actor=actor, org_id=org_id)
    if not actor.is_org_admin and not organization.leaderboard_visible:
        raise AccessDenied("This organisation keeps its leaderboard to its admins")
    return organization


def insights_leaderboard(
    organization: Organization, period: Period, *, by: str, core_value_id: int | None, limit: int
) -> list[dict]:
    """The period's top members (active ones: soft-deleted members are left out of rankings) by
    recognitions received or given, or Hi5s received; equal counts share a rank (1, 2, 2, 4), then
    the lower user id first."""
    if core_value_id is not None and not CoreValue.objects.filter(pk=core_value_id, organization=organization).exists():
        raise UnknownReference(fields={"core_value_id": "No such core value in this organisation"})
    if by == "hi5s_received":
        rows = _hi5s_in(organization, period)
        if core_value_id is not None:
            rows = rows.filter(recognition__core_value_id=core_value_id)
        person, active = "recognition__given_for", {"recognition__given_for__soft_delete_at__isnull": True}
    else:
        rows = _visible_in(organization, period)
        if core_value_id is not None:
            rows = rows.filter(core_value_id=core_value_id)
        person = "given_for" if by == "received" else "given_by"
        active = {f"{person}__soft_delete_at__isnull": True}
    ranked = (
        rows.filter(**active)
        .order_by()
        .values(person)
        .annotate(count=Count("id"), rank=Window(Rank(), order_by=F("count").desc()))
        .order_by("-count", person)[:limit]
    )
    ranking = [(row[person], row["count"], row["rank"]) for row in ranked]
    people = User.objects.in_bulk([user_id for user_id, _, _ in ranking])
    return [
        {"rank": rank, "user": people[user_id], "count": count} for user_id, count, rank in ranking if user_id in people
    ]
