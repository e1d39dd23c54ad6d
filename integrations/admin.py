"""API keys in the back office: organisation admins create, revoke and watch their organisation's keys.

Permissions follow the back office's role-based, organisation-scoped model (accounts/admin_mixins.py):
organisation admins see their organisation's keys, super admins every key, moderators none. Keys are
never deleted (revoked instead, keeping usage).
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from accounts.admin_mixins import ADMINS, ReadOnlyTabularInline, ScopedModelAdmin
from integrations import services
from integrations.models import ApiKey, ApiKeyScope, ApiKeyUsage
from peerly.api.exceptions import PeerlyError

USAGE_DAYS_SHOWN = 90


class ApiKeyUsageInline(ReadOnlyTabularInline):
    model = ApiKeyUsage
    verbose_name_plural = f"Requests per day (last {USAGE_DAYS_SHOWN} days, UTC)"
    fields = ["date", "request_count"]
    ordering = ["-date"]
    view_roles = ADMINS
    organization_lookup = "key__organization"

    def get_queryset(self, request):
        since = timezone.now().date() - timedelta(days=USAGE_DAYS_SHOWN)
        return super().get_queryset(request).filter(date__gte=since)


class ApiKeyAdminForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiKeyScope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["organization", "name", "scopes", "expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("Must be in the future.")
        return expires_at


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True).exclude(expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedModelAdmin):
    form = ApiKeyAdminForm
    list_display = [
        "name",
        "prefix",
        "organization",
        "scope_list",
        "status",
        "created_by",
        "last_used_at",
        "expires_at",
    ]
    list_select_related = ["organization", "created_by"]
    search_fields = ["name", "prefix"]
    actions = ["revoke_selected"]
    inlines = [ApiKeyUsageInline]
    # Organisation admins and super admins; nobody deletes (revoke instead: the row keeps the usage history).
    view_roles = add_roles = change_roles = ADMINS

    list_filter = [StatusFilter]  # and, for a super admin, the organisation (OrganizationScopedMixin)

    # --- forms -------------------------------------------------------------------

    def get_fields(self, request, obj=None):
        if obj is None:
            return (["organization"] if request.user.is_super_admin else []) + ["name", "scopes", "expires_at"]
        return [
            "name",
            "organization",
            "prefix",
            "scope_list",
            "status",
            "created_by",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "revoked_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [field for field in self.get_fields(request, obj) if field != "name"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        organization = obj.organization if request.user.is_super_admin else request.user.organization
        key, secret = services.api_key_create(
            organization=organization,
            created_by=request.user,
            name=obj.name,
            scopes=obj.scopes,
            expires_at=obj.expires_at,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the saved key.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(key, field.attname))
        obj._state.adding, obj._state.db = False, key._state.db
        self.message_user(
            request,
            f"Copy the key “{key.name}” now, it will not be shown again: {secret}",
            messages.WARNING,
        )

    # --- display and actions -------------------------------------------------------

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="status")
    def status(self, obj: ApiKey) -> str:
        if obj.revoked_at is not None:
            return "revoked"
        if obj.expires_at is not None and obj.expires_at <= timezone.now():
            return "expired"
        return "active"

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request, queryset) -> None:
        revoked, refused = 0, []
        for key in queryset.filter(revoked_at__isnull=True):
            try:
                services.api_key_revoke(key=key, actor=request.user)
            except PeerlyError as error:  # e.g. revoked by someone else meanwhile
                refused.append(f"{key.name}: {error.message}")
            else:
                revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not revoked: " + "; ".join(refused), messages.ERROR)
