"""Reads on core values, always scoped to the caller's organisation."""

from django.db.models import QuerySet

from accounts.models import User
from corevalues.models import CoreValue
from peerly.api.exceptions import AccessDenied, NotFound


def core_values_visible_to(actor: User) -> QuerySet[CoreValue]:
    """Every core value the actor may address by id: their organisation's, or all for a super admin."""
    if actor.is_super_admin:
        return CoreValue.objects.all()
    return CoreValue.objects.filter(organization_id=actor.organization_id)


def core_value_list(*, actor: User, org_id: int | None = None) -> QuerySet[CoreValue]:
    """The organisation's core values, oldest first; `org_id` is for super admins only (as on /users)."""
    if org_id is not None and not actor.is_super_admin:
        raise AccessDenied("Only a super admin may list another organisation's core values")
    queryset = core_values_visible_to(actor)
    if org_id is not None:
        queryset = queryset.filter(organization_id=org_id)
    elif actor.organization_id is not None:
        queryset = queryset.filter(organization_id=actor.organization_id)
    return queryset.order_by("id")


def core_value_get(*, actor: User, core_value_id: int) -> CoreValue:
    core_value = core_values_visible_to(actor).filter(pk=core_value_id).first()
    if core_value is None:
        raise NotFound("Core value not found")
    return core_value
