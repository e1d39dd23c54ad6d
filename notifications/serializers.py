from rest_framework import serializers

from accounts.serializers import MAX_ID
from notifications.models import WebhookDelivery, WebhookEndpoint
from peerly.api.serializers import StrictJSONTypes
from peerly.events import EventType


class NotificationPreferencesSerializer(StrictJSONTypes, serializers.Serializer):
    """The member's email switches; a PUT may send any of them (the others keep their value)."""

    email_recognition_received = serializers.BooleanField(required=False, help_text="You were recognised.")
    email_hi5_received = serializers.BooleanField(
        required=False, help_text="Someone Hi5'd a recognition of yours (one email per 10 minutes at most)."
    )
    email_recognition_hidden = serializers.BooleanField(required=False, help_text="A moderator hid your recognition.")
    email_weekly_digest = serializers.BooleanField(required=False, help_text="Your week in Peerly.")


class WebhookEndpointSerializer(serializers.ModelSerializer):
    org_id = serializers.IntegerField(source="organization_id", read_only=True)
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True, read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=[str(e) for e in EventType]), read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "enabled",
            "org_id",
            "created_by",
            "created_at",
            "failing_since",
            "disabled_at",
            "disabled_reason",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (Peerly-Signature): shown this once, never again."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


# What a schema can say of a webhook URL: https, a host (a name or a bracketed IPv6 address) without user
# info, an optional port, a path. That the host is a plain name that resolves, and only to public
# addresses, is checked by notifications/outbound.py.
WEBHOOK_URL_PATTERN = r"^https://(\[[0-9A-Fa-f:.]+\]|[^\s/?#@:\[\]]+)(:[0-9]{1,5})?([/?#]\S*)?$"


class WebhookEndpointCreateSerializer(StrictJSONTypes, serializers.Serializer):
    url = serializers.RegexField(
        WEBHOOK_URL_PATTERN,
        max_length=500,
        error_messages={"invalid": "Must be an https:// URL naming a host (no user name or password)."},
        help_text="https:// only; a host that resolves to a private or reserved address is refused.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=[str(e) for e in EventType]), min_length=1, max_length=len(EventType)
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    org_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Super admins only: the organisation of the endpoint."
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "attempt",
            "redelivery",
            "succeeded",
            "status_code",
            "duration_ms",
            "error",
            "created_at",
        ]
        read_only_fields = fields
