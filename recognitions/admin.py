from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.admin_mixins import ADMINS, MODERATORS, NOBODY, ReadOnlyTabularInline, ScopedModelAdmin
from recognitions.models import Hi5, QuotaRenewal, Recognition


class Hi5Inline(ReadOnlyTabularInline):
    model = Hi5
    fields = ["given_by", "comment", "given_at"]
    view_roles = MODERATORS
    organization_lookup = "recognition__organization"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Hi5]:
        return super().get_queryset(request).select_related("given_by")


def short(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"


@admin.register(Recognition)
class RecognitionAdmin(ScopedModelAdmin):
    """Every recognition of the organisation, read-only (they are given through the API)."""

    organization_column_position = 1
    list_display = ["id", "given_at", "given_by", "given_for", "core_value", "short_text", "hi5_count", "is_hidden"]
    list_display_links = ["id", "short_text"]
    list_filter = ["is_hidden", ("core_value", admin.RelatedOnlyFieldListFilter)]
    search_fields = [
        "text",
        "given_by__email",
        "given_by__display_name",
        "given_for__email",
        "given_for__display_name",
    ]
    date_hierarchy = "given_at"
    fields = ["text", "core_value", "given_by", "given_for", "given_at", "is_hidden", "hi5_count"]
    readonly_fields = fields
    inlines = [Hi5Inline]
    list_select_related = ["given_by", "given_for", "core_value", "organization"]
    view_roles = MODERATORS
    add_roles = change_roles = delete_roles = NOBODY

    def get_queryset(self, request: HttpRequest) -> QuerySet[Recognition]:
        return super().get_queryset(request).annotate(hi5_total=Count("hi5s"))

    @admin.display(description="text")
    def short_text(self, recognition: Recognition) -> str:
        return short(recognition.text)

    @admin.display(description="Hi5s", ordering="hi5_total")
    def hi5_count(self, recognition: Recognition) -> int:
        return recognition.hi5_total


@admin.register(QuotaRenewal)
class QuotaRenewalAdmin(ScopedModelAdmin):
    """When each organisation's Hi5 balances were last renewed (written by the renewal command)."""

    list_display = ["organization", "period_start", "renewed_at", "users_renewed"]
    fields = list_display
    readonly_fields = list_display
    view_roles = ADMINS
    add_roles = change_roles = delete_roles = NOBODY
