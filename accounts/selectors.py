"""Reads on users, always scoped to what the caller may see."""

from django.db.models import Q, QuerySet

from accounts.models import User
from peerly.api.exceptions import AccessDenied, NotFound


def users_visible_to(actor: User) -> QuerySet[User]:
    """Every user (deleted too) the actor may address by id: their organisation's, or all for a super admin."""
    queryset = User.objects.select_related("organization")
    if actor.is_super_admin:
        return queryset
    return queryset.filter(organization_id=actor.organization_id)


def user_list(*, actor: User, starts_with: str = "", org_id: int | None = None) -> QuerySet[User]:
    """Active members, optionally by name prefix (first, last or display name, case-insensitive)."""
    if org_id is not None and not actor.is_super_admin:
        raise AccessDenied("Only a super admin may list another organisation's users")
    queryset = users_visible_to(actor).active()
    if org_id is not None:
        queryset = queryset.filter(organization_id=org_id)
    elif not actor.is_super_admin or actor.organization_id is not None:
        queryset = queryset.filter(organization_id=actor.organization_id)
    if starts_with:
        queryset = queryset.filter(
            Q(first_name__istartswith=starts_with)
            | Q(last_name__istartswith=starts_with)
            | Q(display_name__istartswith=starts_with)
        )
    return queryset.order_by("first_name", "last_name", "id")


def user_get(*, actor: User, user_id: int) -> User:
    user = users_visible_to(actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found")
    return user
