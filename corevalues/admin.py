from django import forms
from django.contrib import admin
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from accounts.admin_mixins import ADMINS, NOBODY, ScopedModelAdmin, is_super_admin
from corevalues import services
from corevalues.models import CoreValue


class CoreValueAdminForm(forms.ModelForm):
    """Two levels only: a parent is a top-level value of the same organisation."""

    thumbnail_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = CoreValue
        fields = ["organization", "text", "description", "parent", "thumbnail_url"]

    def clean(self):
        cleaned = super().clean()
        parent = cleaned.get("parent")
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if parent is None:
            return cleaned
        if self.instance.pk is not None and parent.pk == self.instance.pk:
            self.add_error("parent", "A core value cannot be its own parent.")
        elif parent.parent_id is not None:
            self.add_error("parent", "Pick a top-level value: core values have two levels only.")
        elif organization is not None and parent.organization_id != organization.pk:
            self.add_error("parent", "The parent must belong to the same organisation.")
        elif self.instance.pk is not None and self.instance.children.exists():
            self.add_error("parent", "This value has sub-values of its own, so it must stay top-level.")
        return cleaned


@admin.register(CoreValue)
class CoreValueAdmin(ScopedModelAdmin):
    """The organisation's core values as a tree: each top-level value followed by its sub-values."""

    form = CoreValueAdminForm
    list_display = ["tree_text", "parent", "short_description", "updated_at"]
    list_display_links = ["tree_text"]
    search_fields = ["text", "description"]
    view_roles = add_roles = change_roles = ADMINS
    delete_roles = NOBODY  # recognitions refer to core values; there is no delete in the API either

    def get_queryset(self, request: HttpRequest) -> QuerySet[CoreValue]:
        return super().get_queryset(request).select_related("parent", "organization")

    def get_ordering(self, request: HttpRequest):
        # Each top-level value, then its children: order by the family's root, parents first.
        tree = [Coalesce("parent_id", "id").asc(), F("parent_id").asc(nulls_first=True), "text"]
        return ["organization__name", *tree] if is_super_admin(request) else tree

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = CoreValue.objects.filter(parent__isnull=True).order_by("text")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: CoreValue, form, change: bool) -> None:
        """Through the same services as the API (they lock the rows that keep the tree two levels deep)."""
        data = form.cleaned_data
        parent_id = data["parent"].pk if data.get("parent") else None
        if change:
            saved = services.core_value_update(
                actor=request.user,
                core_value=obj,
                text=data["text"],
                description=data["description"],
                parent_core_value_id=parent_id,
                thumbnail_url=data.get("thumbnail_url") or "",
            )
        else:
            saved = services.core_value_create(
                actor=request.user,
                text=data["text"],
                description=data["description"],
                parent_core_value_id=parent_id,
                thumbnail_url=data.get("thumbnail_url") or "",
                org_id=data["organization"].pk if is_super_admin(request) else None,
            )
        obj.pk = saved.pk

    def get_readonly_fields(self, request: HttpRequest, obj: CoreValue | None = None):
        # A value stays in its organisation (recognitions of that organisation refer to it).
        return ["organization"] if obj is not None else []

    @admin.display(description="core value", ordering="text")
    def tree_text(self, value: CoreValue) -> str:
        return f"\u2003\u21b3 {value.text}" if value.parent_id else value.text

    @admin.display(description="description")
    def short_description(self, value: CoreValue) -> str:
        return value.description if len(value.description) <= 80 else value.description[:79] + "\u2026"
