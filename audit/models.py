"""The audit trail: one row per change that matters, never updated, never deleted (a trigger refuses).

Rows are written by the services (audit/services.py) in the transaction of the change they record,
so a rolled-back change leaves no event and a committed one always has its event. The references are
plain ids (`db_constraint=False`): an event outlives the user, key or organisation it names, and
deleting one of those never tries to touch the trail. `actor_label` keeps who it was at the time.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.functions import Now


class AuditAction(models.TextChoices):
    USER_ROLE_CHANGED = "user.role_changed", "Role changed"
    USER_DELETED = "user.deleted", "User soft-deleted"
    USER_RESTORED = "user.restored", "User restored"
    ORGANIZATION_CREATED = "organization.created", "Organisation created"
    ORGANIZATION_UPDATED = "organization.updated", "Organisation settings changed"
    ORGANIZATION_DOMAINS_CHANGED = "organization.domains_changed", "Organisation email domains changed"
    CORE_VALUE_CREATED = "core_value.created", "Core value created"
    CORE_VALUE_UPDATED = "core_value.updated", "Core value updated"
    REVIEW_CREATED = "review.created", "Recognition reviewed"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    USERS_SYNCED = "users.synced", "HRIS sync run"
    STAFF_SIGNED_IN = "staff.signed_in", "Staff signed in"
    STAFF_SIGN_IN_FAILED = "staff.sign_in_failed", "Staff sign-in failed"
    STAFF_TOTP_ENROLLED = "staff.totp_enrolled", "Staff two-factor enrolled"
    STAFF_SECOND_FACTOR_PASSED = "staff.second_factor_passed", "Staff second factor passed"
    STAFF_TOTP_RESET = "staff.totp_reset", "Staff two-factor reset"
    WEBHOOK_CREATED = "webhook.created", "Webhook endpoint created"
    WEBHOOK_UPDATED = "webhook.updated", "Webhook endpoint changed"
    WEBHOOK_DELETED = "webhook.deleted", "Webhook endpoint deleted"


class AuditTarget(models.TextChoices):
    USER = "user", "User"
    ORGANIZATION = "organization", "Organisation"
    CORE_VALUE = "core_value", "Core value"
    RECOGNITION = "recognition", "Recognition"
    API_KEY = "api_key", "API key"
    WEBHOOK = "webhook", "Webhook endpoint"


class AuditEvent(models.Model):
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        help_text="The organisation the change belongs to; empty for a platform-wide event.",
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        help_text="The person who acted; empty for an API key or an operator's command.",
    )
    actor_api_key = models.ForeignKey(
        "integrations.ApiKey",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        help_text="The API key that acted, when one did.",
    )
    actor_label = models.CharField(max_length=300, help_text="Who acted, as they were then (email, key, operator).")
    action = models.CharField(max_length=64, choices=AuditAction.choices)
    target_type = models.CharField(max_length=64, choices=AuditTarget.choices)
    target_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField(max_length=128, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="audit_org_time"),
            models.Index(fields=["organization", "action", "-created_at"], name="audit_org_action"),
            models.Index(fields=["organization", "target_type", "target_id"], name="audit_org_target"),
            models.Index(fields=["organization", "actor_user", "-created_at"], name="audit_org_actor"),
            models.Index(fields=["created_at"], name="audit_time"),  # the retention purge
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type} {self.target_id} by {self.actor_label}"
