"""Reads on core values, always scoped to the caller's organisation."""

from django.db.models import QuerySet

from accounts.models import User
from accounts.scoping import scope_to_actor
from corevalues.models import CoreValue
from peerly.api.exceptions import NotFound


def core_values_visible_to(actor: User) -> QuerySet[CoreValue]:
    """Every core value the actor may address by id: their organisation's, or all for a super admin."""
    return scope_to_actor(actor, CoreValue.objects.all())


def core_value_list(*, actor: User, org_id: int | None = None) -> QuerySet[CoreValue]:
    """The organisation's core values, oldest first; `org_id` is for super admins only (as on /users)."""
    queryset = scope_to_actor(
        actor,
        CoreValue.objects.all(),
        org_id=org_id,
        listing=True,
        denied="Only a super admin may list another organisation's core values",
    )
    return queryset.order_by("id")


def core_value_get(*, actor: User, core_value_id: int) -> CoreValue:
    core_value = core_values_visible_to(actor).filter(pk=core_value_id).first()
    if core_value is None:
        raise NotFound("Core value not found")
    return core_value
