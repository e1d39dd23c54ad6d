"""Reads on users, always scoped to what the caller may see."""

from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.scoping import scope_to_actor
from peerly.api.exceptions import NotFound


def users_visible_to(actor: User) -> QuerySet[User]:
    """Every user (deleted too) the actor may address by id: their organisation's, or all for a super admin."""
    return scope_to_actor(actor, User.objects.select_related("organization"))


def user_list(*, actor: User, starts_with: str = "", org_id: int | None = None) -> QuerySet[User]:
    """Active members, optionally by name prefix (first, last or display name, case-insensitive)."""
    queryset = scope_to_actor(
        actor,
        User.objects.select_related("organization").active(),
        org_id=org_id,
        listing=True,
        denied="Only a super admin may list another organisation's users",
    )
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
