import re
from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import DATETIME, MAX_ID, UserSummarySerializer, user_summary
from corevalues.models import CoreValue
from peerly.api.serializers import QueryParams, StrictJSONTypes
from recognitions.models import Hi5, Recognition
from recognitions.selectors import feed_row

ID_LIST_RE = re.compile(r"^[0-9]{1,18}(,[0-9]{1,18})*$")
MAX_IDS_PER_FILTER = 100


# The rule to_internal_value applies, for the OpenAPI schema: 1 to 100 ids of 1-18 digits, spaces ignored
# (an empty value is no filter at all).
ID_LIST_PATTERN = r"^( *([0-9] *){1,18}(, *([0-9] *){1,18}){0,99})?$"


@extend_schema_field({"type": "string", "pattern": ID_LIST_PATTERN})
class IdListField(serializers.CharField):
    """One id or a comma-separated list of ids (`7` or `7,9,12`), parsed to a list of ints."""

    default_error_messages = {
        "invalid_ids": "Enter an id or a comma-separated list of ids.",
        "too_many": f"At most {MAX_IDS_PER_FILTER} ids.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 19 * MAX_IDS_PER_FILTER)
        kwargs.setdefault("trim_whitespace", False)  # only spaces are ignored, as the pattern says
        kwargs.setdefault("allow_blank", True)  # an empty value is no filter
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> list[int]:
        value = super().to_internal_value(data).replace(" ", "")
        if value == "" and data == "":
            return []
        if not ID_LIST_RE.match(value):
            self.fail("invalid_ids")
        ids = sorted({int(item) for item in value.split(",")})
        if len(ids) > MAX_IDS_PER_FILTER:
            self.fail("too_many")
        if ids[-1] > MAX_ID:
            self.fail("invalid_ids")
        return ids

    def to_representation(self, value):
        return ",".join(str(item) for item in value)


class RecognitionFeedParamsSerializer(QueryParams):
    given_by = IdListField(help_text="Giver id, or a comma-separated list of them.")
    given_for = IdListField(help_text="Receiver id, or a comma-separated list of them.")
    core_value_id = IdListField(help_text="Core value id, or a comma-separated list of them.")


class CoreValueSummarySerializer(serializers.ModelSerializer):
    thumbnail = serializers.CharField(source="thumbnail_url", read_only=True)

    class Meta:
        model = CoreValue
        fields = ["id", "text", "description", "thumbnail"]
        read_only_fields = fields


def _person(row: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """UserSummarySerializer's fields of a feed row's person (`given_by_id`, `given_by__first_name`, ...)."""
    return {
        name: row[f"{prefix}_id" if name == "id" else f"{prefix}__{name}"] for name in UserSummarySerializer.Meta.fields
    }


class RecognitionSerializer(serializers.ModelSerializer):
    """A feed item: everything a client needs to render the recognition, in one object.

    The declared fields are the contract (and the OpenAPI schema); `to_representation` renders them by hand,
    from a feed row (`selectors.FEED_ROW_FIELDS`) or a model instance (through `selectors.feed_row`). A feed
    page renders up to 100 items, and DRF's generic path (building a ModelSerializer's fields per request,
    then a Field call per value, nested twice) cost about as much as the page's SQL. A test keeps both paths
    equal.
    """

    given_by = serializers.IntegerField(source="given_by_id", read_only=True)
    given_for = serializers.IntegerField(source="given_for_id", read_only=True)
    core_value_id = serializers.IntegerField(read_only=True)
    core_value = CoreValueSummarySerializer(read_only=True)
    giver = UserSummarySerializer(source="given_by", read_only=True)
    receiver = UserSummarySerializer(source="given_for", read_only=True)
    hi5_count = serializers.IntegerField(read_only=True)
    is_hidden = serializers.BooleanField(
        read_only=True, help_text="Hidden by a moderator; only moderators and admins ever see such a recognition."
    )

    class Meta:
        model = Recognition
        fields = [
            "id",
            "text",
            "given_at",
            "given_by",
            "given_for",
            "core_value_id",
            "core_value",
            "giver",
            "receiver",
            "hi5_count",
            "is_hidden",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Recognition | Mapping[str, Any]) -> dict[str, Any]:
        row = instance if isinstance(instance, Mapping) else feed_row(instance)
        return {
            "id": row["id"],
            "text": row["text"],
            "given_at": DATETIME.to_representation(row["given_at"]),
            "given_by": row["given_by_id"],
            "given_for": row["given_for_id"],
            "core_value_id": row["core_value_id"],
            "core_value": {
                "id": row["core_value_id"],
                "text": row["core_value__text"],
                "description": row["core_value__description"],
                "thumbnail": row["core_value__thumbnail_url"],
            },
            "giver": _person(row, "given_by"),
            "receiver": _person(row, "given_for"),
            "hi5_count": row["hi5_count"],
            "is_hidden": row["is_hidden"],
        }


class RecognitionCreateSerializer(StrictJSONTypes, serializers.Serializer):
    given_for = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    core_value_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    text = serializers.CharField(min_length=1, max_length=1000)


class Hi5Serializer(serializers.ModelSerializer):
    """A Hi5 and who gave it. The declared fields are the contract; `to_representation` renders them by hand
    (DRF's generic path built the fields of this serializer and the nested one on every Hi5 given); a test
    keeps both paths equal."""

    recognition_id = serializers.IntegerField(read_only=True)
    given_by = UserSummarySerializer(read_only=True)

    class Meta:
        model = Hi5
        fields = ["id", "recognition_id", "given_by", "comment", "given_at"]
        read_only_fields = fields

    def to_representation(self, instance: Hi5) -> dict[str, Any]:
        giver = instance.given_by
        return {
            "id": instance.pk,
            "recognition_id": instance.recognition_id,
            "given_by": user_summary(giver),
            "comment": instance.comment,
            "given_at": DATETIME.to_representation(instance.given_at),
        }


class Hi5CreateSerializer(StrictJSONTypes, serializers.Serializer):
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
