"""The HRIS employee sync: an HR system's list of people applied to an organisation, all or nothing.

Members are created, deleted and restored through accounts.services (the one home of the user
lifecycle), and a person's sync obeys the same rules as their own requests do.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Organization, Role, User
from accounts.services import (
    email_domain,
    member_build,
    user_role_change_check,
    user_soft_delete_check,
    users_restore,
    users_soft_delete,
)
from audit.models import AuditAction, AuditTarget
from audit.services import audit_event_build, audit_events_save, audit_record
from integrations.errors import SyncConflict
from integrations.models import ApiKey
from peerly.api.exceptions import AccessDenied, InvalidData, PeerlyError

# One INSERT or UPDATE per this many users, far below PostgreSQL's 65,535 bind parameters per query.
SYNC_CHUNK_SIZE = 1000


@dataclass(frozen=True)
class EmployeeRow:
    """One employee as the HR system knows them."""

    email: str
    first_name: str
    last_name: str = ""
    display_name: str = ""
    role_id: int | None = None
    active: bool = True


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    reactivated: int = 0
    unchanged: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _key_row_error(*, row: EmployeeRow, user: User | None) -> tuple[str, str] | None:
    """What an API key may not do to a row: admin roles and admins' accounts are people's decisions.

    A leaked or misconfigured HR integration must not be able to make someone an organisation admin, or
    demote, deactivate or bring back one. Returns (field, message) or None.
    """
    is_admin = user is not None and user.role_id == Role.ORG_ADMIN
    if row.role_id == Role.ORG_ADMIN and not is_admin:
        return "role_id", "An API key cannot grant the organisation admin role."
    if not is_admin:
        return None
    if row.role_id not in (None, Role.ORG_ADMIN):
        return "role_id", "An API key cannot change an organisation admin's role."
    if not row.active and user.is_active:
        return "active", "An API key cannot deactivate an organisation admin."
    if row.active and not user.is_active:
        return "active", "An API key cannot reactivate an organisation admin."
    return None


def _person_refusal(*, actor: User, user: User, row: EmployeeRow) -> tuple[str, str] | None:
    """What accounts' rules refuse a person doing to this row's account (their own, above all), as a row error."""
    try:
        if not row.active and user.is_active:
            user_soft_delete_check(actor=actor, user=user)
        elif user.is_active and row.role_id not in (None, user.role_id):
            user_role_change_check(actor=actor, user=user, role_id=row.role_id, organization_id=user.organization_id)
    except PeerlyError as refusal:
        return ("active" if not row.active else "role_id"), f"{refusal.message}."
    return None


def _row_errors(
    *,
    organization: Organization,
    rows: Sequence[EmployeeRow],
    existing: dict[str, User],
    actor: User | None,
    by_key: bool,
) -> dict[str, str]:
    domains = set(organization.domains.values_list("domain", flat=True))
    errors: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for index, row in enumerate(rows):
        email = row.email.strip().lower()
        field = f"users.{index}"
        user = existing.get(email)
        if email in first_row:
            errors[f"{field}.email"] = f"Duplicate email: also in users.{first_row[email]}."
        elif email_domain(email) not in domains:
            errors[f"{field}.email"] = "The email's domain does not belong to this organisation."
        elif user is not None and user.organization_id != organization.pk:
            errors[f"{field}.email"] = "This email belongs to an account outside this organisation."
        elif row.role_id == Role.SUPER_ADMIN:
            errors[f"{field}.role_id"] = "The super admin role cannot be given by a sync."
        elif user is not None and user.is_super_admin and (not row.active or row.role_id not in (None, user.role_id)):
            errors[f"{field}.email"] = "A super admin cannot be changed or deactivated by a sync."
        elif by_key and (key_error := _key_row_error(row=row, user=user)):
            errors[f"{field}.{key_error[0]}"] = key_error[1]
        elif actor is not None and user is not None and (refusal := _person_refusal(actor=actor, user=user, row=row)):
            errors[f"{field}.{refusal[0]}"] = refusal[1]
        first_row.setdefault(email, index)
    return errors


def _existing_users(emails: list[str]) -> dict[str, User]:
    """Every account (of any organisation) with one of these emails, case-insensitively, in few queries."""
    found: dict[str, User] = {}
    for start in range(0, len(emails), 5 * SYNC_CHUNK_SIZE):
        chunk = emails[start : start + 5 * SYNC_CHUNK_SIZE]
        for user in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=chunk):
            found[user.email_lower] = user
    return found


def users_sync(
    *,
    organization: Organization,
    rows: Sequence[EmployeeRow],
    deactivate_missing: bool = False,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> SyncResult:
    """Bring the organisation's members in line with an HR system's list, all or nothing.

    Creates missing users (employees unless a role is given, full Hi5 balance), updates names and
    roles, soft-deletes rows marked inactive, reactivates soft-deleted users marked active, and leaves
    everyone else alone unless `deactivate_missing`. Any invalid row refuses the whole batch (400 with
    `users.<index>.<field>` errors). `actor` is the person calling (never deactivated or re-roled by
    their own sync). With an `api_key`, rows may not grant or change the organisation admin role nor
    deactivate or reactivate an organisation admin, and `deactivate_missing` spares them. Deactivations
    are recorded as done by the actor, else by the key's creator, else nobody (operator command). A dry
    run computes the same counts and writes nothing.
    """
    now = timezone.now()
    deleted_by = actor or (api_key.created_by if api_key is not None else None)
    result = SyncResult(dry_run=dry_run)
    emails = [row.email.strip().lower() for row in rows]
    with transaction.atomic():
        # One sync per organisation at a time: a second one waits, then sees the first one's users.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        existing = _existing_users(emails)
        errors = _row_errors(
            organization=organization, rows=rows, existing=existing, actor=actor, by_key=api_key is not None
        )
        if errors:
            bad_rows = len({name.split(".")[1] for name in errors})
            raise InvalidData(f"{bad_rows} of {len(rows)} rows are invalid; nothing was written", fields=errors)

        to_create: list[User] = []
        to_update: list[User] = []
        role_changes: list[tuple[User, int]] = []  # (user, role before)
        to_deactivate: list[int] = []
        to_reactivate: list[int] = []
        for row, email in zip(rows, emails, strict=True):
            user = existing.get(email)
            display_name = row.display_name or f"{row.first_name} {row.last_name}".strip()
            if user is None:
                if row.active:
                    to_create.append(
                        member_build(
                            organization=organization,
                            email=email,
                            first_name=row.first_name,
                            last_name=row.last_name,
                            display_name=display_name,
                            role_id=row.role_id or Role.EMPLOYEE,
                        )
                    )
                else:
                    result.unchanged += 1  # an unknown leaver: nothing to do
                continue
            if not row.active:
                if user.is_active:
                    to_deactivate.append(user.pk)
                    result.deactivated += 1
                else:
                    result.unchanged += 1
                continue
            wanted = {
                "first_name": row.first_name,
                "last_name": row.last_name,
                "display_name": display_name[:100],
                "role_id": row.role_id if row.role_id is not None else user.role_id,
            }
            changed = any(getattr(user, name) != value for name, value in wanted.items())
            if changed:
                if user.role_id != wanted["role_id"]:
                    role_changes.append((user, user.role_id))
                for name, value in wanted.items():
                    setattr(user, name, value)
                user.updated_at = now
                to_update.append(user)
            if not user.is_active:
                to_reactivate.append(user.pk)
                result.reactivated += 1
            elif changed:
                result.updated += 1
            else:
                result.unchanged += 1

        if deactivate_missing:
            missing = (
                User.objects.active()
                .filter(organization=organization)
                .exclude(role_id=Role.SUPER_ADMIN)
                .exclude(pk__in=[user.pk for user in existing.values()])
            )
            if actor is not None:
                missing = missing.exclude(pk=actor.pk)
            if api_key is not None:
                missing = missing.exclude(role_id=Role.ORG_ADMIN)
            result.deactivated += users_soft_delete(users=missing, by=deleted_by, api_key=api_key, now=now)
        if to_deactivate:
            users_soft_delete(users=User.objects.filter(pk__in=to_deactivate), by=deleted_by, api_key=api_key, now=now)
        if to_reactivate:
            users_restore(users=User.objects.filter(pk__in=to_reactivate), by=actor, api_key=api_key, now=now)
        if to_update:
            User.objects.bulk_update(
                to_update,
                ["first_name", "last_name", "display_name", "role_id", "updated_at"],
                batch_size=SYNC_CHUNK_SIZE,
            )
        done = len(rows) - len(to_create)
        if progress:
            progress(done)
        try:
            with transaction.atomic():
                for start in range(0, len(to_create), SYNC_CHUNK_SIZE):
                    chunk = to_create[start : start + SYNC_CHUNK_SIZE]
                    User.objects.bulk_create(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done)
        except IntegrityError:
            # Someone signed in for the first time (creating their account) while we ran.
            raise SyncConflict() from None
        result.created = len(to_create)
        audit_events_save(
            audit_event_build(
                action=AuditAction.USER_ROLE_CHANGED,
                target_type=AuditTarget.USER,
                target_id=user.pk,
                organization_id=organization.pk,
                actor=actor,
                api_key=api_key,
                before={"role_id": role_before},
                after={"role_id": user.role_id},
            )
            for user, role_before in role_changes
        )
        counts = {name: value for name, value in result.as_dict().items() if name != "dry_run"}
        audit_record(
            action=AuditAction.USERS_SYNCED,
            target_type=AuditTarget.ORGANIZATION,
            target_id=organization.pk,
            organization_id=organization.pk,
            actor=actor,
            api_key=api_key,
            after={**counts, "rows": len(rows), "deactivate_missing": deactivate_missing},
        )
        if dry_run:
            transaction.set_rollback(True)
    return result


def sync_actor_organization(*, actor: User) -> Organization:
    """The organisation a person's sync applies to: their own."""
    if actor.organization_id is None:
        raise AccessDenied("A super admin without an organisation syncs with the sync_users command")
    return actor.organization
