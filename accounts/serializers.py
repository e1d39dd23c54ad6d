from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.google import ACCESS_TOKEN_PATTERN
from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent, AuditTarget
from peerly.api.serializers import HttpUrlField, QueryParams, StrictJSONTypes

MAX_ID = 2**63 - 1


DATETIME = serializers.DateTimeField()  # renders as DRF renders a DateTimeField


class UserSerializer(serializers.ModelSerializer):
    """A member, from a User or a row of `accounts.selectors.USER_ROW_FIELDS` (the member search's).

    The declared fields are the contract (and the OpenAPI schema); `to_representation` renders them by hand:
    DRF's generic path builds a ModelSerializer's fields for each use and calls each field per value, which
    cost more than the member search's whole cached answer. A test keeps both paths equal.
    """

    org_id = serializers.IntegerField(source="organization_id", allow_null=True, read_only=True)
    role_id = serializers.ChoiceField(choices=Role.choices, read_only=True)
    soft_delete_by = serializers.IntegerField(source="soft_delete_by_id", allow_null=True, read_only=True)
    profile_image_url = HttpUrlField(read_only=True, allow_blank=True)

    class Meta:
        model = User
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "display_name",
            "profile_image_url",
            "role_id",
            "hi5_quota_balance",
            "org_id",
            "soft_delete_by",
            "soft_delete_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: User | Mapping[str, Any]) -> dict[str, Any]:
        value = instance.__getitem__ if isinstance(instance, Mapping) else instance.__getattribute__
        deleted_at = value("soft_delete_at")
        return {
            "id": value("id"),
            "first_name": value("first_name"),
            "last_name": value("last_name"),
            "email": value("email"),
            "display_name": value("display_name"),
            "profile_image_url": value("profile_image_url"),
            "role_id": value("role_id"),
            "hi5_quota_balance": value("hi5_quota_balance"),
            "org_id": value("organization_id"),
            "soft_delete_by": value("soft_delete_by_id"),
            "soft_delete_at": None if deleted_at is None else DATETIME.to_representation(deleted_at),
        }


class UserSummarySerializer(serializers.ModelSerializer):
    """Enough about a person to render them next to a recognition."""

    profile_image_url = HttpUrlField(read_only=True, allow_blank=True)

    class Meta:
        model = User
        fields = ["id", "first_name", "last_name", "display_name", "profile_image_url"]
        read_only_fields = fields


def user_summary(user: User) -> dict:
    """UserSummarySerializer's fields, read straight from the instance (the hot paths' hand rendering)."""
    return {name: getattr(user, name) for name in UserSummarySerializer.Meta.fields}


class ProfileUpdateSerializer(StrictJSONTypes, serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100, allow_blank=True)
    display_name = serializers.CharField(max_length=100)
    profile_image_url = HttpUrlField(max_length=500, required=False, allow_blank=True)


class RoleUpdateSerializer(StrictJSONTypes, serializers.Serializer):
    role_id = serializers.ChoiceField(choices=Role.choices)


class UserListParamsSerializer(QueryParams):
    starts_with = serializers.CharField(max_length=100, required=False, allow_blank=True, trim_whitespace=True)
    org_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class GoogleSignInSerializer(StrictJSONTypes, serializers.Serializer):
    access_token = serializers.RegexField(
        rf"^{ACCESS_TOKEN_PATTERN}$", max_length=4096, required=False, error_messages={"invalid": "Not an OAuth token."}
    )
    id_token = serializers.CharField(max_length=8192, required=False)

    openapi_extra = {"anyOf": [{"required": ["access_token"]}, {"required": ["id_token"]}]}

    def validate(self, attrs):
        if not attrs.get("access_token") and not attrs.get("id_token"):
            raise serializers.ValidationError({"access_token": "This field is required."})
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


# --- The audit trail -------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "example": "2026-12-01",
    }
)
class DateOrDateTimeField(serializers.Field):
    """A calendar day (`2026-12-01`) or an instant (`2026-12-01T09:30:00+01:00`)."""

    default_error_messages = {"invalid": "Use YYYY-MM-DD or an ISO 8601 date-time."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            if "T" not in data and " " not in data:
                return serializers.DateField().to_internal_value(data)
            return serializers.DateTimeField().to_internal_value(data)
        except serializers.ValidationError:
            self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()


class AuditEventListParamsSerializer(serializers.Serializer):
    actor_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="A user's id.")
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    target_type = serializers.ChoiceField(choices=AuditTarget.choices, required=False)
    target_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    from_ = DateOrDateTimeField(
        required=False, help_text="From this day (organisation's timezone) or instant, inclusive."
    )
    to = DateOrDateTimeField(
        required=False, help_text="Up to this day (organisation's timezone) or instant, inclusive."
    )
    org_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="Super admins only.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # `from` is a Python keyword
        return {
            name: fields[name] for name in ["actor_id", "action", "target_type", "target_id", "from", "to", "org_id"]
        }


class AuditActorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["user", "api_key", "system"])
    id = serializers.IntegerField(allow_null=True, help_text="The user's or the API key's id; null for the system.")
    label = serializers.CharField(help_text="Who it was at the time: an email, an API key, the system.")


class AuditEventSerializer(serializers.ModelSerializer):
    org_id = serializers.IntegerField(source="organization_id", allow_null=True, read_only=True)
    actor = serializers.SerializerMethodField()
    before = serializers.JSONField(read_only=True, allow_null=True, help_text="The changed fields before.")
    after = serializers.JSONField(read_only=True, allow_null=True, help_text="The changed fields after.")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "org_id",
            "actor",
            "action",
            "target_type",
            "target_id",
            "before",
            "after",
            "request_id",
            "client_ip",
        ]
        read_only_fields = fields

    @extend_schema_field(AuditActorSerializer)
    def get_actor(self, event: AuditEvent) -> dict:
        if event.actor_api_key_id is not None:
            kind, actor_id = "api_key", event.actor_api_key_id
        elif event.actor_user_id is not None:
            kind, actor_id = "user", event.actor_user_id
        else:
            kind, actor_id = "system", None
        return {"type": kind, "id": actor_id, "label": event.actor_label}
