"""Every write on API keys and the HRIS employee sync."""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Organization, Role, User
from integrations.errors import AlreadyRevoked, SyncConflict
from integrations.keys import key_generate, key_hash, key_lookup_prefix
from integrations.models import ApiKey, ApiKeyUsage, validate_scopes
from peerly.api.exceptions import AccessDenied, Conflict, InvalidData

# last_used_at is a hint for humans, not an audit log: write it at most once per this interval.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# One INSERT or UPDATE per this many users, far below PostgreSQL's 65,535 bind parameters per query.
SYNC_CHUNK_SIZE = 1000


# --- API keys ----------------------------------------------------------------


def api_key_create(
    *,
    organization: Organization,
    created_by: User | None,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with its secret, which exists nowhere else: show it once, store only the hash."""
    scopes = list(dict.fromkeys(scopes))
    try:
        validate_scopes(scopes)
    except Exception as error:
        raise InvalidData(fields={"scopes": " ".join(getattr(error, "messages", [str(error)]))}) from None
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidData(fields={"expires_at": "Must be in the future."})
    for _attempt in range(3):  # a clash of 72 random bits is all but impossible; retry anyway
        secret = key_generate()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    organization=organization,
                    name=name,
                    scopes=scopes,
                    prefix=key_lookup_prefix(secret),
                    secret_hash=key_hash(secret),
                    created_by=created_by,
                    expires_at=expires_at,
                )
            return key, secret
        except IntegrityError:
            continue
    raise Conflict("Could not generate a unique API key; try again")


def api_key_revoke(*, key: ApiKey, actor: User | None) -> ApiKey:
    """Revoke at once (the key is checked on every request); the row stays for its usage history."""
    now = timezone.now()
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
    if not updated:
        raise AlreadyRevoked()
    key.refresh_from_db()
    return key


def api_key_usage_record(*, key: ApiKey, now: datetime | None = None) -> None:
    """Count one request: one atomic upsert of today's row, plus `last_used_at` at most once a minute."""
    now = now or timezone.now()
    table = connection.ops.quote_name(ApiKeyUsage._meta.db_table)
    with connection.cursor() as cursor:
        # INSERT ... ON CONFLICT DO UPDATE is atomic under concurrency, on PostgreSQL and SQLite alike.
        cursor.execute(
            f"INSERT INTO {table} (key_id, date, request_count) VALUES (%s, %s, 1) "  # noqa: S608 (table name is ours)
            f"ON CONFLICT (key_id, date) DO UPDATE SET request_count = {table}.request_count + 1",
            [key.pk, now.date()],
        )
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).exclude(last_used_at__gt=now - LAST_USED_RESOLUTION).update(last_used_at=now)
        key.last_used_at = now


# --- HRIS employee sync --------------------------------------------------------


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
        elif email.rsplit("@", 1)[-1] not in domains:
            errors[f"{field}.email"] = "The email's domain does not belong to this organisation."
        elif user is not None and user.organization_id != organization.pk:
            errors[f"{field}.email"] = "This email belongs to an account outside this organisation."
        elif row.role_id == Role.SUPER_ADMIN:
            errors[f"{field}.role_id"] = "The super admin role cannot be given by a sync."
        elif user is not None and user.is_super_admin and (not row.active or row.role_id not in (None, user.role_id)):
            errors[f"{field}.email"] = "A super admin cannot be changed or deactivated by a sync."
        elif by_key and (key_error := _key_row_error(row=row, user=user)):
            errors[f"{field}.{key_error[0]}"] = key_error[1]
        elif actor is not None and user is not None and user.pk == actor.pk:
            if not row.active:
                errors[f"{field}.active"] = "You cannot deactivate yourself."
            elif row.role_id not in (None, user.role_id):
                errors[f"{field}.role_id"] = "You cannot change your own role."
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
        to_deactivate: list[int] = []
        to_reactivate: list[int] = []
        for row, email in zip(rows, emails, strict=True):
            user = existing.get(email)
            display_name = row.display_name or f"{row.first_name} {row.last_name}".strip()
            if user is None:
                if row.active:
                    to_create.append(
                        User(
                            email=email,
                            password=make_password(None),
                            organization=organization,
                            first_name=row.first_name,
                            last_name=row.last_name,
                            display_name=display_name[:100],
                            role_id=row.role_id or Role.EMPLOYEE,
                            hi5_quota_balance=organization.hi5_limit,
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
            result.deactivated += missing.update(
                soft_delete_at=now, soft_delete_by=deleted_by, tokens_valid_after=now, updated_at=now
            )
        if to_deactivate:
            User.objects.filter(pk__in=to_deactivate).update(
                soft_delete_at=now, soft_delete_by=deleted_by, tokens_valid_after=now, updated_at=now
            )
        if to_reactivate:
            # Tokens issued before the deletion stay invalid (tokens_valid_after is kept).
            User.objects.filter(pk__in=to_reactivate).update(soft_delete_at=None, soft_delete_by=None, updated_at=now)
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
        if dry_run:
            transaction.set_rollback(True)
    return result


def sync_actor_organization(*, actor: User) -> Organization:
    """The organisation a person's sync applies to: their own."""
    if actor.organization_id is None:
        raise AccessDenied("A super admin without an organisation syncs with the sync_users command")
    return actor.organization
