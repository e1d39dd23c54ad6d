"""The weekly digests: on Monday from 09:00 in each organisation's timezone, every member gets their
week (recognitions received, Hi5s left, when they renew) and organisation admins get the
organisation's (counts, top core values, participation). Once a week per organisation: a DigestRun
row, unique per (organisation, week), is written in the transaction that defers the emails, so two
workers (or a retried job) never send a week twice. A worker down on Monday catches up later that
week. The week told of is the seven days before that Monday, local time.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import ADMIN_ROLES, Organization, User
from notifications.models import DigestRun
from notifications.selectors import preferences_of
from notifications.services import notification_email_send
from peerly.events import jobs
from recognitions.models import Hi5, Recognition
from recognitions.quota import quota_next_renewal_at

logger = logging.getLogger(__name__)

DIGEST_HOUR = 9
MEMBER_TASK = "notifications.member_digest_send"
ADMIN_TASK = "notifications.admin_digest_send"


def _week_of(organization: Organization, now: datetime) -> date | None:
    """The Monday of the week whose digest is due now (its 09:00 has passed locally), else None."""
    local = now.astimezone(ZoneInfo(organization.timezone))
    monday = local.date() - timedelta(days=local.weekday())
    due = datetime.combine(monday, time(DIGEST_HOUR), tzinfo=ZoneInfo(organization.timezone))
    return monday if local >= due else None


def weekly_digests_run(*, now: datetime | None = None) -> int:
    """Defer this week's digests of every organisation whose digest is due and not yet sent; how many
    organisations."""
    now = now or timezone.now()
    started = 0
    for organization in Organization.objects.all():
        try:
            monday = _week_of(organization, now)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("Weekly digests of %s skipped: unknown timezone", organization.name)
            continue
        if monday is None or DigestRun.objects.filter(organization=organization, week_start=monday).exists():
            continue
        members = list(User.objects.active().filter(organization=organization).values_list("pk", "role_id"))
        try:
            with transaction.atomic():
                DigestRun.objects.create(organization=organization, week_start=monday, members=len(members))
                week = monday.isoformat()
                if members:
                    jobs(MEMBER_TASK).batch_defer(*({"user_id": pk, "week_start": week} for pk, _ in members))
                admins = [pk for pk, role in members if role in ADMIN_ROLES]
                if admins:
                    jobs(ADMIN_TASK).batch_defer(*({"user_id": pk, "week_start": week} for pk in admins))
        except IntegrityError:
            continue  # another worker started this week's run first
        started += 1
    return started


def _week_bounds(organization: Organization, week_start: date) -> tuple[datetime, datetime]:
    """The seven days before `week_start` (a Monday), local midnight to local midnight."""
    zone = ZoneInfo(organization.timezone)
    end = datetime.combine(week_start, time(), tzinfo=zone)
    return datetime.combine(week_start - timedelta(days=7), time(), tzinfo=zone), end


def _recipient(user_id: int) -> User | None:
    user = User.objects.select_related("organization").filter(pk=user_id).first()
    if user is None or not user.is_active or user.organization is None:
        return None
    return user if preferences_of(user).email_weekly_digest else None


def member_digest_deliver(*, user_id: int, week_start: str) -> bool:
    member = _recipient(user_id)
    if member is None:
        return False
    organization = member.organization
    start, end = _week_bounds(organization, date.fromisoformat(week_start))
    received = list(
        Recognition.objects.visible()
        .filter(given_for=member, given_at__gte=start, given_at__lt=end)
        .select_related("given_by", "core_value")
        .order_by("given_at")
    )
    renews_at = quota_next_renewal_at(
        now=timezone.now(), frequency=organization.hi5_quota_renewal_frequency, timezone_name=organization.timezone
    )
    context = {
        "organization": organization,
        "received": received,
        "week_from": start.date(),
        "week_to": (end - timedelta(days=1)).date(),
        "hi5s_left": member.hi5_quota_balance,
        "renews_at": renews_at,
    }
    notification_email_send(template="member_digest", recipient=member, switch="email_weekly_digest", context=context)
    return True


@dataclass(frozen=True)
class OrganizationWeek:
    recognitions: int
    hi5s: int
    givers: int
    receivers: int
    active_members: int
    participation_percent: int
    top_core_values: list  # [(text, count)], at most 3


def organization_week(organization: Organization, start: datetime, end: datetime) -> OrganizationWeek:
    recognitions = Recognition.objects.visible().filter(
        organization=organization, given_at__gte=start, given_at__lt=end
    )
    counts = recognitions.aggregate(
        total=Count("pk"), givers=Count("given_by", distinct=True), receivers=Count("given_for", distinct=True)
    )
    active = User.objects.active().filter(organization=organization)
    active_count = active.count()
    # In the database: members who gave or received one this week (no id lists through Python).
    taking_part = active.filter(Q(pk__in=recognitions.values("given_by")) | Q(pk__in=recognitions.values("given_for")))
    taking_part = taking_part.count()
    hi5s = Hi5.objects.filter(
        recognition__organization=organization, recognition__is_hidden=False, given_at__gte=start, given_at__lt=end
    ).count()
    top = list(
        recognitions.values("core_value__text")
        .annotate(count=Count("pk"))
        .order_by("-count", "core_value__text")[:3]
        .values_list("core_value__text", "count")
    )
    return OrganizationWeek(
        recognitions=counts["total"],
        hi5s=hi5s,
        givers=counts["givers"],
        receivers=counts["receivers"],
        active_members=active_count,
        participation_percent=round(100 * taking_part / active_count) if active_count else 0,
        top_core_values=top,
    )


def admin_digest_deliver(*, user_id: int, week_start: str) -> bool:
    admin = _recipient(user_id)
    if admin is None or not admin.is_org_admin:
        return False
    organization = admin.organization
    start, end = _week_bounds(organization, date.fromisoformat(week_start))
    context = {
        "organization": organization,
        "week": organization_week(organization, start, end),
        "week_from": start.date(),
        "week_to": (end - timedelta(days=1)).date(),
    }
    notification_email_send(template="admin_digest", recipient=admin, switch="email_weekly_digest", context=context)
    return True
