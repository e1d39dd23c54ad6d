import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower, Upper
from django_otp.models import Device

from accounts.two_factor import recovery_code_hash


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA timezone")


class RenewalFrequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly (Mondays)"
    MONTHLY = "monthly", "Monthly (the 1st)"


class Role(models.IntegerChoices):
    """Stable ids from the original Peerly API."""

    SUPER_ADMIN = 1, "Super admin"
    ORG_ADMIN = 2, "Organisation admin"
    EMPLOYEE = 3, "Employee"
    MODERATOR = 4, "Moderator"


ADMIN_ROLES = frozenset({Role.SUPER_ADMIN, Role.ORG_ADMIN})
MODERATION_ROLES = frozenset({Role.SUPER_ADMIN, Role.ORG_ADMIN, Role.MODERATOR})


class Organization(models.Model):
    name = models.CharField(max_length=100, unique=True)
    contact_email = models.EmailField(blank=True)
    hi5_limit = models.PositiveIntegerField(default=5, help_text="Hi5s each member gets per renewal period.")
    hi5_quota_renewal_frequency = models.CharField(
        max_length=10, choices=RenewalFrequency.choices, default=RenewalFrequency.MONTHLY
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    staff_password_sign_in = models.BooleanField(
        "staff may sign in with a password",
        default=False,
        db_default=False,  # rows inserted by an older release during a rolling deploy: Google only
        help_text="Off: this organisation's admins and moderators sign in to the back office with Google only. "
        "On: also with a password an operator sets (`manage.py set_staff_password`), plus a code from an "
        "authenticator app where two-factor is required. Super admins may always use a password.",
    )
    leaderboard_visible = models.BooleanField(
        "members see the leaderboard",
        default=False,
        db_default=False,
        help_text="On: every member may read the leaderboard (GET /insights/leaderboard) and colleagues' stats "
        "(GET /users/:id/stats). Off: only admins.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(hi5_limit__lte=1000), name="organization_hi5_limit_sane"),
        ]

    def __str__(self) -> str:
        return self.name


class OrganizationDomain(models.Model):
    """An email domain; each belongs to exactly one organisation."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(Lower("domain"), name="organization_domain_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


class UserQuerySet(models.QuerySet):
    def active(self) -> "UserQuerySet":
        """Members who are not soft-deleted: they can sign in and be recognised."""
        return self.filter(soft_delete_at__isnull=True)

    def deleted(self) -> "UserQuerySet":
        return self.filter(soft_delete_at__isnull=False)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str):
        # Emails are stored lower-cased; the admin's login form passes what the person typed.
        return self.get(email__iexact=username.strip())

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("role_id", Role.SUPER_ADMIN)
        fields.setdefault("first_name", "Super")
        fields.setdefault("last_name", "Admin")
        fields.setdefault("display_name", "Super Admin")
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """A member of one organisation (the platform super admin may belong to none)."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    display_name = models.CharField(max_length=100)
    profile_image_url = models.URLField(max_length=500, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role_id = models.PositiveSmallIntegerField(choices=Role.choices, default=Role.EMPLOYEE, db_index=True)
    hi5_quota_balance = models.IntegerField(default=0)
    soft_delete_at = models.DateTimeField(null=True, blank=True)
    soft_delete_by = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Tokens issued before this instant are refused (set when the user is deleted).
    tokens_valid_after = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(hi5_quota_balance__gte=0), name="user_hi5_balance_non_negative"),
            models.CheckConstraint(
                condition=models.Q(organization__isnull=False) | models.Q(role_id=Role.SUPER_ADMIN),
                name="user_has_organization_unless_super_admin",
            ),
        ]
        # `GET /users?starts_with=`: Django renders `name__istartswith` on PostgreSQL as
        # `UPPER(name::text) LIKE UPPER('ze%')`; these match that expression exactly (so the planner can use
        # them, a BitmapOr of the three), scoped to the organisation's active members. `text_pattern_ops`
        # makes a LIKE prefix an index range under any database collation, not only C.
        indexes = [
            models.Index(
                "organization",
                OpClass(Upper("first_name"), name="text_pattern_ops"),
                condition=models.Q(soft_delete_at__isnull=True),
                name="user_active_first_name_upper",
            ),
            models.Index(
                "organization",
                OpClass(Upper("last_name"), name="text_pattern_ops"),
                condition=models.Q(soft_delete_at__isnull=True),
                name="user_active_last_name_upper",
            ),
            models.Index(
                "organization",
                OpClass(Upper("display_name"), name="text_pattern_ops"),
                condition=models.Q(soft_delete_at__isnull=True),
                name="user_active_display_upper",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.email}>"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.soft_delete_at is None

    @property
    def is_super_admin(self) -> bool:
        return self.role_id == Role.SUPER_ADMIN

    @property
    def is_org_admin(self) -> bool:
        return self.role_id in ADMIN_ROLES

    @property
    def can_moderate(self) -> bool:
        return self.role_id in MODERATION_ROLES

    # The Django admin is for super admins, organisation admins and moderators (signed in with Google,
    # or with a password where they have one).
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.can_moderate

    @property
    def is_superuser(self) -> bool:
        return self.is_active and self.is_super_admin

    def has_perm(self, perm: str, obj=None) -> bool:
        return self.is_superuser

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_superuser

    @property
    def may_sign_in_with_password(self) -> bool:
        """The back office's password sign-in: super admins (break-glass), else where the organisation
        chose it (accounts.backends.StaffPasswordBackend)."""
        return self.is_super_admin or (self.organization is not None and self.organization.staff_password_sign_in)


class MemberDirectoryVersion(models.Model):
    """The version of an organisation's member directory: what `GET /users` answers (names, emails,
    pictures, roles, balances, who is active) for that organisation.

    PostgreSQL itself moves it to a new value from a sequence (never reused, even after a rollback)
    whenever a statement inserts, deletes or changes such a column of a member, in that statement's
    transaction (triggers in migration 0006): whoever writes, through whatever path, the version that a
    reader sees is the one of the members it sees. The member search keeps its answers in the cache
    under the version (accounts.selectors.member_search), which the token check reads on each request.
    No row: the directory has not changed since the migration (version 0).
    """

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.version}"


class RevokedToken(models.Model):
    """A JWT revoked before its expiry (logout). Purged once the token would have expired anyway."""

    jti = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.jti


class RecoveryCodes(Device):
    """A staff member's one-use recovery codes for the back office's second factor (a django-otp
    device beside their TOTP device). Only hashes are kept; the codes are shown once, at enrolment."""

    code_hashes = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    class Meta(Device.Meta):
        verbose_name = "recovery codes"
        verbose_name_plural = "recovery codes"

    def verify_token(self, token) -> bool:
        """Accept one unused code and spend it. django_otp.verify_token calls this on a row it holds
        locked (SELECT ... FOR UPDATE), so two requests cannot spend one code twice."""
        digest = recovery_code_hash(token)
        if digest not in self.code_hashes:
            return False
        self.code_hashes = [stored for stored in self.code_hashes if stored != digest]
        self.save(update_fields=["code_hashes"])
        return True
