"""Role-based, organisation-scoped access for every page of the admin back office.

Django's permission tables are not used. The staff member's role (`User.role_id`) decides what each
admin page allows, and everything a non-super-admin sees or picks is filtered to their own
organisation: change lists, change forms (another organisation's id behaves as a missing object),
foreign-key choices, search results, filters and the rows an action receives.
"""

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from accounts.models import ADMIN_ROLES, MODERATION_ROLES, Organization, Role
from accounts.scoping import reaches, scope_to_actor

# The role sets of accounts.models (which the API's permissions use too), under the back office's names.
ADMINS = ADMIN_ROLES
MODERATORS = MODERATION_ROLES
SUPER_ADMINS = frozenset({Role.SUPER_ADMIN})
NOBODY: frozenset[int] = frozenset()


def staff_role(request: HttpRequest) -> int | None:
    """The role of the signed-in staff member; None for anyone the admin must not serve."""
    user = request.user
    if not user.is_authenticated or not user.is_staff:
        return None
    return user.role_id


def is_super_admin(request: HttpRequest) -> bool:
    return staff_role(request) == Role.SUPER_ADMIN


def organization_id_at(obj: Model, lookup: str) -> int | None:
    """The organisation id at the end of an ORM path ("organization", "recognition__organization", "pk")."""
    *path, last = lookup.split("__")
    for part in path:
        obj = getattr(obj, part)
    return obj.pk if last == "pk" else getattr(obj, f"{last}_id")


class OrganizationScopedMixin:
    """Mixed into ModelAdmins and inlines: role sets decide access, `organization_lookup` the scope.

    `organization_lookup` is the ORM path from the model to its organisation's id ("organization",
    "recognition__organization", or "pk" for Organization itself).
    """

    view_roles: frozenset[int] = NOBODY
    add_roles: frozenset[int] = NOBODY
    change_roles: frozenset[int] = NOBODY
    delete_roles: frozenset[int] = NOBODY
    organization_lookup = "organization"

    # --- scope --------------------------------------------------------------

    def organization_id_of(self, obj: Model) -> int | None:
        return organization_id_at(obj, self.organization_lookup)

    def in_scope(self, request: HttpRequest, obj: Model | None) -> bool:
        if obj is None:
            return True
        return staff_role(request) is not None and reaches(request.user, self.organization_id_of(obj))

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if staff_role(request) is None:
            return queryset.none()
        return scope_to_actor(request.user, queryset, lookup=self.organization_lookup)

    # --- the super admin's organisation column and filter ----------------------

    # Where the super admin's change list shows the organisation (None: not at all, e.g. Organization).
    organization_column_position: int | None = 0

    def _organization_path(self) -> str | None:
        if self.organization_lookup == "pk" or self.organization_column_position is None:
            return None
        return self.organization_lookup

    def get_list_display(self, request: HttpRequest):
        display = list(super().get_list_display(request))
        path = self._organization_path()
        if path is not None and is_super_admin(request) and path not in display:
            display.insert(self.organization_column_position, path)
        return display

    def get_list_filter(self, request: HttpRequest):
        filters = list(super().get_list_filter(request))
        path = self._organization_path()
        if path is not None and is_super_admin(request):
            filters.append((path, admin.RelatedOnlyFieldListFilter))
        return filters

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scope_queryset(request, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        if not is_super_admin(request):
            related = db_field.related_model
            queryset = kwargs.get("queryset")
            if queryset is None:
                queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
            if queryset is None:
                queryset = related._default_manager.all()
            organization_id = request.user.organization_id if staff_role(request) else None
            if related is Organization:
                kwargs["queryset"] = queryset.filter(pk=organization_id)
                kwargs["empty_label"] = None
            elif any(field.name == "organization" for field in related._meta.concrete_fields):
                kwargs["queryset"] = queryset.filter(organization_id=organization_id)
            else:
                # A relation this mixin cannot scope offers no choices rather than another organisation's.
                kwargs["queryset"] = queryset.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- permissions by role ---------------------------------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return staff_role(request) in (self.view_roles | self.change_roles)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return staff_role(request) in (self.view_roles | self.change_roles) and self.in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return staff_role(request) in self.change_roles and self.in_scope(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return staff_role(request) in self.delete_roles and self.in_scope(request, obj)


class ScopedModelAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return staff_role(request) in self.add_roles


class ScopedInline(OrganizationScopedMixin):
    """For inlines: `obj` in the permission methods is the parent, whose page is already scoped; the mixin's
    permission methods apply to it, through `organization_lookup` read from the parent's model."""

    parent_organization_lookup = "organization"
    organization_column_position = None

    def organization_id_of(self, obj: Model) -> int | None:
        return organization_id_at(obj, self.parent_organization_lookup)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return staff_role(request) in self.add_roles and self.in_scope(request, obj)


class ReadOnlyTabularInline(ScopedInline, admin.TabularInline):
    """A read-only list of related rows on a parent's page (set `fields`)."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or ())
