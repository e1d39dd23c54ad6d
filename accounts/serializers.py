from rest_framework import serializers

from accounts.models import Role, User

MAX_ID = 2**63 - 1


class UserSerializer(serializers.ModelSerializer):
    org_id = serializers.IntegerField(source="organization_id", allow_null=True, read_only=True)
    role_id = serializers.ChoiceField(choices=Role.choices, read_only=True)
    soft_delete_by = serializers.IntegerField(source="soft_delete_by_id", allow_null=True, read_only=True)

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

    class Meta:
        model = User
        fields = ["id", "first_name", "last_name", "display_name", "profile_image_url"]
        read_only_fields = fields


class HttpUrlField(serializers.URLField):
    default_error_messages = {"invalid": "Enter a valid http(s) URL."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and not value.lower().startswith(("http://", "https://")):
            self.fail("invalid")
        return value


class ProfileUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100, allow_blank=True)
    display_name = serializers.CharField(max_length=100)
    profile_image_url = HttpUrlField(max_length=500, required=False, allow_blank=True)


class RoleUpdateSerializer(serializers.Serializer):
    role_id = serializers.ChoiceField(choices=Role.choices)


class UserListParamsSerializer(serializers.Serializer):
    starts_with = serializers.CharField(max_length=100, required=False, allow_blank=True, trim_whitespace=True)
    org_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class GoogleSignInSerializer(serializers.Serializer):
    access_token = serializers.CharField(max_length=4096, required=False)
    id_token = serializers.CharField(max_length=8192, required=False)

    def validate(self, attrs):
        if not attrs.get("access_token") and not attrs.get("id_token"):
            raise serializers.ValidationError({"access_token": "This field is required."})
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()
