"""Every write on core values."""

from django.db import IntegrityError, transaction

from accounts.models import Organization, User
from accounts.scoping import target_organization
from audit.models import AuditAction, AuditTarget
from audit.services import audit_record, changes
from corevalues.errors import CoreValueExists
from corevalues.models import CoreValue
from peerly.api.db import violates
from peerly.api.exceptions import InvalidData, UnknownReference

UNIQUE_TEXT_CONSTRAINT = "core_value_text_unique_in_org"

# Sentinel for "leave this field as it is" on update (None means "clear it").
UNCHANGED = object()


def _organization_for_write(*, actor: User, org_id: int | None) -> Organization:
    """The actor's organisation; a super admin names one with `org_id` (others may not)."""
    return target_organization(actor, org_id, denied="Only a super admin may write another organisation's core values")


def _parent_lock(*, organization_id: int, parent_id: int, child: CoreValue | None = None) -> CoreValue:
    """The would-be parent, locked so that it cannot get a parent of its own meanwhile (two levels only)."""
    parent = CoreValue.objects.select_for_update().filter(pk=parent_id, organization_id=organization_id).first()
    # Another organisation's id reads exactly like an unknown one.
    if parent is None:
        raise UnknownReference(fields={"parent_core_value_id": "Unknown core value"})
    if parent.parent_id is not None:
        raise InvalidData(fields={"parent_core_value_id": "The parent must be a top-level core value"})
    if child is not None and parent.pk == child.pk:
        raise InvalidData(fields={"parent_core_value_id": "A core value cannot be its own parent"})
    return parent


AUDITED_FIELDS = ("text", "description", "parent_id", "thumbnail_url")


def _audited(core_value: CoreValue) -> dict:
    return {name: getattr(core_value, name) for name in AUDITED_FIELDS}


def _save(core_value: CoreValue) -> CoreValue:
    try:
        with transaction.atomic():
            core_value.save()
    except IntegrityError as exc:
        if violates(exc, UNIQUE_TEXT_CONSTRAINT):
            raise CoreValueExists() from None
        raise
    return core_value


@transaction.atomic
def core_value_create(
    *,
    actor: User,
    text: str,
    description: str,
    parent_core_value_id: int | None = None,
    thumbnail_url: str | None = None,
    org_id: int | None = None,
) -> CoreValue:
    """A new core value; a parent must be a top-level value of the same organisation."""
    organization = _organization_for_write(actor=actor, org_id=org_id)
    parent = None
    if parent_core_value_id is not None:
        parent = _parent_lock(organization_id=organization.pk, parent_id=parent_core_value_id)
    core_value = CoreValue(
        organization=organization,
        text=text,
        description=description,
        parent=parent,
        thumbnail_url=thumbnail_url or "",
    )
    _save(core_value)
    audit_record(
        action=AuditAction.CORE_VALUE_CREATED,
        target_type=AuditTarget.CORE_VALUE,
        target_id=core_value.pk,
        organization_id=organization.pk,
        actor=actor,
        after=_audited(core_value),
    )
    return core_value


@transaction.atomic
def core_value_update(
    *,
    actor: User,
    core_value: CoreValue,
    text: str,
    description: str,
    parent_core_value_id=UNCHANGED,
    thumbnail_url=UNCHANGED,
) -> CoreValue:
    """Edit text and description; parent and thumbnail change only when given (None clears them)."""
    # Lock the value so that nobody gives it a child while we give it a parent.
    core_value = CoreValue.objects.select_for_update().get(pk=core_value.pk)
    previous = _audited(core_value)
    core_value.text = text
    core_value.description = description
    if thumbnail_url is not UNCHANGED:
        core_value.thumbnail_url = thumbnail_url or ""
    if parent_core_value_id is not UNCHANGED and parent_core_value_id != core_value.parent_id:
        if parent_core_value_id is None:
            core_value.parent = None
        else:
            parent = _parent_lock(
                organization_id=core_value.organization_id, parent_id=parent_core_value_id, child=core_value
            )
            if core_value.children.exists():
                raise InvalidData(
                    fields={"parent_core_value_id": "A core value with children cannot get a parent (two levels only)"}
                )
            core_value.parent = parent
    _save(core_value)
    before, after = changes(previous, _audited(core_value))
    if after:
        audit_record(
            action=AuditAction.CORE_VALUE_UPDATED,
            target_type=AuditTarget.CORE_VALUE,
            target_id=core_value.pk,
            organization_id=core_value.organization_id,
            actor=actor,
            before=before,
            after=after,
        )
    return core_value
