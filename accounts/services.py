"""Every write on organisations, users and tokens."""

import time
from datetime import UTC, datetime

import django_otp
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.errors import (
    AlreadyDeleted,
    BackOfficeSignInRefused,
    CannotChangeOwnRole,
    CannotDeleteSelf,
    DomainTaken,
    NotDeleted,
    OrganizationRequired,
)
from accounts.google import GoogleProfile, google_profile_from_access_token, google_profile_from_id_token
from accounts.models import (
    ADMIN_ROLES,
    Organization,
    OrganizationDomain,
    RecoveryCodes,
    RenewalFrequency,
    RevokedToken,
    Role,
    User,
)
from accounts.tokens import IssuedToken, token_encode
from accounts.two_factor import (
    GOOGLE_BACKOFFICE_BACKEND,
    is_totp_code,
    recovery_code_hash,
    recovery_codes_generate,
    second_factor_pending,
)
from audit.models import AuditAction, AuditTarget
from audit.services import audit_event_build, audit_events_save, audit_record, changes
from peerly.api.exceptions import AccessDenied, InvalidData, InvalidToken


def email_domain(email: str) -> str:
    """`Ann@Acme.example` -> `acme.example`: the part that decides the organisation."""
    return email.rsplit("@", 1)[-1].strip().lower()


def email_local_part(email: str) -> str:
    """`ann.lee@acme.example` -> `ann.lee`: a name for someone who has given none."""
    return email.strip().rsplit("@", 1)[0]


def organization_for_email(email: str) -> Organization | None:
    domain = (
        OrganizationDomain.objects.select_related("organization").filter(domain__iexact=email_domain(email)).first()
    )
    return domain.organization if domain else None


# --- Sign-in and tokens ------------------------------------------------------


def user_get_or_create_from_google(*, profile: GoogleProfile) -> User:
    """The user behind a verified Google profile; first sign-in creates an employee with a full balance."""
    if not profile.email_verified:
        raise InvalidToken("The Google account's email address is not verified")
    organization = organization_for_email(profile.email)
    if organization is None:
        raise InvalidToken("This email domain does not belong to any organisation on Peerly")
    user = User.objects.select_related("organization").filter(email__iexact=profile.email).first()
    if user is None:
        first_name = profile.given_name or profile.name.split(" ")[0]
        try:
            with transaction.atomic():
                user = member_create(
                    organization=organization,
                    email=profile.email,
                    first_name=first_name,
                    last_name=profile.family_name,
                    display_name=profile.name or first_name,
                    profile_image_url=profile.picture,
                )
        except IntegrityError:
            # A concurrent first sign-in of the same person created the row first.
            user = User.objects.select_related("organization").get(email__iexact=profile.email)
    if not user.is_active:
        raise InvalidToken("This account has been deleted")
    return user


def backoffice_user_for_google(*, profile: GoogleProfile) -> User:
    """The staff member behind a verified Google profile, for the back office: the email's domain picks
    the organisation and the role comes from the database. Never creates anyone."""
    if not profile.email_verified:
        raise BackOfficeSignInRefused("This Google account's email address is not verified.")
    user = User.objects.select_related("organization").filter(email__iexact=profile.email).first()
    if user is not None and user.is_active and user.is_super_admin:
        return user  # operators: their domain need not belong to an organisation
    organization = organization_for_email(profile.email)
    if organization is None:
        raise BackOfficeSignInRefused("This email domain does not belong to any organisation on Peerly.")
    if user is None or not user.is_active or user.organization_id != organization.pk:
        raise BackOfficeSignInRefused(f"{profile.email} has no Peerly account at {organization.name}.")
    if not user.can_moderate:
        raise BackOfficeSignInRefused(
            "The back office is for organisation admins and moderators. Recognitions and Hi5s are in "
            "the Peerly app; ask your HR team if you need access here."
        )
    return user


def user_sign_in_with_google(*, access_token: str | None = None, id_token: str | None = None) -> IssuedToken:
    if id_token:
        profile = google_profile_from_id_token(id_token)
    elif access_token:
        profile = google_profile_from_access_token(access_token)
    else:
        raise InvalidData(fields={"access_token": "Provide access_token or id_token"})
    user = user_get_or_create_from_google(profile=profile)
    return token_encode(user)


