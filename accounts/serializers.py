from rest_framework import serializers

from accounts.google import ACCESS_TOKEN_PATTERN
from accounts.models import Role, User
from peerly.api.serializers import HttpUrlField, StrictJSONTypes

MAX_ID = 2**63 - 1


class UserSerializer(serializers.ModelSerializer):
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


class UserSummarySerializer(serializers.ModelSerializer):
    """Enough about a person to render them next to a recognition."""

    profile_image_url = HttpUrlField(read_only=True, allow_blank=True)

    class Meta:
        model = User
        fields = ["id", "first_name", "last_name", "display_name", "profile_image_url"]
        read_only_fields = fields


class ProfileUpdateSerializer(StrictJSONTypes, serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100, allow_blank=True)
    display_name = serializers.CharField(max_length=100)
    profile_image_url = HttpUrlField(max_length=500, required=False, allow_blank=True)


class RoleUpdateSerializer(StrictJSONTypes, serializers.Serializer):
    role_id = serializers.ChoiceField(choices=Role.choices)


class UserListParamsSerializer(serializers.Serializer):
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
