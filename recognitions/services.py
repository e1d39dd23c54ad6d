"""Every write on recognitions and Hi5s, and the quota renewal.

Spending is one conditional UPDATE (`... SET balance = balance - 1 WHERE id = %s AND balance > 0`) in the
same transaction as the insert it pays for: PostgreSQL's row lock serialises concurrent spenders, the
second one re-reads the committed balance, and a balance of 0 matches no row. The CHECK constraint
(`hi5_quota_balance >= 0`) and the unique constraint on Hi5 (recognition, given_by) back it up.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfoNotFoundError

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F
from django.utils import timezone

from accounts.models import Organization, User
from corevalues.models import CoreValue
from peerly.api.db import violates
from peerly.api.exceptions import AccessDenied, UnknownReference
from peerly.events import EventType, event_emit
from peerly.queries import QueryShape, first_rows, instance_from_row
from recognitions.errors import (
    AlreadyHi5,
    InsufficientHi5Balance,
    OwnRecognition,
    ReceiverInactive,
    RecognitionHidden,
    SelfRecognition,
)
from recognitions.models import Hi5, QuotaRenewal, Recognition, RecognitionCounter
from recognitions.quota import quota_period_start

logger = logging.getLogger(__name__)

HI5_UNIQUE_CONSTRAINT = "hi5_once_per_user"


# The spends, written by the ORM once (peerly/queries.py) rather than on every write.
_SPEND = {"hi5_quota_balance": F("hi5_quota_balance") - 1}
_TAKE_ONE = QueryShape(lambda *, user_id: User.objects.filter(pk=user_id, hi5_quota_balance__gt=0), update=_SPEND)
# Locks the recognition FOR UPDATE (if still visible) in the statement that spends (see hi5_give).
_TAKE_ONE_FOR_VISIBLE = QueryShape(
    lambda *, user_id, recognition_id: User.objects.filter(
        Exists(Recognition.objects.select_for_update().visible().filter(pk=recognition_id)),
        pk=user_id,
        hi5_quota_balance__gt=0,
    ),
    update=_SPEND,
)


# What a new recognition reads of its receiver and core value (to check them, then to render it), both in
# one round trip.
_RECEIVER = QueryShape(
    lambda *, pk, organization_id: User.objects.filter(pk=pk, organization_id=organization_id).values(
        "id", "organization_id", "first_name", "last_name", "display_name", "profile_image_url", "soft_delete_at"
    )
)
_CORE_VALUE = QueryShape(
    lambda *, pk, organization_id: CoreValue.objects.filter(pk=pk, organization_id=organization_id).values(
        "id", "organization_id", "parent_id", "text", "description", "thumbnail_url"
    )
)


def _hi5_take_one(*, user: User) -> bool:
    """Take 1 from the user's balance in one conditional UPDATE; False (and nothing changed) at 0."""
    return bool(_TAKE_ONE.execute(user_id=user.pk))


def recognition_create(*, actor: User, given_for: int, core_value_id: int, text: str) -> Recognition:
    """Recognise an active colleague for a core value of the organisation; spends 1 Hi5 from the giver."""
    if given_for == actor.pk:
        raise SelfRecognition()
    if actor.organization_id is None:
        # The role (a super admin of no organisation) does not allow it, whatever the body says: 403.
        raise AccessDenied("Only a member of an organisation can recognise a colleague")
    # Only the giver's own organisation counts, also for a super admin: a recognition is between colleagues.
    # Another organisation's ids read exactly like unknown ones.
    receiver_row, core_value_row = first_rows(
        (_RECEIVER, {"pk": given_for, "organization_id": actor.organization_id}),
        (_CORE_VALUE, {"pk": core_value_id, "organization_id": actor.organization_id}),
    )
    receiver = instance_from_row(User, receiver_row) if receiver_row else None
    core_value = instance_from_row(CoreValue, core_value_row) if core_value_row else None
    unknown: dict[str, str] = {}
    if receiver is None:
        unknown["given_for"] = "Unknown user"
    if core_value is None:
        unknown["core_value_id"] = "Unknown core value"
    if unknown:
        raise UnknownReference(fields=unknown)
    if not receiver.is_active:
        raise ReceiverInactive()
    # No savepoint needed (one query fewer): at balance 0 the UPDATE changes nothing and the block ends
    # normally, the error being raised after it, so a caller's own transaction stays usable; if the INSERT
    # fails, the exception rolls back the whole transaction, spend included.
    with transaction.atomic(savepoint=False):
        spent = _hi5_take_one(user=actor)
        if spent:
            recognition = Recognition.objects.create(
                organization_id=actor.organization_id,
                core_value=core_value,
                given_by=actor,
                given_for=receiver,
                text=text,
            )
            event_emit(
                EventType.RECOGNITION_CREATED, organization_id=actor.organization_id, recognition_id=recognition.pk
            )
    if not spent:
        raise InsufficientHi5Balance()
    actor.hi5_quota_balance = max(actor.hi5_quota_balance - 1, 0)
    recognition.hi5_count = 0
    return recognition


