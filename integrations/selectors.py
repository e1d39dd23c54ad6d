"""Reads on API keys, always scoped to what the caller may see."""

import hmac

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization, User
from accounts.scoping import scope_to_actor, target_organization
from integrations.keys import key_hash, key_is_well_formed, key_lookup_prefix
from integrations.models import ApiKey
from peerly.api.exceptions import InvalidToken, NotFound


def api_keys_visible_to(actor: User) -> QuerySet[ApiKey]:
    """Keys of the actor's organisation (every key for a super admin), newest first."""
    return scope_to_actor(actor, ApiKey.objects.select_related("organization", "created_by"))


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
    return target_organization(actor, org_id, denied="Only a super admin may create keys for another organisation")