def token_revoke(*, user: User, payload: dict) -> None:
    """Revoke one token at once, for every server instance (the table is checked on each request)."""
    RevokedToken.objects.get_or_create(
        jti=payload["jti"],
        defaults={"user": user, "expires_at": datetime.fromtimestamp(payload["exp"], tz=UTC)},
    )


def revoked_tokens_purge(*, now: datetime | None = None) -> int:
    """Delete revocations of tokens that have expired anyway; returns how many."""
    deleted, _ = RevokedToken.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted


# --- Members: created, deleted and restored only here --------------------------


def member_build(
    *,
    organization: Organization,
    email: str,
    first_name: str = "",
    last_name: str = "",
    display_name: str = "",
    role_id: int = Role.EMPLOYEE,
    profile_image_url: str = "",
) -> User:
    """A new member of the organisation, not saved yet (the HRIS sync saves thousands in one query).

    The organisation's defaults: a full Hi5 balance and no usable password (members sign in with Google).
    The first name defaults to the email's local part, the display name to "first last".
    """
    email = User.objects.normalize_email(email.strip()).lower()
    first_name = (first_name or email_local_part(email))[:100]
    user = User(
        email=email,
        organization=organization,
        first_name=first_name,
        last_name=last_name[:100],
        display_name=(display_name or f"{first_name} {last_name}".strip())[:100],
        profile_image_url=profile_image_url[:500],
        role_id=role_id,
        hi5_quota_balance=organization.hi5_limit,
    )
    user.set_unusable_password()
    return user


def member_create(*, password: str | None = None, **fields) -> User:
    """Create a member (see member_build); a password only for staff who use the admin's password login."""
    user = member_build(**fields)
    if password:
        user.set_password(password)
    user.save()
    return user


def _users_status_change(
    *, users: QuerySet[User], deleted: bool, by: User | None, api_key, now: datetime | None
) -> int:
    now = now or timezone.now()
    with transaction.atomic():
        candidates = users.active() if deleted else users.deleted()
        rows = list(candidates.select_for_update().values_list("pk", "organization_id"))
        if not rows:
            return 0
        changed = User.objects.filter(pk__in=[pk for pk, _ in rows])
        if deleted:
            changed.update(soft_delete_at=now, soft_delete_by=by, tokens_valid_after=now, updated_at=now)
        else:
            changed.update(soft_delete_at=None, soft_delete_by=None, updated_at=now)
        audit_events_save(
            audit_event_build(
                action=AuditAction.USER_DELETED if deleted else AuditAction.USER_RESTORED,
                target_type=AuditTarget.USER,
                target_id=pk,
                organization_id=organization_id,
                actor=by,
                api_key=api_key,
                before={"is_active": deleted},
                after={"is_active": not deleted},
            )
            for pk, organization_id in rows
        )
    return len(rows)


def users_soft_delete(*, users: QuerySet[User], by: User | None, api_key=None, now: datetime | None = None) -> int:
    """Soft-delete the active users of `users`; returns how many. Each one is audited as done by `by`
    (or by `api_key`, the HRIS sync's key, when given).

    They can no longer sign in, their tokens stop at once (`tokens_valid_after`), their recognitions stay.
    The rules of who may delete whom are the caller's: user_soft_delete_check for a person's request.
    """
    return _users_status_change(users=users, deleted=True, by=by, api_key=api_key, now=now)


def users_restore(*, users: QuerySet[User], by: User | None, api_key=None, now: datetime | None = None) -> int:
    """Undo the soft delete of the deleted users of `users` (audited like users_soft_delete);
    tokens from before it stay invalid."""
    return _users_status_change(users=users, deleted=False, by=by, api_key=api_key, now=now)


# --- Users -------------------------------------------------------------------


def user_update_profile(
    *, user: User, first_name: str, last_name: str, display_name: str, profile_image_url: str | None = None
) -> User:
    user.first_name = first_name
    user.last_name = last_name
    user.display_name = display_name
    fields = ["first_name", "last_name", "display_name", "updated_at"]
    if profile_image_url is not None:
        user.profile_image_url = profile_image_url
        fields.append("profile_image_url")
    user.save(update_fields=fields)
    return user


