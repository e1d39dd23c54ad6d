from django.contrib import admin

from accounts.models import Organization, OrganizationDomain, User


class OrganizationDomainInline(admin.TabularInline):
    model = OrganizationDomain
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "hi5_limit", "hi5_quota_renewal_frequency", "timezone"]
    search_fields = ["name", "domains__domain"]
    inlines = [OrganizationDomainInline]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "display_name", "organization", "role_id", "hi5_quota_balance", "soft_delete_at"]
    list_filter = ["role_id", "organization"]
    search_fields = ["email", "first_name", "last_name", "display_name"]
    readonly_fields = ["password", "soft_delete_at", "soft_delete_by", "created_at", "updated_at"]
