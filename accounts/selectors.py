"""Reads on users and the organisation's audit trail, always scoped to what the caller may see."""

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.cache import caches
from django.db.models import Count, Q, QuerySet, Window

from accounts.models import Organization, User
from accounts.scoping import requested_organization_id, scope_to_actor, scoped_organization_id
from audit.models import AuditEvent
from peerly.api.exceptions import InvalidData, NotFound
from peerly.api.keyset import Keyset
from peerly.queries import QueryShape


def users_visible_to(actor: User) -> QuerySet[User]:
    """Every user (deleted too) the actor may address by id: their organisation's, or all for a super admin."""
    return scope_to_actor(actor, User.objects.select_related("organization"))


USERS_DENIED = "Only a super admin may list another organisation's users"
# What GET /users renders of a member (accounts.serializers.UserSerializer), as `.values()` names them.
USER_ROW_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "display_name",
    "profile_image_url",
    "role_id",
    "hi5_quota_balance",
    "organization_id",
    "soft_delete_by_id",
    "soft_delete_at",
)
MEMBER_SEARCH_CACHE = "member_search"  # the cache alias (peerly/settings.py)
MEMBER_SEARCH_TTL_SECONDS = 600  # answers are never stale (versioned): this only bounds what is kept
# Cached answers are plain tuples, keyed with the row's fields too: a release that renders other fields
# never reads the rows an older one left in a shared cache.
_MEMBER_SEARCH_KEY = "members:" + hashlib.blake2b(" ".join(USER_ROW_FIELDS).encode(), digest_size=4).hexdigest()


def _active_members(*, organization_id: int | None, starts_with: str) -> QuerySet[User]:
    """Active members of one organisation (None: of every one), by name prefix, in list order."""
    queryset = User.objects.active()
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    if starts_with:
        queryset = queryset.filter(
            Q(first_name__istartswith=starts_with)
            | Q(last_name__istartswith=starts_with)
            | Q(display_name__istartswith=starts_with)
        )
    return queryset.order_by("first_name", "last_name", "id")


# A page and its total in one round trip (`COUNT(*) OVER ()`: no counters keep this total); the count alone
# only for a page past the end, which has no row to carry the total.
_MEMBER_PAGE = QueryShape(
    lambda *, offset, limit, **filters: (
        _active_members(**filters)
        .annotate(total=Window(Count("*")))
        .values(*USER_ROW_FIELDS, "total")[offset : offset + limit]
    )
)
_MEMBER_COUNT = QueryShape(
    lambda **filters: _active_members(**filters).order_by().values("pk"), wrap="SELECT count(*) FROM ({query}) AS m"
)


@dataclass(frozen=True)
class MemberPage:
    total: int
    rows: list[dict[str, Any]]  # USER_ROW_FIELDS


def _directory_key(actor: User, organization_id: int | None, starts_with: str) -> str | None:
    """The cache key prefix of the actor's own organisation's list at the member directory version this
    request read (see member_search), or None where answers are not cached."""
    version = getattr(actor, "member_directory_version", None)
    if version is None or organization_id is None or organization_id != actor.organization_id:
        return None
    digest = hashlib.blake2b(starts_with.encode(), digest_size=12).hexdigest()
    return f"{_MEMBER_SEARCH_KEY}:{organization_id}:{version}:{digest}"


def member_search(
    *, actor: User, limit: int, offset: int, starts_with: str = "", org_id: int | None = None
) -> MemberPage:
    """A page of the active members, optionally by name prefix (first, last or display name,
    case-insensitive), as rows, and its exact total: `GET /users`, the call an SPA makes on every
    keystroke while someone picks a colleague.

    The answer for the actor's own organisation is kept in the cache under the organisation's member
    directory version, which the token check read from the database in this request
    (`actor.member_directory_version`, accounts.authentication) and which PostgreSQL moves in the same
    transaction as any change to a member (accounts.models.MemberDirectoryVersion). So a cached answer is
    the answer at the version this request sees: never one from before a change it can see, whichever
    process made the change or cached the answer. Another organisation's list (a super admin's `org_id`)
    and API keys' reads are not cached. The total is kept on its own too, for the cursor pages
    (`member_listing`).
    """
    organization_id = requested_organization_id(actor, org_id, listing=True, denied=USERS_DENIED)
    prefix = _directory_key(actor, organization_id, starts_with)
    key = None if prefix is None else f"{prefix}:{limit}:{offset}"
    if key is not None:
        cached = caches[MEMBER_SEARCH_CACHE].get(key)
        if cached is not None:
            total, rows = cached
            return MemberPage(total=total, rows=rows)
    rows = _MEMBER_PAGE.rows(organization_id=organization_id, starts_with=starts_with, offset=offset, limit=limit)
    if rows:
        total = rows[0]["total"]
    elif offset:
        total = _MEMBER_COUNT.value(organization_id=organization_id, starts_with=starts_with)
    else:
        total = 0
    for row in rows:
        del row["total"]
    if key is not None:
        caches[MEMBER_SEARCH_CACHE].set_many({key: (total, rows), f"{prefix}:total": total}, MEMBER_SEARCH_TTL_SECONDS)
    return MemberPage(total=total, rows=rows)


@functools.cache
def member_keyset() -> Keyset:
    """The cursors of `GET /users` (the order of `_active_members`; built once: the models must be loaded)."""
    return Keyset.of(_active_members(organization_id=None, starts_with=""))


@dataclass(frozen=True)
class MemberListing:
    """The active members as a `Listing` (peerly/api/pagination.py) for the pages after a cursor: the page
    is a keyset range of the list's order; the total comes from the cache when an offset page of the same
    list at the same member directory version put it there (so scrolling costs one query a page), else it
    is counted (and kept)."""

    organization_id: int | None
    starts_with: str
    total_key: str | None

    @property
    def keyset(self) -> Keyset:
        return member_keyset()

    def count(self) -> int:
        total = None if self.total_key is None else caches[MEMBER_SEARCH_CACHE].get(self.total_key)
        if total is None:
            total = _MEMBER_COUNT.value(organization_id=self.organization_id, starts_with=self.starts_with)
            if self.total_key is not None:
                caches[MEMBER_SEARCH_CACHE].set(self.total_key, total, MEMBER_SEARCH_TTL_SECONDS)
        return total

    def page(self, *, offset: int, limit: int, total: int) -> list[dict[str, Any]]:
        members = _active_members(organization_id=self.organization_id, starts_with=self.starts_with)
        return list(members.values(*USER_ROW_FIELDS)[offset : offset + limit])

    def page_after(self, position: tuple, *, limit: int) -> list[dict[str, Any]]:
        members = _active_members(organization_id=self.organization_id, starts_with=self.starts_with)
        return list(members.filter(self.keyset.after(position)).values(*USER_ROW_FIELDS)[:limit])


def member_listing(*, actor: User, starts_with: str = "", org_id: int | None = None) -> MemberListing:
    """`GET /users` for the pages after a cursor (`before`): see MemberListing."""
    organization_id = requested_organization_id(actor, org_id, listing=True, denied=USERS_DENIED)
    prefix = _directory_key(actor, organization_id, starts_with)
    return MemberListing(
        organization_id=organization_id,
        starts_with=starts_with,
        total_key=None if prefix is None else f"{prefix}:total",
    )


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
