"""Reads on API keys, always scoped to what the caller may see."""

import hmac

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization, User
from integrations.keys import key_hash, key_is_well_formed, key_lookup_prefix
from integrations.models import ApiKey
from peerly.api.exceptions import AccessDenied, InvalidData, InvalidToken, NotFound


def api_keys_visible_to(actor: User) -> QuerySet[ApiKey]:
    """Keys of the actor's organisation (every key for a super admin), newest first."""
    queryset = ApiKey.objects.select_related("organization", "created_by")
    if actor.is_super_admin:
        return queryset
    return queryset.filter(organization_id=actor.organization_id)


def api_key_list(*, actor: User) -> QuerySet[ApiKey]:
    return api_keys_visible_to(actor).order_by("-created_at", "-id")


def api_key_get(*, actor: User, key_id: int) -> ApiKey:
    key = api_keys_visible_to(actor).filter(pk=key_id).first()
    if key is None:
        raise NotFound("API key not found")
    return key


def api_key_for_secret(secret: str) -> ApiKey:
    """The usable key behind a presented secret; 401 `invalid_token` for malformed, unknown, revoked or expired."""
    if not key_is_well_formed(secret):
        raise InvalidToken("Malformed API key")
    key = ApiKey.objects.select_related("organization").filter(prefix=key_lookup_prefix(secret)).first()
    # Compare the hash in constant time even for an unknown prefix, so timing tells nothing.
    expected = key.secret_hash if key is not None else "0" * 64
    if not hmac.compare_digest(expected, key_hash(secret)) or key is None:
        raise InvalidToken("Unknown API key")
    if key.revoked_at is not None:
        raise InvalidToken("This API key has been revoked")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise InvalidToken("This API key has expired")
    return key


def api_key_target_organization(*, actor, org_id: int | None) -> Organization:
    """The organisation a new key is for: the caller's own; a super admin may name any with `org_id`."""
    if org_id is not None and not actor.is_super_admin:
        raise AccessDenied("Only a super admin may create keys for another organisation")
    if org_id is None:
        if actor.organization is None:
            raise InvalidData(fields={"org_id": "Required for a super admin who belongs to no organisation"})
        return actor.organization
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None:
        raise NotFound("Organisation not found")
    return organization
