"""The one organisation rule, for every selector, service and admin page.

An actor sees and changes their own organisation's rows only; a super admin reaches every
organisation's, and names one with `org_id` (a request naming another organisation by anyone else
is refused). Another organisation's ids read exactly like unknown ones.
"""

from django.db.models import QuerySet

from accounts.models import Organization
from peerly.api.exceptions import AccessDenied, InvalidData, UnknownReference

DENIED = "Only a super admin may address another organisation"


def scope_to_actor(
    actor,
    queryset: QuerySet,
    *,
    lookup: str = "organization_id",
    org_id: int | None = None,
    listing: bool = False,
    denied: str = DENIED,
) -> QuerySet:
    """The rows of `queryset` the actor may reach; `lookup` is the path from the model to its organisation's id.

    By id, a super admin reaches every organisation's rows. A list (`listing=True`) shows a super admin
    their own organisation's (every organisation's when they belong to none), unless `org_id` names one.
    `actor` is a User or an API key's principal (which has an organisation and no role).
    """
    organization_id = requested_organization_id(actor, org_id, listing=listing, denied=denied)
    return queryset if organization_id is None else queryset.filter(**{lookup: organization_id})


def requested_organization_id(actor, org_id: int | None, *, listing: bool = False, denied: str = DENIED) -> int | None:
    """The organisation scope_to_actor keeps with `org_id` (a super admin's only); None: every organisation."""
    if org_id is not None:
        if not actor.is_super_admin:
            raise AccessDenied(denied)
        return org_id
    return scoped_organization_id(actor, listing=listing)


def scoped_organization_id(actor, *, listing: bool = False) -> int | None:
    """The organisation scope_to_actor keeps (without `org_id`); None means every organisation."""
    if actor.is_super_admin and (not listing or actor.organization_id is None):
        return None
    return actor.organization_id


def reaches(actor, organization_id: int | None) -> bool:
    """Whether the actor may reach a row of that organisation (the same rule, for one object in hand)."""
    return actor.is_super_admin or (organization_id is not None and organization_id == actor.organization_id)


def target_organization(actor, org_id: int | None, *, denied: str = DENIED) -> Organization:
    """The organisation a write is for: the actor's own; a super admin may name any with `org_id`."""
    if org_id is not None:
        if not actor.is_super_admin:
            raise AccessDenied(denied)
        organization = Organization.objects.filter(pk=org_id).first()
        if organization is None:
            raise UnknownReference(fields={"org_id": "Unknown organisation"})
        return organization
    if actor.organization is None:
        raise InvalidData(fields={"org_id": "Required for a super admin who belongs to no organisation"})
    return actor.organization
