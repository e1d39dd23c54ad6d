from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.admin_mixins import (
    ADMINS,
    NOBODY,
    SUPER_ADMINS,
    ScopedInline,
    ScopedModelAdmin,
    is_super_admin,
    staff_role,
)
from accounts.models import Organization, OrganizationDomain, Role, User
from audit.models import AuditEvent
from peerly.api.exceptions import PeerlyError

# django-otp's own admin of TOTP devices would show super admins every member's secret key: the
# back office leaves it out (a lost authenticator is reset with `manage.py reset_staff_totp`).
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


class OrganizationDomainInline(ScopedInline, admin.TabularInline):
    """Domains decide who signs in to which organisation, so only the platform operator edits them."""

    model = OrganizationDomain
    extra = 0
    view_roles = ADMINS
    add_roles = change_roles = delete_roles = SUPER_ADMINS
    parent_organization_lookup = "pk"


@admin.register(Organization)
class OrganizationAdmin(ScopedModelAdmin):
    list_display = ["name", "domain_list", "hi5_limit", "hi5_quota_renewal_frequency", "timezone"]
    search_fields = ["name", "domains__domain"]
    inlines = [OrganizationDomainInline]
    fields = [
        "name",
        "contact_email",
        "hi5_limit",
        "hi5_quota_renewal_frequency",
        "timezone",
        "staff_password_sign_in",
        "leaderboard_visible",
    ]
    organization_lookup = "pk"
    view_roles = change_roles = ADMINS
    add_roles = delete_roles = SUPER_ADMINS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return super().get_queryset(request).prefetch_related("domains")

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # Renaming is the platform operator's job (the name is unique across organisations).
        return [] if is_super_admin(request) else ["name"]

    def save_model(self, request: HttpRequest, obj: Organization, form, change: bool) -> None:
        services.organization_save(actor=request.user, organization=obj)  # audits the changed settings

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # In the admin's transaction: the domains as they were, saved by the inline, then audited.
        before = services.organization_domains(form.instance) if change else []
        super().save_related(request, form, formsets, change)
        services.organization_domains_record(actor=request.user, organization=form.instance, before=before)

    @admin.display(description="email domains")
    def domain_list(self, obj: Organization) -> str:
        return ", ".join(domain.domain for domain in obj.domains.all())


class UserStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("deleted", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.active()
        if self.value() == "deleted":
            return queryset.deleted()
        return queryset


class UserAdminForm(UserChangeForm):
    """Role changes follow the same rules as `PUT /users/:id` (see accounts.services.user_change_role)."""

    actor: User

    profile_image_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = User
        fields = ["first_name", "last_name", "display_name", "profile_image_url", "organization", "role_id"]

    def clean_role_id(self):
        role_id = self.cleaned_data["role_id"]
        user = self.instance
        if user.pk is None or role_id == user.role_id:
            return role_id
        # `organization` comes before `role_id` in the form, so it is cleaned already (absent if read-only).
        organization = self.cleaned_data.get("organization", user.organization)
        try:
            services.user_role_change_check(
                actor=self.actor, user=user, role_id=role_id, organization_id=organization.pk if organization else None
            )
        except PeerlyError as error:
            raise forms.ValidationError(error.message) from None
        return role_id


@admin.register(User)
class UserAdmin(ScopedModelAdmin, DjangoUserAdmin):
    """Members of the organisation: role changes, soft delete and restore, admin passwords.

    Users are created by their first Google sign-in (or `create_organization --admin-email`), never
    here; and never hard-deleted, since their recognitions stay.
    """

    form = UserAdminForm
    organization_column_position = 2
    list_display = ["email", "display_name", "role_id", "status", "hi5_quota_balance", "has_admin_password"]
    list_filter = ["role_id", UserStatusFilter]
    search_fields = ["email", "first_name", "last_name", "display_name"]
    ordering = ["email"]
    filter_horizontal = []
    actions = ["soft_delete_users", "restore_users"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "display_name", "profile_image_url"]}),
        ("Organisation and role", {"fields": ["organization", "role_id", "hi5_quota_balance"]}),
        ("Status", {"fields": ["soft_delete_at", "soft_delete_by", "last_login", "created_at", "updated_at"]}),
    ]
    view_roles = change_roles = ADMINS
    add_roles = delete_roles = NOBODY

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).select_related("organization")

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # A super admin's record (role, names, password) is the platform operator's alone.
        if obj is not None and obj.is_super_admin and not is_super_admin(request):
            return False
        return super().has_change_permission(request, obj)

    def may_set_password(self, request: HttpRequest, user: User) -> bool:
        """Super admins set anyone's admin password; organisation admins only their moderators'.

        Setting someone's password is signing in as them, so an organisation admin must not reach a super
        admin's or another organisation admin's account this way. Their own password they change on
        Django's "Change password" page, which asks for the current one.
        """
        if is_super_admin(request):
            return True
        return (
            staff_role(request) == Role.ORG_ADMIN
            and user.role_id == Role.MODERATOR
            and self.has_change_permission(request, user)
        )

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = ""):
        user = self.get_object(request, unquote(id))
        if user is not None and not self.may_set_password(request, user):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):
        readonly = [
            "email",
            "hi5_quota_balance",
            "soft_delete_at",
            "soft_delete_by",
            "last_login",
            "created_at",
            "updated_at",
        ]
        if not is_super_admin(request):
            readonly.append("organization")
        if obj is not None and (
            obj.pk == request.user.pk or not obj.is_active or (obj.is_super_admin and not is_super_admin(request))
        ):
            readonly.append("role_id")
        return readonly

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def formfield_for_choice_field(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "role_id" and not is_super_admin(request):
            kwargs["choices"] = [choice for choice in Role.choices if choice[0] != Role.SUPER_ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        if change and "role_id" in form.changed_data:
            new_role = obj.role_id
            obj.role_id = form.initial["role_id"]
            super().save_model(request, obj, form, change)
            try:
                services.user_change_role(actor=request.user, user=obj, role_id=new_role)
            except PeerlyError as error:
                # The form checked the same rules; this is a change that happened meanwhile.
                self.message_user(request, f"Role not changed: {error.message}", messages.ERROR)
        else:
            super().save_model(request, obj, form, change)

    @admin.display(description="status", ordering="soft_delete_at")
    def status(self, user: User) -> str:
        return "Active" if user.is_active else "Deleted"

    @admin.display(description="admin password", boolean=True)
    def has_admin_password(self, user: User) -> bool:
        return user.has_usable_password()

    def _apply(self, request: HttpRequest, queryset: QuerySet[User], action, done_message: str) -> None:
        done, refused = 0, []
        for user in queryset:
            try:
                action(user)
            except PeerlyError as error:
                refused.append(f"{user.email}: {error.message}")
            else:
                done += 1
                self.log_change(request, user, done_message)
        if done:
            self.message_user(request, f"{done} user(s) {done_message.lower()}.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not changed: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Soft delete selected users (they can no longer sign in)", permissions=["change"])
    def soft_delete_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._apply(
            request, queryset, lambda user: services.user_soft_delete(actor=request.user, user=user), "Soft-deleted"
        )

    @admin.action(description="Restore selected users", permissions=["change"])
    def restore_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._apply(request, queryset, lambda user: services.user_restore(actor=request.user, user=user), "Restored")


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedModelAdmin):
    """The audit trail, read-only: nobody adds, changes or deletes an event here (PostgreSQL refuses too)."""

    list_display = ["created_at", "action", "actor_label", "target_type", "target_id", "client_ip"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "target_id", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    view_roles = ADMINS
    add_roles = change_roles = delete_roles = NOBODY
    fields = readonly_fields = [
        "created_at",
        "organization",
        "action",
        "actor_label",
        "actor_user",
        "actor_api_key",
        "target_type",
        "target_id",
        "before",
        "after",
        "request_id",
        "client_ip",
    ]
    actions = None