def user_role_change_check(*, actor: User, user: User, role_id: int, organization_id: int | None) -> None:
    """Every rule of a role change, for `PUT /users/:id` and the admin's user form; raises, writes nothing.

    `organization_id` is the organisation the user will have (the admin form may change both at once).
    """
    if user.pk == actor.pk:
        raise CannotChangeOwnRole()
    if not actor.is_super_admin and (role_id == Role.SUPER_ADMIN or user.is_super_admin):
        raise AccessDenied("Only a super admin can grant or change the super admin role")
    if not user.is_active:
        raise AlreadyDeleted()
    if role_id != Role.SUPER_ADMIN and organization_id is None:
        raise OrganizationRequired()


@transaction.atomic
def user_change_role(*, actor: User, user: User, role_id: int) -> User:
    user_role_change_check(actor=actor, user=user, role_id=role_id, organization_id=user.organization_id)
    before = user.role_id
    if before == role_id:
        return user
    user.role_id = role_id
    user.save(update_fields=["role_id", "updated_at"])
    audit_record(
        action=AuditAction.USER_ROLE_CHANGED,
        target_type=AuditTarget.USER,
        target_id=user.pk,
        organization_id=user.organization_id,
        actor=actor,
        before={"role_id": before},
        after={"role_id": role_id},
    )
    return user


def user_soft_delete_check(*, actor: User, user: User) -> None:
    """Every rule of deleting someone, for `DELETE /users/:id`, the admin and the HRIS sync; writes nothing."""
    if user.pk == actor.pk:
        raise CannotDeleteSelf()
    if not actor.is_super_admin and user.is_super_admin:
        raise AccessDenied("Only a super admin can delete a super admin")


def user_soft_delete(*, actor: User, user: User) -> User:
    """Soft delete: the user can no longer sign in, their tokens stop at once, their recognitions stay."""
    user_soft_delete_check(actor=actor, user=user)
    if not users_soft_delete(users=User.objects.filter(pk=user.pk), by=actor):
        raise AlreadyDeleted()
    user.refresh_from_db()
    return user


def user_restore(*, actor: User, user: User) -> User:
    """Undo a soft delete (tokens from before it stay invalid); a super admin is restored only by a super admin."""
    if not actor.is_super_admin and user.is_super_admin:
        raise AccessDenied("Only a super admin can restore a super admin")
    if not users_restore(users=User.objects.filter(pk=user.pk), by=actor):
        raise NotDeleted()
    user.refresh_from_db()
    return user


# --- Back-office sign-ins (the audit trail) -----------------------------------


def _staff_event(
    *, action: str, user: User, request=None, actor: User | None = None, after: dict | None = None
) -> None:
    """An audit event about a staff member's own sign-in (the actor: themselves, or None for an operator)."""
    audit_record(
        action=action,
        target_type=AuditTarget.USER,
        target_id=user.pk,
        organization_id=user.organization_id,
        actor=actor,
        after=after,
        request=request,
    )


def staff_sign_in_record(*, user: User, request, backend: str = "") -> None:
    """Audit a back-office sign-in (Django's `user_logged_in`): who, how, from where; for a password
    that still owes its second factor, says so (staff.second_factor_passed follows when it is passed)."""
    method = "google" if backend == GOOGLE_BACKOFFICE_BACKEND else "password"
    after = {"method": method}
    if request is not None and second_factor_pending(request):
        after["second_factor"] = "pending"
    with transaction.atomic():
        _staff_event(action=AuditAction.STAFF_SIGNED_IN, user=user, actor=user, after=after, request=request)


def staff_sign_in_failure_record(*, username: str, method: str, request) -> None:
    """Audit a refused back-office sign-in (Django's `user_login_failed`): wrong password, wrong code,
    refused Google account. The organisation is the account's, else the one owning the email's domain."""
    username = (username or "").strip()[:254]
    user = User.objects.filter(email__iexact=username).first() if username else None
    if user is not None:
        organization_id = user.organization_id
    else:
        organization = organization_for_email(username) if "@" in username else None
        organization_id = organization.pk if organization is not None else None
    with transaction.atomic():
        audit_record(
            action=AuditAction.STAFF_SIGN_IN_FAILED,
            target_type=AuditTarget.USER,
            target_id=user.pk if user is not None else None,
            organization_id=organization_id,
            actor=None,
            after={"method": method, "username": username},
            request=request,
        )