def hi5_give(*, actor: User, recognition: Recognition, comment: str = "") -> Hi5:
    """A Hi5 on someone else's visible recognition, once per person; spends 1 Hi5 from the giver.

    `recognition` may be stale: the spend re-reads its visibility under a row lock, in the Hi5's
    transaction, so a hide committed since is refused, and a review hiding it now (which locks the row
    too) waits for this Hi5 to commit.
    """
    hidden = RecognitionHidden("This recognition was hidden by a moderator and takes no Hi5")
    if recognition.is_hidden:
        raise hidden
    if actor.pk in (recognition.given_by_id, recognition.given_for_id):
        raise OwnRecognition("You cannot Hi5 a recognition you gave or received")
    try:
        with transaction.atomic():
            # One statement locks the recognition FOR UPDATE (if still visible) and spends: a concurrent
            # duplicate waits on that lock, then fails on the unique index below, and the rollback returns
            # its spend. Locking before the insert matters: the insert's foreign-key check share-locks the
            # row, and two givers upgrading share locks would deadlock.
            spent = _TAKE_ONE_FOR_VISIBLE.execute(user_id=actor.pk, recognition_id=recognition.pk)
            if not spent:
                # Nothing was written: say why (a failure path, so the extra reads cost nothing on success).
                if Recognition.objects.filter(pk=recognition.pk, is_hidden=True).exists():
                    recognition.is_hidden = True
                    raise hidden
                if Hi5.objects.filter(recognition=recognition, given_by=actor).exists():
                    raise AlreadyHi5()
                raise InsufficientHi5Balance()
            hi5 = Hi5.objects.create(recognition=recognition, given_by=actor, comment=comment)
            event_emit(
                EventType.HI5_CREATED,
                organization_id=recognition.organization_id,
                recognition_id=recognition.pk,
                hi5_id=hi5.pk,
            )
    except IntegrityError as exc:
        if violates(exc, HI5_UNIQUE_CONSTRAINT):
            raise AlreadyHi5() from None
        raise
    actor.hi5_quota_balance = max(actor.hi5_quota_balance - 1, 0)
    return hi5


# --- Feed counters -------------------------------------------------------------


def recognition_counters_rebuild() -> int:
    """Recount the visible recognitions of every (organisation, core value) from the table.

    The database keeps the counters exact by itself; this is for after a restore or a bulk load made with
    triggers disabled. Writers of recognitions wait during the recount (SHARE lock); readers do not.
    Returns the number of counters written.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE recognitions_recognition IN SHARE MODE")
        RecognitionCounter.objects.all().delete()
        counts = (
            Recognition.objects.visible()
            .order_by()
            .values("organization_id", "core_value_id")
            .annotate(visible=Count("*"))
        )
        counters = RecognitionCounter.objects.bulk_create(RecognitionCounter(**row) for row in counts)
    return len(counters)


# --- Quota renewal -------------------------------------------------------------


@dataclass(frozen=True)
class QuotaRenewalOutcome:
    organization: Organization
    period_start: date | None
    renewed: bool
    users_renewed: int = 0
    reason: str = ""


def hi5_quotas_renew(*, now: datetime | None = None, dry_run: bool = False) -> list[QuotaRenewalOutcome]:
    """Reset every active member's balance to the organisation's `hi5_limit`, once per quota period.

    Each organisation's period is computed in its own timezone (weekly: from Monday 00:00, monthly: from the
    1st 00:00). The reset and the `QuotaRenewal` record of the period are written in one transaction, and the
    record is unique per (organisation, period): re-runs in the same period, even concurrent ones, change
    nothing. An organisation never renewed before is renewed on the first run (its current period is
    recorded). Balances are set, not added to: nothing rolls over. Deleted users are left alone.
    """
    now = now or timezone.now()
    organizations = list(Organization.objects.order_by("id"))
    periods: dict[int, date] = {}
    outcomes: list[QuotaRenewalOutcome] = []
    for organization in organizations:
        try:
            periods[organization.pk] = quota_period_start(
                now=now, frequency=organization.hi5_quota_renewal_frequency, timezone_name=organization.timezone
            )
        except (ValueError, ZoneInfoNotFoundError) as exc:
            # One misconfigured organisation must not stop the others' renewal.
            logger.error("Cannot renew Hi5 quotas of organisation %s: %s", organization.pk, exc)
            outcomes.append(QuotaRenewalOutcome(organization, None, renewed=False, reason=f"misconfigured: {exc}"))
    done = set(
        QuotaRenewal.objects.filter(period_start__gte=min(periods.values(), default=now.date())).values_list(
            "organization_id", "period_start"
        )
    )
    for organization in organizations:
        period_start = periods.get(organization.pk)
        if period_start is None:
            continue
        if (organization.pk, period_start) in done:
            outcomes.append(QuotaRenewalOutcome(organization, period_start, renewed=False, reason="already renewed"))
            continue
        active = User.objects.active().filter(organization=organization)
        if dry_run:
            outcomes.append(QuotaRenewalOutcome(organization, period_start, renewed=True, users_renewed=active.count()))
            continue
        try:
            with transaction.atomic():
                # The insert comes first: a concurrent run of the same period waits here, then fails.
                renewal = QuotaRenewal.objects.create(organization=organization, period_start=period_start)
                renewal.users_renewed = active.update(hi5_quota_balance=organization.hi5_limit)
                renewal.save(update_fields=["users_renewed"])
        except IntegrityError:
            if not QuotaRenewal.objects.filter(organization=organization, period_start=period_start).exists():
                raise
            outcomes.append(QuotaRenewalOutcome(organization, period_start, renewed=False, reason="already renewed"))
            continue
        logger.info(
            "Renewed Hi5 quotas of organisation %s for the period from %s: %s users",
            organization.pk,
            period_start,
            renewal.users_renewed,
        )
        outcomes.append(
            QuotaRenewalOutcome(organization, period_start, renewed=True, users_renewed=renewal.users_renewed)
        )
    return outcomes
