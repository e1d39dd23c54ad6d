from rest_framework import serializers
from rest_framework.settings import api_settings

from accounts.models import Role
from accounts.serializers import MAX_ID
from integrations.models import ApiKey, ApiKeyScope
from integrations.sync import EmployeeRow
from peerly.api.serializers import StrictJSONTypes

MAX_SYNC_BATCH = 1000


class ApiKeySerializer(serializers.ModelSerializer):
    org_id = serializers.IntegerField(source="organization_id", read_only=True)
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True, read_only=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices), read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "scopes",
            "prefix",
            "org_id",
            "created_by",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret: shown this once, never again.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyCreateSerializer(StrictJSONTypes, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKeyScope.choices), min_length=1, max_length=len(ApiKeyScope)
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    org_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Super admins only: the organisation of the key."
    )


class EmployeeRowListSerializer(serializers.ListSerializer):
    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            # "no more than 1000 elements" belongs to `users` itself, not to `users.non_field_errors`.
            if isinstance(error.detail, dict) and list(error.detail) == [api_settings.NON_FIELD_ERRORS_KEY]:
                raise serializers.ValidationError(error.detail[api_settings.NON_FIELD_ERRORS_KEY]) from None
            raise


class EmployeeRowSerializer(serializers.Serializer):
    # No StrictJSONTypes here: the CSV command feeds the same rows as strings ("4", "true").
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    display_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text='Defaults to "first last".'
    )
    role_id = serializers.ChoiceField(
        choices=Role.choices,  # 1 (super admin), and 2 (org admin) from a key, are refused row by row by the service
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional; new users are employees (3). Never 1 (super admin); never 2 (org admin) from an API key.",
    )
    active = serializers.BooleanField(required=False, default=True, help_text="false soft-deletes the user.")

    class Meta:
        list_serializer_class = EmployeeRowListSerializer

    def to_internal_value(self, data) -> EmployeeRow:
        return EmployeeRow(**super().to_internal_value(data))


class UserSyncSerializer(StrictJSONTypes, serializers.Serializer):
    users = EmployeeRowSerializer(many=True, allow_empty=False, max_length=MAX_SYNC_BATCH)
    deactivate_missing = serializers.BooleanField(
        required=False, default=False, help_text="Also soft-delete active members not in this batch."
    )
    dry_run = serializers.BooleanField(required=False, default=False, help_text="Compute the counts, write nothing.")


class UserSyncResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    deactivated = serializers.IntegerField()
    reactivated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    dry_run = serializers.BooleanField()
