"""Reads on users and the organisation's audit trail, always scoped to what the caller may see."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from accounts.models import Organization, User
from accounts.scoping import scope_to_actor, scoped_organization_id
from audit.models import AuditEvent
from peerly.api.exceptions import InvalidData, NotFound


def users_visible_to(actor: User) -> QuerySet[User]:
    """Every user (deleted too) the actor may address by id: their organisation's, or all for a super admin."""
    return scope_to_actor(actor, User.objects.select_related("organization"))


def user_list(*, actor: User, starts_with: str = "", org_id: int | None = None) -> QuerySet[User]:
    """Active members, optionally by name prefix (first, last or display name, case-insensitive)."""
    queryset = scope_to_actor(
        actor,
        User.objects.select_related("organization").active(),
        org_id=org_id,
        listing=True,
        denied="Only a super admin may list another organisation's users",
    )
    if starts_with:
        queryset = queryset.filter(
            Q(first_name__istartswith=starts_with)
            | Q(last_name__istartswith=starts_with)
            | Q(display_name__istartswith=starts_with)
        )
    return queryset.order_by("first_name", "last_name", "id")


def user_get(*, actor: User, user_id: int) -> User:
    user = users_visible_to(actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found")
    return user


# --- The audit trail -------------------------------------------------------------


def _moment(value: date | datetime, tz: ZoneInfo, *, end: bool) -> datetime:
    """Where a half-open range [from, to) starts or stops: both bounds are inclusive for the caller,
    and a date means its whole day in the organisation's timezone."""
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1) if end else value
    return datetime.combine(value + timedelta(days=1) if end else value, time.min, tzinfo=tz)


def audit_event_list(
    *,
    actor: User,
    actor_id: int | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    from_: date | datetime | None = None,
    to: date | datetime | None = None,
    org_id: int | None = None,
) -> QuerySet[AuditEvent]:
    """The organisation's audit events, newest first, filtered; dates are days in its timezone."""
    queryset = scope_to_actor(
        actor,
        AuditEvent.objects.all(),
        org_id=org_id,
        listing=True,
        denied="Only a super admin may read another organisation's audit trail",
    )
    tz = UTC
    if any(isinstance(bound, date) and not isinstance(bound, datetime) for bound in (from_, to)):
        # Only a day needs the organisation's timezone; a list without one costs no extra query.
        organization_id = org_id if org_id is not None else scoped_organization_id(actor, listing=True)
        organization = Organization.objects.filter(pk=organization_id).first() if organization_id else None
        tz = ZoneInfo(organization.timezone) if organization is not None else UTC
    try:
        start = _moment(from_, tz, end=False) if from_ is not None else None
        end = _moment(to, tz, end=True) if to is not None else None
    except OverflowError:  # the last day there is: its end is past what a datetime holds
        raise InvalidData(fields={"to": "Must be a day before 9999-12-31."}) from None
    if start is not None and end is not None and start >= end:
        raise InvalidData(fields={"to": "Must be after `from`."})
    if actor_id is not None:
        queryset = queryset.filter(actor_user_id=actor_id)
    if action:
        queryset = queryset.filter(action=action)
    if target_type:
        queryset = queryset.filter(target_type=target_type)
    if target_id is not None:
        queryset = queryset.filter(target_id=str(target_id))
    if start is not None:
        queryset = queryset.filter(created_at__gte=start)
    if end is not None:
        queryset = queryset.filter(created_at__lt=end)
    return queryset.order_by("-created_at", "-id")


def audit_event_get(*, actor: User, event_id: int) -> AuditEvent:
    event = scope_to_actor(actor, AuditEvent.objects.all()).filter(pk=event_id).first()
    if event is None:
        raise NotFound("Audit event not found")
    return event


def staff_has_authenticator(user: User) -> bool:
    """Whether a staff member has enrolled an authenticator app for the back office's second factor."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
