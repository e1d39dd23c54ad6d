from rest_framework import serializers

from accounts.serializers import MAX_ID, HttpUrlField
from corevalues.models import CoreValue


class CoreValueSerializer(serializers.ModelSerializer):
    parent_core_value_id = serializers.IntegerField(source="parent_id", allow_null=True, read_only=True)
    org_id = serializers.IntegerField(source="organization_id", read_only=True)

    class Meta:
        model = CoreValue
        fields = ["id", "text", "description", "parent_core_value_id", "thumbnail_url", "org_id"]
        read_only_fields = fields


class CoreValueWriteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=2000)
    parent_core_value_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    thumbnail_url = HttpUrlField(max_length=500, required=False, allow_blank=True, allow_null=True)


class CoreValueCreateSerializer(CoreValueWriteSerializer):
    org_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Super admins only: the organisation to write to."
    )


class CoreValueListParamsSerializer(serializers.Serializer):
    org_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Super admins only: another organisation."
    )