# --- The back office's second factor (accounts/two_factor.py) ------------------


def staff_totp_enrol(*, user: User, key: str, code: str, request) -> tuple[TOTPDevice, list[str]] | None:
    """Pair the authenticator app holding `key` (the hex secret shown on this session's enrolment page,
    accounts.two_factor_views) with a code it computes, and issue the recovery codes (returned once,
    stored hashed). None when the code is wrong (audited), or when the member has an authenticator
    already: enrolment never replaces one (an operator resets it: staff_totp_reset). Nothing is stored
    before the code is right, so a secret shown to one session is never another's."""
    code = str(code).replace(" ", "")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one enrolment of a member at a time
        totp = TOTP(bytes.fromhex(key))
        totp.time = time.time()
        right = is_totp_code(code) and totp.verify(int(code), tolerance=1)
        if not right or TOTPDevice.objects.filter(user=user).exists():
            staff_sign_in_failure_record(username=user.email, method="totp", request=request)
            return None
        # The code just used is spent (django-otp accepts only later time steps).
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", key=key, last_t=totp.t())
        codes = recovery_codes_generate()
        RecoveryCodes.objects.filter(user=user).delete()
        RecoveryCodes.objects.create(
            user=user, name="Recovery codes", code_hashes=[recovery_code_hash(code) for code in codes]
        )
        after = {"recovery_codes": len(codes)}
        _staff_event(action=AuditAction.STAFF_TOTP_ENROLLED, user=user, actor=user, after=after, request=request)
    return device, codes


def staff_second_factor_verify(*, user: User, code: str, request) -> Device | None:
    """The device that accepts `code` (a TOTP code, or a recovery code, which is spent), audited either
    way; None when neither does. A TOTP code is accepted once (django-otp keeps the last time step) and
    wrong ones slow the device down (django-otp's throttling)."""
    code = str(code).strip()
    method = "totp" if is_totp_code(code) else "recovery_code"
    model = TOTPDevice if method == "totp" else RecoveryCodes
    stored = model.objects.filter(user=user, confirmed=True).order_by("pk").first()
    with transaction.atomic():
        device = django_otp.verify_token(user, stored.persistent_id, code.replace(" ", "")) if stored else None
        if device is None:
            staff_sign_in_failure_record(username=user.email, method=method, request=request)
            return None
        after = {"method": method}
        if isinstance(device, RecoveryCodes):
            after["recovery_codes_left"] = len(device.code_hashes)
        _staff_event(action=AuditAction.STAFF_SECOND_FACTOR_PASSED, user=user, actor=user, after=after, request=request)
    return device


def staff_second_factor_locked_until(*, user: User) -> datetime | None:
    """Until when django-otp refuses every code of the member's authenticator after wrong ones."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        return None
    allowed, info = device.verify_is_allowed()
    return None if allowed else (info or {}).get("locked_until")


def staff_sessions_end(*, user: User) -> int:
    """End every back-office session of the member (the database session store); how many."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            session.delete()
            ended += 1
    return ended


def staff_totp_reset(*, user: User) -> bool:
    """Forget a staff member's authenticator and recovery codes (a lost phone) and end their
    back-office sessions (one on a lost laptop must not enrol a new phone without the password): their
    next password sign-in enrols again. An operator's act (manage.py reset_staff_totp), audited; False
    if nothing was enrolled."""
    with transaction.atomic():
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        removed += RecoveryCodes.objects.filter(user=user).delete()[0]
        staff_sessions_end(user=user)
        if removed:
            _staff_event(action=AuditAction.STAFF_TOTP_RESET, user=user)
    return bool(removed)


# --- Organisations -------------------------------------------------------------


def _organization_settings(organization: Organization) -> dict:
    """The organisation's own settings (what the audit trail compares), by attribute name."""
    return {
        field.attname: getattr(organization, field.attname)
        for field in Organization._meta.concrete_fields
        if field.editable and not field.primary_key
    }


@transaction.atomic
def organization_save(*, actor: User | None, organization: Organization) -> Organization:
    """Save an organisation as edited (the admin's form), auditing the settings that changed."""
    previous = None
    if organization.pk is not None:
        # FOR NO KEY UPDATE: writers of recognitions share-lock the organisation's key (their foreign key);
        # FOR UPDATE would make them wait here while a timezone change waits for them (a deadlock).
        stored = Organization.objects.select_for_update(no_key=True).filter(pk=organization.pk).first()
        previous = _organization_settings(stored) if stored is not None else None
    organization.save()
    after = _organization_settings(organization)
    if previous is None:
        before, changed = None, after
    else:
        before, changed = changes(previous, after)
        if not changed:
            return organization
    audit_record(
        action=AuditAction.ORGANIZATION_CREATED if previous is None else AuditAction.ORGANIZATION_UPDATED,
        target_type=AuditTarget.ORGANIZATION,
        target_id=organization.pk,
        organization_id=organization.pk,
        actor=actor,
        before=before,
        after=changed,
    )
    return organization


def organization_domains(organization: Organization) -> list[str]:
    return sorted(OrganizationDomain.objects.filter(organization=organization).values_list("domain", flat=True))


def organization_domains_record(*, actor: User | None, organization: Organization, before: list[str]) -> None:
    """Audit a change of the email domains (who signs in to this organisation), in the caller's
    transaction, once the domains are saved; nothing when they are the same."""
    after = organization_domains(organization)
    if after != before:
        audit_record(
            action=AuditAction.ORGANIZATION_DOMAINS_CHANGED,
            target_type=AuditTarget.ORGANIZATION,
            target_id=organization.pk,
            organization_id=organization.pk,
            actor=actor,
            before={"domains": before},
            after={"domains": after},
        )


@transaction.atomic
def organization_setup(
    *,
    name: str,
    domains: list[str],
    hi5_limit: int | None = None,
    renewal: str | None = None,
    timezone_name: str | None = None,
    contact_email: str | None = None,
    staff_password_sign_in: bool | None = None,
) -> tuple[Organization, bool]:
    """Create an organisation with its domains, or bring an existing one (same name) up to date.

    Idempotent; refuses (before writing anything) a domain owned by another organisation.
    """
    domains = sorted({d.strip().lower() for d in domains if d.strip()})
    if not domains:
        raise InvalidData(fields={"domain": "At least one email domain is required"})
    organization = Organization.objects.select_for_update(no_key=True).filter(name=name).first()
    for owned in OrganizationDomain.objects.filter(domain__in=domains).select_related("organization"):
        if organization is None or owned.organization_id != organization.pk:
            raise DomainTaken(f"The domain {owned.domain} belongs to {owned.organization.name}")
    created = organization is None
    if created:
        organization = Organization(name=name)
    if hi5_limit is not None:
        organization.hi5_limit = hi5_limit
    if renewal is not None:
        organization.hi5_quota_renewal_frequency = RenewalFrequency(renewal)
    if timezone_name is not None:
        organization.timezone = timezone_name
    if contact_email is not None:
        organization.contact_email = contact_email
    if staff_password_sign_in is not None:
        organization.staff_password_sign_in = staff_password_sign_in
    organization.full_clean()
    organization_save(actor=None, organization=organization)
    before = organization_domains(organization)
    for domain in domains:
        OrganizationDomain.objects.get_or_create(organization=organization, domain=domain)
    organization_domains_record(actor=None, organization=organization, before=before)
    return organization, created


def organization_admin_ensure(*, organization: Organization, email: str) -> User:
    """Make EMAIL an organisation admin of the organisation (creating the user if needed)."""
    email = email.strip().lower()
    if organization_for_email(email) != organization:
        raise InvalidData(fields={"admin_email": "The admin's email domain must belong to the organisation"})
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and user.organization_id not in (None, organization.pk):
        # Their domain moved to this organisation since: promoting them would make them admin of the other one.
        raise InvalidData(fields={"admin_email": "This account belongs to another organisation"})
    if user is None:
        return member_create(organization=organization, email=email, role_id=Role.ORG_ADMIN)
    if user.role_id not in ADMIN_ROLES:
        user.role_id = Role.ORG_ADMIN
        user.save(update_fields=["role_id", "updated_at"])
    return user
